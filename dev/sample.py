"""The main job of `make run`: sync a bundled, offline Fedora-shaped sample.

Generates small files with the magic bytes of real netboot files, pushes them
as kickstart OCI artifacts (index tag `42`, per-arch tags `42-amd64`,
`42-arm64`, and `41-amd64`) into a local Debian docker-registry, then creates
a remote, a repository and a distribution in Pulp, syncs, and prints what it made.
Idempotent: a second run reuses everything and the sync creates no new version.
"""

import argparse
import hashlib
import os
import signal
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

from tests.support import fedora  # noqa: E402
from tests.support.oci import Pusher  # noqa: E402
from tests.support.pulp import CONTENT, PulpAPI  # noqa: E402
from tests.support.registry import LocalRegistry  # noqa: E402

REGISTRY_PORT = 24818
REGISTRY_URL = f"http://127.0.0.1:{REGISTRY_PORT}"
UPSTREAM = "fedora/kickstart-artifacts"
NAME = "sample-fedora"
BASE_PATH = "sample/fedora"
PIDFILE = ROOT / ".run" / "pid" / "registry.pid"


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


def push_sample():
    pusher = Pusher(REGISTRY_URL, UPSTREAM)
    entries = []
    for arch in ("amd64", "arm64"):
        files = fedora.tree_files("42", arch)
        if arch == "amd64":
            # As once seen upstream: a 196-byte placeholder boot.iso.
            files.append(("boot.iso", b"placeholder\n" * 16 + b"stub"))
        digest, size = pusher.netboot(f"42-{arch}", files)
        entries.append((arch, digest, size))
    pusher.index("42", entries, os_version="fedora-42")
    digest, size = pusher.netboot("41-amd64", fedora.tree_files("41", "amd64", with_iso=True))
    pusher.index("41", [("amd64", digest, size)], os_version="fedora-41")
    print(f"pushed tags 41, 41-amd64, 42, 42-amd64, 42-arm64 to {REGISTRY_URL}/{UPSTREAM}")


def get_or_create(api, endpoint, body):
    found = api.get(endpoint, name=body["name"])["results"]
    if found:
        return api.patch(found[0]["pulp_href"], body) if "url" in body else found[0]
    return api.create(endpoint, body)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stop-registry", action="store_true", help="stop the sample registry")
    args = parser.parse_args()
    if args.stop_registry:
        stop_registry()
        return

    start_registry()
    push_sample()
    api = PulpAPI()
    remote = get_or_create(
        api,
        "remotes/kickstart/oci/",
        {"name": NAME, "url": REGISTRY_URL, "upstream_name": UPSTREAM, "policy": "immediate"},
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
    print(
        f"\nboot menu: {CONTENT}/pulp/content/{BASE_PATH}/boot.ipxe"
        f"\nwith pulp-cli: .venv/bin/pulp kickstart distribution urls --name {NAME}"
    )


if __name__ == "__main__":
    main()
