Kickstart repositories take part in pulpcore's import/export (Inter-Server Sync): a Pulp export
carries their trees (every field, files at `<version>/<arch>/<path>`), tags and signature records,
mapped by each tree's `identity`; incremental (`start_versions`) and chunked (`chunk_size`) exports
work, and this plugin's CLI adds `pulp import pulp run`. An import checks each batch before it is
written: the grammars a sync applies, the identity recomputed from the files, and every file of a
new tree stored with its size and sha256 (the stored bytes are hashed; altered bytes fail the
import and are not kept). Stored trees, tags and records never change on import, and a tree's
ContentArtifacts must be its own files. Imported signature records are the exporter's
verifications (`checked_here` false); `last_sync_details` stays behind. A later sync never takes
an imported (or replicated) tree for the manifest or RPMs it names: it reads them again. The dev
stack and CI allow exports and imports below `.run/exports`. See docs/disconnected.md.
