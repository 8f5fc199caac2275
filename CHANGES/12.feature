OCI remotes verify publisher signatures: `signature_keys` (PEM keys such as cosign's `cosign.pub`,
and/or ASCII-armoured OpenPGP keys), `signature_policy` (`none`, the default; `if_present`: every
signature found must verify; `required`: every tree synced or kept needs a valid signature by one
of the keys), `signature_lookaside` (a containers-style lookaside store) and
`signature_identity_check`. Cosign signatures (`sha256-<hex>.sig` tags), key-based sigstore
bundles (OCI 1.1 referrers, or the referrers tag schema) and OpenPGP simple signatures are
verified offline against the admin's keys only; no transparency log is consulted. A signature on
an index covers the manifests it lists. A sync that fails verification creates no repository
version. What was verified is shown in each tree's `signatures` (API, `pulp kickstart tree show`,
`trees.json`). pulp-cli: `pulp kickstart remote create/update --signature-key @file` (repeatable),
`--signature-policy`, `--signature-lookaside`, `--signature-identity-check/--no-signature-identity-check`.
See docs/signatures.md.
