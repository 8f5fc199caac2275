Signature verifications are content: every verification a sync makes (a cosign signature, a
sigstore bundle, an OpenPGP simple signing, or a dnf tree's RPMs checked against the remote's
keyring, kind `rpm`) is a `kickstart.signature` unit of the repository version the sync creates,
linked to the tree it covers, listed at `/pulp/api/v3/content/kickstart/signatures/` (filters
`repository_version`, `tree`, `kind`, `key`, `signed_digest`) and by `pulp kickstart signature
list`. A sync no longer writes anything onto stored trees: a new verification makes a new
repository version, so a published version never changes after the fact, and a sync that fails at
any stage leaves the database as it was. Migration 0010 places the verifications earlier releases
kept on trees in the versions that held them.
