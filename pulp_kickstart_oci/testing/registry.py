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

    ``tls`` is a tls.ThrowawayCA: the registry then serves https with a
    certificate that CA signs (``url`` is https, ``ca_path`` the CA file to
    trust). ``client_ca`` (a ThrowawayCA, needs ``tls``) makes the registry
    refuse clients without a certificate that CA signed (``http.tls.clientcas``);
    ``client_files`` is then a (certificate, key) pair it accepts, for the
    readiness check and for pushes (``requests_options()``).
    """

    def __init__(self, root=None, port=None, htpasswd=None, token=None, tls=None, client_ca=None):
        if client_ca is not None and tls is None:
            raise ValueError("client certificates need tls")
        self.root = Path(root or tempfile.mkdtemp(prefix="kickstart-registry-"))
        self.port = port or free_port()
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self.htpasswd = htpasswd
        self.token = token
        self.tls = tls
        self.client_ca = client_ca
        self.ca_path = tls.path if tls else None
        self.server_files = None
        self.client_files = None
        self.process = None

    def requests_options(self):
        """``verify``/``cert`` for requests (a Pusher's session) to talk to this registry."""
        options = {}
        if self.ca_path:
            options["verify"] = self.ca_path
        if self.client_files:
            options["cert"] = self.client_files
        return options

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
        if self.tls:
            certificate, key = self.server_files
            lines += ["  tls:", f"    certificate: {certificate}", f"    key: {key}"]
            if self.client_ca:
                lines += ["    clientcas:", f"      - {self.client_ca.path}"]
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
        if self.tls and self.server_files is None:
            self.server_files = self.tls.server_files()
        if self.client_ca and self.client_files is None:
            self.client_files = self.client_ca.client_files("registry readiness check")
        config = self.root / "config.yml"
        config.write_text(self._config())
        log = open(self.root / "registry.log", "ab")
        self.process = subprocess.Popen(
            [REGISTRY_BIN, "serve", str(config)], stdout=log, stderr=log, start_new_session=True
        )
        deadline = time.monotonic() + 30
        problem = None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"registry exited: {(self.root / 'registry.log').read_text()}")
            try:
                requests.get(f"{self.url}/v2/", timeout=1, **self.requests_options())
                return self
            except requests.ConnectionError as exc:  # an SSLError too: say which
                problem = exc
                time.sleep(0.1)
        raise RuntimeError(f"registry did not start: {problem}")

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
