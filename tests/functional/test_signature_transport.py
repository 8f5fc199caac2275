"""Fetching publisher signatures from a real registry and a lookaside store, inside Pulp.

RegistryClient works on a saved remote (its credentials decrypted from the
database) in an event loop, with Pulp's settings: the test process has neither.
So each test pushes signatures to the real docker-registry (distribution 2.8, no
referrers API), creates the remote through the API, and runs the client methods
in ``pulpcore-manager shell -c`` against the stack's settings and database. That
exercises the same downloaders (auth, proxy, TLS, caps) a sync uses. Verifying
what was fetched is app/signatures/'s job, not tested here.
"""

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from pulp_kickstart_oci.testing.oci import (
    SIGSTORE_BUNDLE,
    LookasideStore,
    cosign_payload,
    digest_of,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
MANAGER = Path(sys.executable).parent / "pulpcore-manager"

# Runs in pulpcore-manager's shell: calls RegistryClient methods, prints their results.
SCRIPT = """
import asyncio, base64, dataclasses, json, os
from pulp_kickstart_oci.app.models import KickstartOciRemote
from pulp_kickstart_oci.app.registry.client import RegistryClient, RegistryError

args = json.loads(os.environ["KICKSTART_SIGNATURE_CALLS"])
# Only what the transport reads (the client, pulpcore's DownloaderFactory): a field it
# reads beyond these would be loaded lazily inside the event loop and fail loudly.
remote = KickstartOciRemote.objects.only(
    "url", "upstream_name", "username", "password", "headers", "ca_cert", "client_cert",
    "client_key", "tls_validation", "proxy_url", "proxy_username", "proxy_password",
    "download_concurrency", "max_retries", "rate_limit", "total_timeout", "connect_timeout",
    "sock_connect_timeout", "sock_read_timeout", "redirect_origins", "token_origins",
).get(pk=args["remote"])


def plain(value):
    if isinstance(value, bytes):
        return {"b64": base64.b64encode(value).decode()}
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    return value


async def main():
    client = RegistryClient(remote)
    results = []
    for name, params in args["calls"]:
        try:
            found = await getattr(client, name)(*params)
            results.append({"ok": [plain(dataclasses.asdict(item)) for item in found]})
        except RegistryError as error:
            results.append({"error": str(error)})
    return results


print("RESULTS " + json.dumps(asyncio.run(main())))
"""


def run_client(remote, *calls):
    """Run ``(method, [args])`` calls of RegistryClient on ``remote`` inside Pulp."""
    env = dict(os.environ)
    env.setdefault("PULP_SETTINGS", str(REPO_ROOT / ".run" / "settings.py"))
    env.setdefault("DJANGO_SETTINGS_MODULE", "pulpcore.app.settings")
    env["KICKSTART_SIGNATURE_CALLS"] = json.dumps(
        {"remote": remote.pulp_href.rstrip("/").rsplit("/", 1)[1], "calls": list(calls)}
    )
    done = subprocess.run(
        [str(MANAGER), "shell", "-c", SCRIPT],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO_ROOT,
    )
    for line in done.stdout.splitlines():
        if line.startswith("RESULTS "):
            return json.loads(line[len("RESULTS ") :])
    pytest.fail(f"the client script printed no results:\n{done.stdout}\n{done.stderr}")


def data(item, key="data"):
    return base64.b64decode(item[key]["b64"])


def test_cosign_signatures_and_referrers_come_from_a_real_registry(
    kickstart_upstream, kickstart_oci_remote_factory, kickstart_registry
):
    pusher = kickstart_upstream
    signed, signed_size = pusher.netboot("42-amd64", [("vmlinuz", pusher.name.encode())])
    unsigned, _ = pusher.netboot("42-arm64", [("vmlinuz", b"b" + pusher.name.encode())])
    reference = f"127.0.0.1:{kickstart_registry.port}/{pusher.name}"
    first = cosign_payload(reference, signed)
    second = cosign_payload(reference, signed, optional={"n": 2})
    sig_digest, _ = pusher.cosign_signatures(
        signed,
        [
            (first, "MEUCIQ==", None),
            (second, "MEYCIQ==", {"dev.sigstore.cosign/bundle": '{"x": 1}'}),
        ],
    )
    bundle = json.dumps({"mediaType": SIGSTORE_BUNDLE, "salt": pusher.name}).encode()
    wanted = pusher.referrer(signed, signed_size, [(SIGSTORE_BUNDLE, bundle)])
    pusher.referrer(signed, signed_size, [("text/spdx", b"sbom")], artifact_type="text/spdx")
    # Debian's registry has no referrers API: the client must use the tag schema.
    api = requests.get(f"{pusher.base}/v2/{pusher.name}/referrers/{signed}")
    assert api.status_code == 404

    remote = kickstart_oci_remote_factory(pusher)
    cosign, none, referrers, every, no_referrers = run_client(
        remote,
        ("cosign_signatures", [signed]),
        ("cosign_signatures", [unsigned]),
        ("referrers", [signed]),
        ("referrers", [signed, None]),
        ("referrers", [unsigned]),
    )

    assert [data(s, "payload") for s in cosign["ok"]] == [first, second]
    assert [s["signature"] for s in cosign["ok"]] == ["MEUCIQ==", "MEYCIQ=="]
    assert cosign["ok"][1]["annotations"]["dev.sigstore.cosign/bundle"] == '{"x": 1}'
    assert {s["manifest_digest"] for s in cosign["ok"]} == {sig_digest}
    assert none == {"ok": []}
    assert [(r["manifest_digest"], r["via"], data(r)) for r in referrers["ok"]] == [
        (wanted["digest"], "tag", bundle)
    ]
    assert referrers["ok"][0]["artifact_type"] == referrers["ok"][0]["media_type"]
    assert sorted(r["artifact_type"] for r in every["ok"]) == [SIGSTORE_BUNDLE, "text/spdx"]
    assert no_referrers == {"ok": []}


def test_signature_bytes_are_digest_checked_and_capped(
    kickstart_upstream, kickstart_oci_remote_factory, kickstart_registry
):
    pusher = kickstart_upstream
    tampered, _ = pusher.netboot("42-amd64", [("vmlinuz", pusher.name.encode())])
    huge, _ = pusher.netboot("42-arm64", [("vmlinuz", b"b" + pusher.name.encode())])
    payload = cosign_payload("r/x", tampered, optional={"salt": pusher.name})
    pusher.cosign_signatures(tampered, [(payload, "MEUCIQ==", None)])
    layer = digest_of(payload)
    # The registry's storage now holds other bytes (same length) for the payload.
    kickstart_registry.blob_file(layer).write_bytes(payload.replace(b"r/x", b"r/y"))
    big = b"x" * (1024 * 1024 + 1)  # KICKSTART_MAX_SIGNATURE_BYTES + 1
    pusher.cosign_signatures(huge, [(big + pusher.name.encode(), "MEUCIQ==", None)])

    remote = kickstart_oci_remote_factory(pusher)
    bad, too_large = run_client(
        remote, ("cosign_signatures", [tampered]), ("cosign_signatures", [huge])
    )

    assert f"cosign signature layer {layer} of {tampered}" in bad["error"]
    assert f"not {layer}" in bad["error"]
    assert "KICKSTART_MAX_SIGNATURE_BYTES" in too_large["error"]
    assert pusher.name in too_large["error"]  # names the registry repository


def test_a_lookaside_store_on_another_origin_gets_no_credentials(
    kickstart_upstream, kickstart_oci_remote_factory
):
    pusher = kickstart_upstream
    digest, _ = pusher.netboot("42-amd64", [("vmlinuz", pusher.name.encode())])
    with LookasideStore() as store:
        store.add(pusher.name, digest, [b"first " + pusher.name.encode(), b"second"])
        remote = kickstart_oci_remote_factory(
            pusher,
            username="someone",
            password="very-secret",
            headers=[{"X-Api-Key": "also-secret"}],
        )
        found, empty, refused = run_client(
            remote,
            ("lookaside_signatures", [store.url + "/", digest]),
            ("lookaside_signatures", [store.url, "sha256:" + "0" * 64]),
            ("lookaside_signatures", [f"file://{REPO_ROOT}", digest]),
        )
        seen = list(store.requests)

    assert [(s["number"], data(s)) for s in found["ok"]] == [
        (1, b"first " + pusher.name.encode()),
        (2, b"second"),
    ]
    assert found["ok"][0]["url"].startswith(f"{store.url}/{pusher.name}@sha256=")
    assert empty == {"ok": []}
    assert "only http(s)" in refused["error"]
    # Read until the first 404: signature-1, -2, -3, then -1 of the unsigned digest.
    assert [path.rsplit("/", 1)[1] for path, _headers in seen] == [
        "signature-1",
        "signature-2",
        "signature-3",
        "signature-1",
    ]
    for _path, headers in seen:
        assert "Authorization" not in headers and "X-Api-Key" not in headers
