Added `pulp-cli-kickstart` (in `cli/`): `pulp kickstart remote --type oci|dnf`, `repository`
(with `sync`, `version`, `content`), `tree` and `distribution` commands, including
`pulp kickstart distribution urls` to print each tree's URL and boot config URLs.
`make run` installs it and writes a pulp-cli profile for the local stack.
