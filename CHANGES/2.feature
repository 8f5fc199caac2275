Added the plugin foundation: `KickstartTree` content, the kickstart OCI remote, repository
(sync additive or mirror) and distribution. Sync lists tags, resolves image indexes to
per-architecture manifests, verifies every manifest and blob digest, maps layer titles to
Anaconda tree paths, refuses unsafe titles and container images, flags placeholder files,
and supports anonymous and credentialed bearer-token auth, basic auth, and on-demand or
streamed downloads through the content app.
