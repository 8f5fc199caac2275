"""A real Debian docker-registry (distribution 2.8) for tests and the offline sample."""

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import requests

REGISTRY_BIN = shutil.which("docker-registry") or "/usr/bin/docker-registry"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LocalRegistry:
    """One registry process with its own storage, optionally behind basic or token auth.

    ``htpasswd`` is a (user, password) pair; ``token`` a dict with realm, service,
    issuer and rootcertbundle (see token_issuer.TokenIssuer.registry_config()).
    """

    def __init__(self, root=None, port=None, htpasswd=None, token=None):
        self.root = Path(root or tempfile.mkdtemp(prefix="kickstart-registry-"))
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.htpasswd = htpasswd
        self.token = token
        self.process = None

    def _config(self):
        lines = [
            "version: 0.1",
            "log:",
            "  level: error",
            "  accesslog:",
            "    disabled: true",
            "storage:",
            "  filesystem:",
            f"    rootdirectory: {self.root / 'storage'}",
            "  delete:",
            "    enabled: true",
            "  cache:",
            "    blobdescriptor: ''",
            "http:",
            f"  addr: 127.0.0.1:{self.port}",
            "  secret: kickstart-tests",
        ]
        if self.htpasswd:
            import bcrypt

            user, password = self.htpasswd
            hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()
            (self.root / "htpasswd").write_text(f"{user}:{hashed}\n")
            lines += [
                "auth:",
                "  htpasswd:",
                "    realm: kickstart-tests",
                f"    path: {self.root / 'htpasswd'}",
            ]
        if self.token:
            lines += ["auth:", "  token:"] + [f"    {k}: {v}" for k, v in self.token.items()]
        return "\n".join(lines) + "\n"

    def start(self):
        self.root.mkdir(parents=True, exist_ok=True)
        config = self.root / "config.yml"
        config.write_text(self._config())
        log = open(self.root / "registry.log", "ab")
        self.process = subprocess.Popen(
            [REGISTRY_BIN, "serve", str(config)], stdout=log, stderr=log, start_new_session=True
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"registry exited: {(self.root / 'registry.log').read_text()}")
            try:
                requests.get(f"{self.url}/v2/", timeout=1)
                return self
            except requests.ConnectionError:
                time.sleep(0.1)
        raise RuntimeError("registry did not start")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)

    def blob_file(self, digest):
        """Where the filesystem driver keeps a blob: tests corrupt upstream data through it."""
        algorithm, hexdigest = digest.split(":")
        return (
            self.root
            / "storage"
            / "docker"
            / "registry"
            / "v2"
            / "blobs"
            / algorithm
            / hexdigest[:2]
            / hexdigest
            / "data"
        )

    def delete_tag(self, name, tag):
        tag_dir = (
            self.root
            / "storage"
            / "docker"
            / "registry"
            / "v2"
            / "repositories"
            / name
            / "_manifests"
            / "tags"
            / tag
        )
        shutil.rmtree(tag_dir)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
