Repository sync takes `optimize` (default true, as in pulp_file; `pulp kickstart repository sync
--optimize/--no-optimize`): a sync whose remote, options and upstream offer are those of the
last successful sync is skipped with a `sync.was_skipped` report. Any change to the remote
(URL, filters, keys, policy, credentials) makes the next sync a full one.
