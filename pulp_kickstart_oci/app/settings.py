"""Settings of the kickstart plugin, with their defaults (override them in Pulp's settings).

Every upstream read is capped while it streams; a read that goes past its cap
fails the sync with an error naming the file and the setting. See
docs/security.md for the threat model behind each one.
"""

_MiB = 1024 * 1024

# Registry reads.
KICKSTART_MAX_MANIFEST_BYTES = 4 * _MiB  # one manifest or image index
KICKSTART_MAX_TAG_PAGE_BYTES = 4 * _MiB  # one page of a tag list
KICKSTART_MAX_TOKEN_BYTES = 64 * 1024  # one bearer-token response
# Redirect hops one request may follow; each hop is checked by the fetch policy.
KICKSTART_MAX_REDIRECTS = 5
# One publisher-signature file: a cosign simplesigning payload, a sigstore bundle
# from a referrer, or a lookaside signature-N (small JSON or OpenPGP blobs).
KICKSTART_MAX_SIGNATURE_BYTES = 1 * _MiB
# What a sync keeps to push back byte for byte (docs/push.md): a manifest or index as
# sent, or a signature manifest with its blobs. Larger ones are used, not kept (Fedora's
# are a few KiB): the database and trees.json never hold more per unit.
KICKSTART_MAX_KEPT_MANIFEST_BYTES = 256 * 1024

# dnf tree reads.
KICKSTART_MAX_TREEINFO_BYTES = 1 * _MiB  # .treeinfo / treeinfo
KICKSTART_MAX_REPOMD_BYTES = 4 * _MiB  # repodata/repomd.xml
KICKSTART_MAX_PRIMARY_BYTES = 512 * _MiB  # the primary metadata as downloaded (compressed)
KICKSTART_MAX_PACKAGE_BYTES = 1024 * _MiB  # one RPM that boot files are taken from
KICKSTART_MAX_IMAGE_BYTES = 8192 * _MiB  # an image without a sha256, downloaded during sync

# Another Pulp's kickstart distribution (a replica's upstream, sources/pulp.py): its
# trees.json, read whole and parsed in memory. About 3 KiB per tree of six files: the
# default admits ~10,000 trees (KICKSTART_SYNC_MAX_TREES).
KICKSTART_MAX_TREES_JSON_BYTES = 32 * _MiB
# A CoreOS stream document, its release index or its update policy (sources/coreos.py).
KICKSTART_MAX_STREAM_METADATA_BYTES = 16 * _MiB

# One file of a tree a client uploads (POST content/kickstart/trees/, tasks/uploading.py):
# an upload or artifact larger than this is refused, naming the file.
KICKSTART_MAX_UPLOAD_FILE_BYTES = 8192 * _MiB

# Unpacking RPM payloads: caps on what decompression produces.
KICKSTART_MAX_UNPACKED_FILE_BYTES = 256 * _MiB  # one extracted boot file
KICKSTART_MAX_UNPACKED_TOTAL_BYTES = 1024 * _MiB  # everything decompressed from one payload
KICKSTART_MAX_PAYLOAD_MEMBERS = 20000  # entries in one payload archive

# Where generated documents may send machines besides CONTENT_ORIGIN: the host[:port]
# (e.g. "10.0.2.2:24816" for QEMU's user network, or a lab NAT address) a distribution's
# boot_origin may name. A tenant can never choose an origin that is not listed here.
KICKSTART_BOOT_HOSTS = []

# Per-sync budgets (app/budget.py): what one sync may fetch from upstream metadata
# and hold, summed over every read; the first spend past one fails the sync,
# naming the setting. The defaults admit 250 releases x 4 arches with tags and
# signatures, and a dnf tree of a million packages, many times over.
KICKSTART_SYNC_MAX_REQUESTS = 100_000  # every request a sync makes (hops, tokens, HEADs included)
KICKSTART_SYNC_MAX_METADATA_BYTES = 2048 * _MiB  # sum of all capped metadata reads
KICKSTART_SYNC_MAX_TAGS = 100_000  # tags listed upstream (every page)
KICKSTART_SYNC_MAX_TREES = 10_000  # trees (manifests) a sync resolves
KICKSTART_SYNC_MAX_SIGNATURES = 20_000  # publisher signatures fetched
KICKSTART_SYNC_MAX_REPODATA_ENTRIES = 2_000_000  # packages read from primary metadata
KICKSTART_SYNC_MAX_SECONDS = 6 * 3600  # wall time of one sync, checked at every request and chunk
# One metadata read (a tag page, a manifest, .treeinfo, repodata, a token...), retries
# included: a trickling upstream cannot hold a worker for longer.
KICKSTART_MAX_METADATA_SECONDS = 300

# Decompressed repodata (dnf/repodata.py, through app/decompress.py): what the
# primary metadata may inflate to, whatever its compression (gz, xz, bz2, zst or
# none). Fedora Everything's primary (about 75,000 packages) is about 250 MiB
# inflated; 100,000 packages are about 280 MiB. The parser's memory does not grow
# with this: it holds one package's few fields at a time.
KICKSTART_MAX_PRIMARY_INFLATED_BYTES = 1024 * _MiB

# One content-app request of a kickstart distribution (app/content.py, docs/serving.md
# "HTTP behaviour"): a longer path, or one with more segments, gets HTTP 414 before any
# cache or lookup. Every path a distribution serves (base path, release, arch, a tree
# path of at most 16 segments) fits with room to spare.
KICKSTART_CONTENT_MAX_PATH_LENGTH = 2048  # characters after CONTENT_PATH_PREFIX
KICKSTART_CONTENT_MAX_PATH_SEGMENTS = 32

# The plugin's access conditions (app/global_access_conditions.py), looked up by name from
# the viewsets' access policies; merged into pulpcore's list, as pulp_container does.
DRF_ACCESS_POLICY = {
    "dynaconf_merge_unique": True,
    "reusable_conditions": ["pulp_kickstart_oci.app.global_access_conditions"],
}
