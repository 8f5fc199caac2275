A documentation site: `make docs` builds the pages of `docs/` with mkdocs-material into
`.run/site/`, grouped as Pulp's plugin docs are (user guides, admin guides, reference,
development, changes), with a REST reference generated from `api/kickstart-api.json` (every
kickstart operation by tag: description, parameters, request and response schemas) and a
changelog page of the released notes and the unreleased fragments. The build fails on a broken
link or anchor, a page missing from the navigation and an operation without a description, and
`make test` opens the site in headless Chromium (home page, search, a REST page). See
docs/development.md.
