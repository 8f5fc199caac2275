"""Push netboot artifacts to a registry over the plain distribution API.

Written by hand rather than with a client tool so tests control every byte of
the manifests: artifactType, media types, annotations, two titles on one blob.
"""

import hashlib
import http.server
import json
import threading

import requests

EMPTY_CONFIG = {
    "mediaType": "application/vnd.oci.empty.v1+json",
    "digest": "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
    "size": 2,
    "data": "e30=",
}
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
NETBOOT = "application/vnd.org.pulpproject.netboot.artifact.v1"
NETBOOT_FILE = "application/x-netboot-file"
# What cosign and OCI 1.1 referrers put in a registry (Pusher.cosign_signatures, .referrer).
COSIGN_SIMPLESIGNING = "application/vnd.dev.cosign.simplesigning.v1+json"
COSIGN_SIGNATURE = "dev.cosignproject.cosign/signature"
SIGSTORE_BUNDLE = "application/vnd.dev.sigstore.bundle.v0.3+json"


def digest_of(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


class Pusher:
    def __init__(self, registry_url, name, auth=None):
        self.base = registry_url.rstrip("/")
        self.name = name
        # Fields a remote of this repository needs besides url and upstream_name.
        self.remote_fields = {}
        self.session = requests.Session()
        if auth:
            self.session.auth = auth

    def use_token(self, realm, service, credentials=None, verify=True):
        """Authenticate pushes to a bearer-token registry with a push+pull token.

        A remote of this repository trusts the token service's origin (``token_origins``),
        as its admin would.
        """
        scheme, rest = realm.split("://", 1)
        self.remote_fields["token_origins"] = [f"{scheme}://{rest.split('/', 1)[0]}"]
        response = requests.get(
            realm,
            params={"service": service, "scope": f"repository:{self.name}:pull,push"},
            auth=credentials,
            verify=verify,
        )
        response.raise_for_status()
        self.session.auth = None
        self.session.headers["Authorization"] = "Bearer " + response.json()["token"]
        return self

    def blob(self, data):
        digest = digest_of(data)
        head = self.session.head(f"{self.base}/v2/{self.name}/blobs/{digest}")
        if head.status_code == 200:
            return digest
        start = self.session.post(f"{self.base}/v2/{self.name}/blobs/uploads/")
        start.raise_for_status()
        location = start.headers["Location"]
        if location.startswith("/"):
            location = self.base + location
        separator = "&" if "?" in location else "?"
        put = self.session.put(
            f"{location}{separator}digest={digest}",
            data=data,
            headers={"Content-Type": "application/octet-stream"},
        )
        put.raise_for_status()
        return digest

    def manifest(self, reference, document, media_type=None):
        raw = document if isinstance(document, bytes) else json.dumps(document).encode()
        media_type = media_type or json.loads(raw).get("mediaType", OCI_MANIFEST)
        response = self.session.put(
            f"{self.base}/v2/{self.name}/manifests/{reference}",
            data=raw,
            headers={"Content-Type": media_type},
        )
        response.raise_for_status()
        return digest_of(raw), len(raw)

    def netboot(self, tag, files, annotations=None, artifact_type=NETBOOT, layer_type=NETBOOT_FILE):
        """Push a manifest whose layers are ``files`` [(title, bytes)]; returns (digest, size)."""
        self.blob(b"{}")
        layers = []
        for title, data in files:
            layer = {"mediaType": layer_type, "digest": self.blob(data), "size": len(data)}
            if title is not None:
                layer["annotations"] = {"org.opencontainers.image.title": title}
            layers.append(layer)
        document = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": EMPTY_CONFIG,
            "layers": layers,
            "annotations": {"org.pulpproject.netboot.version": "1"}
            if annotations is None
            else annotations,
        }
        if artifact_type:
            document["artifactType"] = artifact_type
        return self.manifest(tag, document)

    def index(self, tag, entries, os_version="fedora-42"):
        """Push an index over ``entries`` [(oci_arch, digest, size)]."""
        document = {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [
                {
                    "mediaType": OCI_MANIFEST,
                    "digest": digest,
                    "size": size,
                    "artifactType": NETBOOT,
                    "platform": {"architecture": arch, "os": "linux", "os.version": os_version},
                    "annotations": {"org.pulpproject.netboot.version": "1"},
                }
                for arch, digest, size in entries
            ],
            "annotations": {
                "org.pulpproject.netboot.version": "1",
                "org.opencontainers.image.source": "https://example.invalid/kickstart-artifacts",
            },
        }
        return self.manifest(tag, document)

    def cosign_signatures(self, subject_digest, signatures):
        """Push the ``sha256-<hex>.sig`` manifest cosign writes for ``subject_digest``.

        ``signatures`` is [(payload bytes, base64 signature, extra annotations or None)];
        a signature of None leaves the signature annotation out. Returns (digest, size).
        """
        layers = []
        for payload, signature, extra in signatures:
            annotations = {} if signature is None else {COSIGN_SIGNATURE: signature}
            annotations.update(extra or {})
            layers.append(
                {
                    "mediaType": COSIGN_SIMPLESIGNING,
                    "digest": self.blob(payload),
                    "size": len(payload),
                    "annotations": annotations,
                }
            )
        config = json.dumps({"architecture": "", "os": "", "rootfs": {"type": "layers"}}).encode()
        document = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": self.blob(config),
                "size": len(config),
            },
            "layers": layers,
        }
        return self.manifest(f"sha256-{subject_digest.split(':', 1)[1]}.sig", document)

    def referrer(
        self, subject_digest, subject_size, blobs, artifact_type=SIGSTORE_BUNDLE, tag_index=True
    ):
        """Push an OCI 1.1 referrer of ``subject_digest`` whose layers are ``blobs``.

        ``blobs`` is [(media type, bytes)]. The manifest is pushed by digest; with
        ``tag_index`` its descriptor is added to the referrers tag schema's index
        (tag ``sha256-<hex>``, created if missing), as clients do for a registry
        without the referrers API. Returns the referrer's descriptor.
        """
        self.blob(b"{}")
        document = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "artifactType": artifact_type,
            "config": EMPTY_CONFIG,
            "layers": [
                {"mediaType": media_type, "digest": self.blob(data), "size": len(data)}
                for media_type, data in blobs
            ],
            "subject": {"mediaType": OCI_MANIFEST, "digest": subject_digest, "size": subject_size},
        }
        raw = json.dumps(document).encode()
        digest, size = self.manifest(digest_of(raw), raw, OCI_MANIFEST)
        descriptor = {
            "mediaType": OCI_MANIFEST,
            "digest": digest,
            "size": size,
            "artifactType": artifact_type,
        }
        if tag_index:
            self.referrers_tag_index(subject_digest, [descriptor], append=True)
        return descriptor

    def referrers_tag_index(self, subject_digest, descriptors, append=False):
        """Push the referrers tag schema's index (tag ``sha256-<hex>``) listing ``descriptors``.

        With ``append``, the descriptors are added to the index the tag already holds.
        Returns (digest, size).
        """
        tag = f"sha256-{subject_digest.split(':', 1)[1]}"
        manifests = []
        if append:
            current = self.session.get(
                f"{self.base}/v2/{self.name}/manifests/{tag}", headers={"Accept": OCI_INDEX}
            )
            if current.status_code == 200:
                manifests = current.json().get("manifests", [])
            elif current.status_code != 404:
                current.raise_for_status()
        document = {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": manifests + descriptors,
        }
        return self.manifest(tag, document)


def cosign_payload(docker_reference, manifest_digest, optional=None):
    """A cosign simplesigning payload (the bytes a cosign signature is made over)."""
    document = {
        "critical": {
            "identity": {"docker-reference": docker_reference},
            "image": {"docker-manifest-digest": manifest_digest},
            "type": "cosign container image signature",
        },
        "optional": optional,
    }
    return json.dumps(document).encode()


class LookasideStore:
    """A containers-style lookaside signature store over HTTP on 127.0.0.1 (free port).

    ``add(repository, digest, [bytes, ...])`` serves them as
    ``/<repository>@sha256=<hex>/signature-1``, ``-2``, ...; anything else is 404.
    ``requests`` records (path, headers) of every request, so a test can tell
    which credentials reached the store. A context manager; ``url`` is its root.
    """

    def __init__(self):
        self.files = {}
        self.requests = []
        self.url = None
        self._server = None

    def add(self, repository, digest, signatures):
        """Serve ``signatures`` for ``digest`` in ``repository``."""
        for number, data in enumerate(signatures, start=1):
            path = f"/{repository}@sha256={digest.split(':', 1)[1]}/signature-{number}"
            self.files[path] = data

    def __enter__(self):
        store = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                store.requests.append((self.path, dict(self.headers)))
                data = store.files.get(self.path)
                self.send_response(404 if data is None else 200)
                self.send_header("Content-Length", str(len(data or b"")))
                self.end_headers()
                self.wfile.write(data or b"")

            def log_message(self, format, *args):
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc_info):
        self._server.shutdown()
        self._server.server_close()
