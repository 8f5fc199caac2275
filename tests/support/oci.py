"""Push netboot artifacts to a registry over the plain distribution API.

Written by hand rather than with a client tool so tests control every byte of
the manifests: artifactType, media types, annotations, two titles on one blob.
"""

import hashlib
import json

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


def digest_of(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


class Pusher:
    def __init__(self, registry_url, name, auth=None):
        self.base = registry_url.rstrip("/")
        self.name = name
        self.session = requests.Session()
        if auth:
            self.session.auth = auth

    def use_token(self, realm, service, credentials=None, verify=True):
        """Authenticate pushes to a bearer-token registry with a push+pull token."""
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
