"""The main job of `make run`: sync a bundled, offline Fedora-shaped sample.

Generates small files with the magic bytes of real netboot files, pushes them
as kickstart OCI artifacts (index tag `42`, per-arch tags `42-amd64`,
`42-arm64`, and `41-amd64`) into a local Debian docker-registry, signs each
per-arch manifest as its publisher would (a cosign `sha256-<hex>.sig` tag, made
with an ECDSA P-256 key generated once in `.run/sample/`), then creates a remote
that requires a signature by that key, a repository and a distribution in Pulp,
syncs, and prints what it made and which key vouched for each tree.
Idempotent: a second run reuses everything (the key too; signatures are
deterministic, RFC 6979) and the sync creates no new version.
"""

import argparse
import base64
import hashlib
import os
import signal
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402

from pulp_kickstart_oci.testing import fedora  # noqa: E402
from pulp_kickstart_oci.testing.oci import Pusher, cosign_payload  # noqa: E402
from pulp_kickstart_oci.testing.registry import LocalRegistry  # noqa: E402
from tests.support.pulp import CONTENT, PulpAPI  # noqa: E402

REGISTRY_PORT = 24818
REGISTRY_URL = f"http://127.0.0.1:{REGISTRY_PORT}"
UPSTREAM = "fedora/kickstart-artifacts"
NAME = "sample-fedora"
BASE_PATH = "sample/fedora"
PIDFILE = ROOT / ".run" / "pid" / "registry.pid"
KEY_DIR = ROOT / ".run" / "sample"
# What the signatures' docker-reference names: the remote's registry and repository.
REFERENCE = f"127.0.0.1:{REGISTRY_PORT}/{UPSTREAM}"


def registry_up():
    try:
        return requests.get(f"{REGISTRY_URL}/v2/", timeout=2).status_code == 200
    except requests.ConnectionError:
        return False


def start_registry():
    if registry_up():
        return
    registry = LocalRegistry(root=ROOT / ".run" / "registry", port=REGISTRY_PORT).start()
    PIDFILE.parent.mkdir(parents=True, exist_ok=True)
    PIDFILE.write_text(str(registry.process.pid))
    print(f"sample registry: {REGISTRY_URL} (storage .run/registry)")


def stop_registry():
    if PIDFILE.exists():
        try:
            os.kill(int(PIDFILE.read_text()), signal.SIGTERM)
        except ProcessLookupError:
            pass
        PIDFILE.unlink()


def signing_key():
    """The sample publisher's ECDSA P-256 key: generated once, then reused from .run/sample/."""
    private = KEY_DIR / "cosign.key"
    if private.exists():
        key = serialization.load_pem_private_key(private.read_bytes(), password=None)
    else:
        KEY_DIR.mkdir(parents=True, exist_ok=True)
        key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        fd = os.open(private.with_suffix(".tmp"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(pem)
        os.replace(private.with_suffix(".tmp"), private)
    public = key.public_key()
    pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    (KEY_DIR / "cosign.pub").write_text(pem)
    der = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return key, pem, "sha256:" + hashlib.sha256(der).hexdigest()


def sign(pusher, key, digest):
    """Push the cosign signature tag of manifest ``digest``, as `cosign sign --key` would."""
    payload = cosign_payload(REFERENCE, digest)
    # Deterministic ECDSA: the same payload gives the same .sig manifest on every run.
    signature = key.sign(payload, ec.ECDSA(hashes.SHA256(), deterministic_signing=True))
    pusher.cosign_signatures(digest, [(payload, base64.b64encode(signature).decode(), None)])


def push_sample(key):
    pusher = Pusher(REGISTRY_URL, UPSTREAM)
    entries = []
    for arch in ("amd64", "arm64"):
        files = fedora.tree_files("42", arch)
        if arch == "amd64":
            # As once seen upstream: a 196-byte placeholder boot.iso.
            files.append(("boot.iso", b"placeholder\n" * 16 + b"stub"))
        digest, size = pusher.netboot(f"42-{arch}", files)
        sign(pusher, key, digest)
        entries.append((arch, digest, size))
    pusher.index("42", entries, os_version="fedora-42")
    digest, size = pusher.netboot("41-amd64", fedora.tree_files("41", "amd64", with_iso=True))
    sign(pusher, key, digest)
    pusher.index("41", [("amd64", digest, size)], os_version="fedora-41")
    print(f"pushed tags 41, 41-amd64, 42, 42-amd64, 42-arm64 to {REGISTRY_URL}/{UPSTREAM}")
    print("signed 41-amd64, 42-amd64, 42-arm64 with .run/sample/cosign.key (cosign .sig tags)")


def get_or_create(api, endpoint, body):
    found = api.get(endpoint, name=body["name"])["results"]
    if found:
        if "url" not in body:
            return found[0]
        # Remote updates are tasks: wait, so that what follows sees the new settings.
        answer = api.patch(found[0]["pulp_href"], body)
        if "task" in answer:
            api.wait(answer["task"])
        return api.get(found[0]["pulp_href"])
    return api.create(endpoint, body)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stop-registry", action="store_true", help="stop the sample registry")
    args = parser.parse_args()
    if args.stop_registry:
        stop_registry()
        return

    start_registry()
    key, public_pem, key_id = signing_key()
    push_sample(key)
    api = PulpAPI()
    remote = get_or_create(
        api,
        "remotes/kickstart/oci/",
        {
            "name": NAME,
            "url": REGISTRY_URL,
            "upstream_name": UPSTREAM,
            "policy": "immediate",
            "signature_keys": public_pem,
            "signature_policy": "required",
        },
    )
    print(
        f"remote {NAME}: signature_policy {remote['signature_policy']}, trusting only "
        f".run/sample/cosign.pub ({key_id})"
    )
    repository = get_or_create(api, "repositories/kickstart/kickstart/", {"name": NAME})
    before = api.get(repository["pulp_href"])["latest_version_href"]
    started = time.monotonic()
    task = api.sync(repository, remote)
    elapsed = time.monotonic() - started
    repository = api.get(repository["pulp_href"])
    latest = repository["latest_version_href"]
    created = "created " + latest if latest != before else "no change, no new version"
    print(f"sync {task['state']} in {elapsed:.1f}s: {created}")
    distribution = get_or_create(
        api,
        "distributions/kickstart/kickstart/",
        {"name": NAME, "base_path": BASE_PATH, "repository": repository["pulp_href"]},
    )
    print(f"distribution: {distribution['base_url']}")
    tags = {}
    for tag in api.list("content/kickstart/tags/", repository_version=latest):
        tags.setdefault(tag["tree"], []).append(tag["name"])
    # Verifications are content of the version (a new verification is a new version).
    signatures = {}
    for signature in api.list("content/kickstart/signatures/", repository_version=latest):
        signatures.setdefault(signature["tree"], []).append(signature)
    for tree in api.trees(latest):
        root = f"{CONTENT}/pulp/content/{BASE_PATH}/{tree['version']}/{tree['arch']}"
        print(f"\ntree {tree['version']}/{tree['arch']} ({tree['oci_arch']}) {tree['digest']}")
        print(f"  tags: {', '.join(sorted(tags.get(tree['pulp_href'], [])))}")
        for item in tree["files"]:
            print(f"  {item['role']:8} {item['size']:>8}  {root}/{item['path']}")
        for warning in tree["warnings"]:
            print(f"  warning: {warning}")
        kernel = next(item for item in tree["files"] if item["role"] == "kernel")
        served = requests.get(f"{root}/{kernel['path']}", timeout=60)
        ok = (
            served.status_code == 200
            and hashlib.sha256(served.content).hexdigest() == kernel["sha256"]
        )
        print(f"  kernel served and sha256 verified: {'yes' if ok else 'NO'}")
        if not ok:
            sys.exit(1)
        found = signatures.get(tree["pulp_href"], [])
        vouched = [s for s in found if s["key"] == key_id and s["signed_digest"] == tree["digest"]]
        for record in vouched:
            print(
                f"  publisher signature verified: {record['kind']}, "
                f"key {record['key']} (.run/sample/cosign.pub)"
            )
        if not vouched:
            print(f"  publisher signature verified: NO (signatures: {found})")
            sys.exit(1)
    print(
        f"\nboot menu: {CONTENT}/pulp/content/{BASE_PATH}/boot.ipxe"
        f"\nwith pulp-cli: .venv/bin/pulp kickstart distribution urls --name {NAME}"
    )


if __name__ == "__main__":
    main()
