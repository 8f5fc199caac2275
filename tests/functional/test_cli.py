"""The whole workflow with the `pulp` command only, against the live stack."""

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from pulp_kickstart_oci.pytest_plugin import unique
from pulp_kickstart_oci.testing import coreos, dnf
from tests.support import signing

PULP_CLI = str(Path(sys.executable).with_name("pulp"))


@pytest.fixture(scope="session")
def pulp_argv(bindings_cfg):
    """The `pulp` command line up to its subcommand: the stack's API, admin credentials."""
    return [
        PULP_CLI,
        "--base-url",
        bindings_cfg.host,
        "--username",
        bindings_cfg.username,
        "--password",
        bindings_cfg.password,
    ]


@pytest.fixture(scope="session")
def cli_env(tmp_path_factory):
    """pulp-glue caches the server's API document forever: each run reads the current one."""
    return {**os.environ, "XDG_CACHE_HOME": str(tmp_path_factory.mktemp("kickstart-cli-cache"))}


@pytest.fixture(scope="session")
def pulp(pulp_argv, cli_env):
    """``pulp(*args, check=True)``: run pulp-cli; its JSON output, or the result unchecked."""

    def _pulp(*args, check=True):
        result = subprocess.run(
            [*pulp_argv, *args], capture_output=True, text=True, timeout=300, env=cli_env
        )
        if check:
            assert result.returncode == 0, f"pulp {' '.join(args)}:\n{result.stdout}{result.stderr}"
            return json.loads(result.stdout) if result.stdout.strip() else None
        return result

    return _pulp


@pytest.fixture
def names(pulp):
    created = {"remote": unique("cli-remote"), "repo": unique("cli-repo"), "dist": unique("cli")}
    yield created
    pulp("kickstart", "distribution", "destroy", "--name", created["dist"], check=False)
    pulp("kickstart", "repository", "destroy", "--name", created["repo"], check=False)
    pulp("kickstart", "remote", "destroy", "--name", created["remote"], check=False)


def test_sync_and_serve_with_the_cli_only(
    pulp,
    pulp_argv,
    cli_env,
    names,
    kickstart_upstream,
    kickstart_publish_release,
    pulpcore_bindings,
    gen_object_with_cleanup,
):
    assert shutil.which(PULP_CLI), "pulp-cli is installed in the venv"
    upstream = kickstart_upstream
    published = kickstart_publish_release(upstream, "42")

    pulp(
        "kickstart",
        "remote",
        "create",
        "--name",
        names["remote"],
        "--url",
        upstream.base,
        "--upstream-name",
        upstream.name,
        "--architectures",
        '["x86_64", "arm64"]',
    )
    pulp("kickstart", "repository", "create", "--name", names["repo"], "--remote", names["remote"])
    pulp("kickstart", "repository", "sync", "--name", names["repo"])

    repository = pulp("kickstart", "repository", "show", "--name", names["repo"])
    version = repository["latest_version_href"]
    assert version.endswith("/versions/1/")
    versions = pulp("kickstart", "repository", "version", "list", "--repository", names["repo"])
    assert [v["number"] for v in versions] == [1, 0]
    content = pulp("kickstart", "repository", "content", "list", "--repository", names["repo"])
    assert len(content) == 2

    trees = pulp("kickstart", "tree", "list", "--repository-version", version, "--arch", "amd64")
    assert [(t["version"], t["arch"]) for t in trees] == [("42", "x86_64")]
    tree = trees[0]
    assert tree["digest"] == published["manifests"]["amd64"]
    assert {f["path"] for f in tree["files"]} >= {"images/pxeboot/vmlinuz", "images/install.img"}
    shown = pulp("kickstart", "tree", "show", "--digest", tree["digest"])
    assert shown["pulp_href"] == tree["pulp_href"]
    tags = pulp("kickstart", "tag", "list", "--repository-version", version, "--arch", "x86_64")
    assert sorted(t["name"] for t in tags) == ["42", "42-amd64"]
    assert {t["tree"] for t in tags} == {tree["pulp_href"]}

    pulp(
        "kickstart",
        "distribution",
        "create",
        "--name",
        names["dist"],
        "--base-path",
        names["dist"],
        "--repository",
        names["repo"],
        "--kernel-args",
        "console=ttyS0",
    )
    urls = pulp("kickstart", "distribution", "urls", "--name", names["dist"])
    assert {(u["version"], u["arch"]) for u in urls} == {("42", "x86_64"), ("42", "aarch64")}
    entry = next(u for u in urls if u["arch"] == "x86_64")
    assert entry["ipxe"] == entry["tree"] + "boot.ipxe"
    assert "console=ttyS0" in requests.get(entry["ipxe"], timeout=60).text
    kernel = requests.get(entry["kernel"], timeout=60).content
    upstream_kernel = dict(published["files"]["amd64"])["vmlinuz"]
    expected = next(f["sha256"] for f in tree["files"] if f["role"] == "kernel")
    assert (
        hashlib.sha256(kernel).hexdigest()
        == expected
        == hashlib.sha256(upstream_kernel).hexdigest()
    )

    pulp(
        "kickstart",
        "repository",
        "version",
        "repair",
        "--repository",
        names["repo"],
        "--version",
        "1",
    )

    # The other pulp-cli output formats work too.
    yaml_output = subprocess.run(
        [
            *pulp_argv,
            "--format",
            "yaml",
            "kickstart",
            "distribution",
            "urls",
            "--name",
            names["dist"],
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=cli_env,
    ).stdout
    assert f"tree: {entry['tree']}" in yaml_output

    # Behind a content guard, trees.json refuses anonymous clients; the CLI reads the
    # same data through the API with its own credentials.
    guard = gen_object_with_cleanup(
        pulpcore_bindings.ContentguardsRbacApi, {"name": unique("guard")}
    )
    try:
        pulp(
            "kickstart",
            "distribution",
            "update",
            "--name",
            names["dist"],
            "--content-guard",
            guard.pulp_href,
        )
        index_url = entry["tree"].rsplit("/42/", 1)[0] + "/trees.json"
        assert requests.get(index_url, timeout=60).status_code == 403
        guarded = pulp("kickstart", "distribution", "urls", "--name", names["dist"])
        assert sorted(guarded, key=str) == sorted(urls, key=str)
    finally:
        pulp("kickstart", "distribution", "update", "--name", names["dist"], "--content-guard", "")


def test_dnf_remote_with_keys_from_a_file(pulp, kickstart_workdir, tmp_path):
    # The key's GNUPGHOME holds gpg-agent's socket (sun_path is ~108 bytes): a short path.
    key = dnf.make_key("CLI Signer", str(kickstart_workdir))
    try:
        key_file = key.write_public(tmp_path / "key.asc")
        name = unique("cli-dnf")
        # The deprecated --gpg-keys still works, and says nothing more than it did.
        created = pulp(
            "kickstart",
            "remote",
            "--type",
            "dnf",
            "create",
            "--name",
            name,
            "--url",
            "http://mirror.example/releases/42/Everything/x86_64/os/",
            "--gpg-keys",
            f"@{key_file}",
            "--skip-files",
            '["boot.iso"]',
            "--bootloader-packages",
            '{"x86_64": ["shim-x64", "grub2-efi-x64"]}',
            check=False,
        )
        assert created.returncode == 0, created.stderr
        # Nothing more on stderr than a remote without keys gets (pulp-cli echoes its
        # --header value there for every remote).
        plain = pulp(
            "kickstart",
            "remote",
            "--type",
            "dnf",
            "create",
            "--name",
            name + "-plain",
            "--url",
            "http://mirror.example/os/",
            check=False,
        )
        pulp("kickstart", "remote", "--type", "dnf", "destroy", "--name", name + "-plain")
        assert created.stderr == plain.stderr, created.stderr
        remote = pulp("kickstart", "remote", "--type", "dnf", "show", "--name", name)
        assert remote["gpg_keys"].strip() == key.public_armored.strip()
        assert remote["signature_keys"] == remote["gpg_keys"]
        assert remote["signature_policy"] == "required"
        assert remote["skip_files"] == ["boot.iso"]
        assert remote["bootloader_packages"] == {"x86_64": ["shim-x64", "grub2-efi-x64"]}
        # The trust options every remote shares.
        pulp(
            "kickstart",
            "remote",
            "--type",
            "dnf",
            "update",
            "--name",
            name,
            "--signature-policy",
            "if_present",
        )
        remote = pulp("kickstart", "remote", "--type", "dnf", "show", "--name", name)
        assert remote["signature_policy"] == "if_present"
        assert remote["signature_keys"].strip() == key.public_armored.strip()
        # A PEM key cannot check an RPM signature: the server says so, naming the field.
        pem = tmp_path / "cosign.pub"
        pem.write_text(signing.public_pem(signing.generate_key("p256")))
        refused = pulp(
            "kickstart",
            "remote",
            "--type",
            "dnf",
            "update",
            "--name",
            name,
            "--signature-key",
            f"@{pem}",
            check=False,
        )
        assert refused.returncode != 0
        assert "signature_keys" in refused.stderr and "OpenPGP" in refused.stderr
        # '' removes the keys; a policy that checks then refuses to stand without them.
        pulp(
            "kickstart",
            "remote",
            "--type",
            "dnf",
            "update",
            "--name",
            name,
            "--signature-key",
            "",
            "--signature-policy",
            "none",
        )
        remote = pulp("kickstart", "remote", "--type", "dnf", "show", "--name", name)
        assert (remote["signature_keys"], remote["signature_policy"]) == (None, "none")
        pulp("kickstart", "remote", "--type", "dnf", "destroy", "--name", name)
    finally:
        key.close()


def test_server_errors_are_shown_clearly(pulp):
    result = pulp(
        "kickstart",
        "remote",
        "create",
        "--name",
        unique("bad"),
        "--url",
        "ftp://registry.example",
        "--upstream-name",
        "fedora/kickstart",
        check=False,
    )
    assert result.returncode != 0
    assert "url" in result.stderr and "http(s)" in result.stderr

    missing = pulp("kickstart", "repository", "show", "--name", unique("missing"), check=False)
    assert missing.returncode != 0
    assert "not found" in missing.stderr.lower() or "could not find" in missing.stderr.lower()


def test_remote_origins_are_set_and_cleared_with_the_cli(pulp):
    name = unique("cli-origins")
    pulp(
        "kickstart",
        "remote",
        "create",
        "--name",
        name,
        "--url",
        "https://registry.example",
        "--upstream-name",
        "fedora/kickstart",
        "--redirect-origin",
        "https://*.cdn.example",
        "--redirect-origin",
        "https://blobs.example:8443",
        "--token-origin",
        "https://auth.example",
    )
    try:
        remote = pulp("kickstart", "remote", "show", "--name", name)
        assert remote["redirect_origins"] == ["https://*.cdn.example", "https://blobs.example:8443"]
        assert remote["token_origins"] == ["https://auth.example"]
        bad = pulp(
            "kickstart",
            "remote",
            "update",
            "--name",
            name,
            "--token-origin",
            "auth.example",
            check=False,
        )
        assert bad.returncode != 0 and "token_origins" in bad.stderr
        pulp("kickstart", "remote", "update", "--name", name, "--redirect-origin", "")
        remote = pulp("kickstart", "remote", "show", "--name", name)
        assert remote["redirect_origins"] is None
        assert remote["token_origins"] == ["https://auth.example"]
    finally:
        pulp("kickstart", "remote", "destroy", "--name", name)


def test_signature_list_shows_what_a_version_vouches_for(
    pulp,
    kickstart_upstream,
    kickstart_publish_release,
    kickstart_oci_remote_factory,
    kickstart_repository_factory,
    kickstart_sync,
):
    from pulp_kickstart_oci.testing.oci import cosign_payload

    key = signing.generate_key("p256")
    digest = kickstart_publish_release(kickstart_upstream, "42", archs=("amd64",))["manifests"][
        "amd64"
    ]
    payload = cosign_payload(f"registry.example/{kickstart_upstream.name}", digest)
    kickstart_upstream.cosign_signatures(
        digest, [(payload, signing.cosign_signature(key, payload), None)]
    )
    remote = kickstart_oci_remote_factory(
        kickstart_upstream,
        signature_keys=signing.public_pem(key),
        signature_policy="required",
        signature_identity_check=False,
    )
    repository = kickstart_repository_factory()
    kickstart_sync(repository, remote)
    version = pulp("kickstart", "repository", "show", "--href", repository.pulp_href)[
        "latest_version_href"
    ]
    (tree,) = pulp("kickstart", "tree", "list", "--repository-version", version)
    listed = pulp(
        "kickstart",
        "signature",
        "list",
        "--repository-version",
        version,
        "--tree",
        tree["pulp_href"],
    )
    assert [(s["kind"], s["key"], s["signed_digest"]) for s in listed] == [
        ("cosign", signing.key_id(key), digest)
    ]
    assert listed[0]["tree"] == tree["pulp_href"]
    assert (
        pulp("kickstart", "signature", "list", "--repository-version", version, "--kind", "rpm")
        == []
    )


def test_a_pulp_remote_names_another_pulps_distribution_and_a_repository_syncs_from_it(
    pulp, kickstart_distribution_factory
):
    """--type pulp: another Pulp's distribution (here the stack's own, empty) as the upstream."""
    upstream = kickstart_distribution_factory()
    name, repo = unique("cli-pulp"), unique("cli-pulp-repo")
    remote = pulp(
        "kickstart",
        "remote",
        "--type",
        "pulp",
        "create",
        "--name",
        name,
        "--url",
        upstream.base_url.rstrip("/"),
        "--architectures",
        '["amd64"]',
        "--redirect-origin",
        "https://cdn.example.com",
    )
    try:
        assert remote["url"] == upstream.base_url  # a directory: the slash is added
        assert remote["architectures"] == ["amd64"]
        assert remote["redirect_origins"] == ["https://cdn.example.com"]
        pulp(
            "kickstart",
            "remote",
            "--type",
            "pulp",
            "update",
            "--name",
            name,
            "--redirect-origin",
            "",
        )
        assert (
            pulp("kickstart", "remote", "--type", "pulp", "show", "--name", name)[
                "redirect_origins"
            ]
            is None
        )
        created = pulp("kickstart", "repository", "create", "--name", repo)
        pulp(
            "kickstart", "repository", "sync", "--name", repo, "--remote", f"kickstart:pulp:{name}"
        )
        synced = pulp("kickstart", "repository", "show", "--name", repo)
        assert synced["latest_version_href"].endswith("/versions/0/")  # nothing served: no version
        assert created["pulp_href"] == synced["pulp_href"]
    finally:
        pulp("kickstart", "repository", "destroy", "--name", repo, check=False)
        pulp("kickstart", "remote", "--type", "pulp", "destroy", "--name", name, check=False)


@pytest.fixture
def nothing_served():
    """An http origin on 127.0.0.1 that answers 404 to every path: a stream that is not there."""
    import http.server
    import threading

    class NotFound(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_error(404)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), NotFound)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


def test_a_coreos_remote_takes_every_option_and_repositories_use_it(
    pulp, kickstart_workdir, tmp_path, nothing_served
):
    """--type coreos: every option reaches the remote; the server's refusals are shown; the
    repository commands take kickstart:coreos:<name>."""
    keys = [dnf.make_key(f"CLI CoreOS {n}", str(kickstart_workdir)) for n in (1, 2)]
    name, repo = unique("cli-coreos"), unique("cli-coreos-repo")
    stream = f"{nothing_served}/streams/stable.json"
    releases = f"{nothing_served}/prod/streams/stable/releases.json"
    updates = f"{nothing_served}/updates/stable.json"
    coreos = ("kickstart", "remote", "--type", "coreos")
    try:
        key_files = [key.write_public(tmp_path / f"key{n}.asc") for n, key in enumerate(keys)]
        created = pulp(
            *coreos,
            "create",
            "--name",
            name,
            "--url",
            stream,
            "--architectures",
            '["x86_64", "arm64"]',
            "--extra",
            "iso",
            "--extra",
            "disk",
            "--release-index-url",
            releases,
            "--updates-url",
            updates,
            "--signature-key",
            f"@{key_files[0]}",
            "--signature-key",
            f"@{key_files[1]}",
            "--signature-policy",
            "required",
            "--redirect-origin",
            "https://*.mirror.example",
            "--policy",
            "immediate",
            "--header",
            "X-Api-Key:not-shown",
            "--username",
            "fleet",
            "--password",
            "not-shown-either",
            "--download-concurrency",
            "3",
            "--labels",
            '{"os": "fcos"}',
        )
        assert created["pulp_href"].startswith("/pulp/api/v3/remotes/kickstart/coreos/")
        remote = pulp(*coreos, "show", "--name", name)
        assert remote["url"] == stream
        assert remote["architectures"] == ["x86_64", "arm64"]
        assert remote["extras"] == ["disk", "iso"]  # each once, in a stable order
        assert (remote["release_index_url"], remote["updates_url"]) == (releases, updates)
        # Each @file's text, joined by a newline.
        assert remote["signature_keys"] == "\n".join(Path(f).read_text() for f in key_files)
        assert remote["signature_policy"] == "required"
        assert remote["redirect_origins"] == ["https://*.mirror.example"]
        assert remote["policy"] == "immediate"
        assert (remote["download_concurrency"], remote["pulp_labels"]) == (3, {"os": "fcos"})
        hidden = {field["name"]: field["is_set"] for field in remote["hidden_fields"]}
        assert hidden["username"] and hidden["password"]
        assert "not-shown" not in json.dumps(remote)
        listed = pulp(*coreos, "list", "--name", name)
        assert [r["pulp_href"] for r in listed] == [created["pulp_href"]]

        # A verifying policy needs the files at sync: on_demand is the server's 400, shown.
        lazy = pulp(*coreos, "update", "--name", name, "--policy", "on_demand", check=False)
        assert lazy.returncode != 0
        assert "signature_policy" in lazy.stderr and "policy 'immediate'" in lazy.stderr
        refused = pulp(
            *coreos,
            "create",
            "--name",
            name + "-lazy",
            "--url",
            stream,
            "--signature-key",
            f"@{key_files[0]}",
            "--signature-policy",
            "required",
            "--policy",
            "on_demand",
            check=False,
        )
        assert refused.returncode != 0 and "policy 'immediate'" in refused.stderr
        assert pulp(*coreos, "list", "--name", name + "-lazy") == []
        away = pulp(
            *coreos,
            "update",
            "--name",
            name,
            "--release-index-url",
            "https://elsewhere.example/releases.json",
            check=False,
        )
        assert away.returncode != 0
        assert "release_index_url" in away.stderr and nothing_served in away.stderr
        unknown = pulp(*coreos, "update", "--name", name, "--extra", "qcow2", check=False)
        assert unknown.returncode != 0 and "disk, iso" in unknown.stderr

        # Given extras replace the remote's; '' clears what can be cleared.
        pulp(*coreos, "update", "--name", name, "--extra", "disk", "--updates-url", "")
        remote = pulp(*coreos, "show", "--name", name)
        assert (remote["extras"], remote["updates_url"]) == (["disk"], None)
        assert remote["release_index_url"] == releases
        pulp(
            *coreos,
            "update",
            "--name",
            name,
            "--extra",
            "",
            "--release-index-url",
            "",
            "--redirect-origin",
            "",
            "--architectures",
            "",
            "--signature-key",
            "",
            "--signature-policy",
            "none",
            "--policy",
            "on_demand",
        )
        remote = pulp(*coreos, "show", "--name", name)
        assert remote["extras"] is None and remote["release_index_url"] is None
        assert remote["redirect_origins"] is None and remote["architectures"] is None
        assert (remote["signature_keys"], remote["signature_policy"]) == (None, "none")
        assert remote["policy"] == "on_demand"
        pulp(
            *coreos,
            "update",
            "--name",
            name,
            "--signature-key",
            f"@{key_files[0]}",
            "--signature-policy",
            "if_present",
            "--policy",
            "immediate",
        )

        # Repositories name it as kickstart:coreos:<name>.
        pulp("kickstart", "repository", "create", "--name", repo, "--remote", f"coreos:{name}")
        pulp(
            "kickstart",
            "repository",
            "update",
            "--name",
            repo,
            "--remote",
            f"kickstart:coreos:{name}",
        )
        shown = pulp("kickstart", "repository", "show", "--name", repo)
        assert shown["remote"] == created["pulp_href"]
        version = shown["latest_version_href"]
        verified = pulp(
            "kickstart",
            "repository",
            "verify-signatures",
            "--name",
            repo,
            "--remote",
            f"kickstart:coreos:{name}",
            check=False,
        )
        assert verified.returncode == 0, verified.stderr
        # The stream is not there: the sync fails naming it, and makes no version.
        synced = pulp(
            "kickstart",
            "repository",
            "sync",
            "--name",
            repo,
            "--remote",
            f"kickstart:coreos:{name}",
            check=False,
        )
        assert synced.returncode != 0
        assert "CoreOS stream" in synced.stderr and stream in synced.stderr
        assert (
            pulp("kickstart", "repository", "show", "--name", repo)["latest_version_href"]
            == version
        )

        # Release indexes: the version holds none (test_release_indexes_... syncs one).
        assert pulp("kickstart", "release-index", "list", "--repository-version", version) == []
    finally:
        pulp("kickstart", "repository", "destroy", "--name", repo, check=False)
        pulp(*coreos, "destroy", "--name", name, check=False)
        pulp(*coreos, "destroy", "--name", name + "-lazy", check=False)
        for key in keys:
            key.close()


def test_release_indexes_are_listed_and_shown_with_the_cli(
    pulp, tmp_path, kickstart_tree_server_factory
):
    built = coreos.CoreosUpstream(tmp_path / "coreos", salt=unique("cli-index"))
    built.add_release("43.20260413.3.2", commit="c" * 64, signed=False)
    built.add_release("44.20260707.3.1", commit="d" * 64, oci_digest="e" * 64, signed=False)
    built.write(kickstart_tree_server_factory(built.root).url)
    name, repo = unique("cli-index"), unique("cli-index-repo")
    remote = ("kickstart", "remote", "--type", "coreos")
    try:
        pulp(
            *remote,
            "create",
            "--name",
            name,
            "--url",
            built.stream_url,
            "--architectures",
            '["x86_64"]',
            "--release-index-url",
            built.release_index_url,
            "--updates-url",
            built.updates_url,
        )
        pulp("kickstart", "repository", "create", "--name", repo)
        pulp(
            "kickstart",
            "repository",
            "sync",
            "--name",
            repo,
            "--remote",
            f"kickstart:coreos:{name}",
        )
        version = pulp("kickstart", "repository", "show", "--name", repo)["latest_version_href"]
        (index,) = pulp("kickstart", "release-index", "list", "--repository-version", version)
        assert index["stream"] == "stable"
        assert [r["version"] for r in index["record"]["releases"]] == [
            "43.20260413.3.2",
            "44.20260707.3.1",
        ]
        assert (
            pulp(
                "kickstart",
                "release-index",
                "list",
                "--stream",
                "next",
                "--repository-version",
                version,
            )
            == []
        )
        shown = pulp("kickstart", "release-index", "show", "--href", index["pulp_href"])
        assert (shown["identity"], shown["stream"]) == (index["identity"], "stable")
    finally:
        pulp("kickstart", "repository", "destroy", "--name", repo, check=False)
        pulp(*remote, "destroy", "--name", name, check=False)


def test_a_distribution_boots_coreos_live_or_to_disk_with_the_cli(pulp):
    name = unique("cli-coreos")
    distribution = ("kickstart", "distribution")
    try:
        no_disk = pulp(
            *distribution,
            "create",
            "--name",
            name,
            "--base-path",
            name,
            "--coreos-boot",
            "install",
            check=False,
        )
        assert no_disk.returncode != 0
        assert "install_device" in no_disk.stderr and "coreos-installer" in no_disk.stderr
        assert pulp(*distribution, "list", "--name", name) == []

        pulp(
            *distribution,
            "create",
            "--name",
            name,
            "--base-path",
            name,
            "--coreos-boot",
            "install",
            "--install-device",
            "/dev/disk/by-id/wwn-0x5000c500a0b1c2d3",
            "--ignition-url",
            "https://config.example/worker.ign",
            "--graph-payload-repository",
            "mirror.example.com:5000/fedora/fedora-coreos",
        )
        shown = pulp(*distribution, "show", "--name", name)
        assert shown["coreos_boot"] == "install"
        assert shown["install_device"] == "/dev/disk/by-id/wwn-0x5000c500a0b1c2d3"
        assert shown["ignition_url"] == "https://config.example/worker.ign"
        assert shown["graph_payload_repository"] == "mirror.example.com:5000/fedora/fedora-coreos"

        # An install without its disk, and URLs Ignition cannot fetch, are the server's 400s.
        bare = pulp(*distribution, "update", "--name", name, "--install-device", "", check=False)
        assert bare.returncode != 0 and "install_device" in bare.stderr
        ftp = pulp(
            *distribution, "update", "--name", name, "--ignition-url", "ftp://x/a.ign", check=False
        )
        assert ftp.returncode != 0 and "ignition_url" in ftp.stderr

        pulp(
            *distribution,
            "update",
            "--name",
            name,
            "--coreos-boot",
            "live",
            "--install-device",
            "",
            "--ignition-url",
            "tftp://10.0.0.1/live.ign",
            "--graph-payload-repository",
            "",
        )
        shown = pulp(*distribution, "show", "--name", name)
        assert (shown["coreos_boot"], shown["install_device"]) == ("live", None)
        assert shown["ignition_url"] == "tftp://10.0.0.1/live.ign"
        assert shown["graph_payload_repository"] is None
    finally:
        pulp(*distribution, "destroy", "--name", name, check=False)


def test_a_distribution_installs_a_bootable_container_with_the_cli(pulp):
    name = unique("cli-bootc")
    distribution = ("kickstart", "distribution")
    try:
        pulp(
            *distribution,
            "create",
            "--name",
            name,
            "--base-path",
            name,
            "--bootc-image",
            "quay.io/fedora/fedora-bootc:42",
            "--bootc-kickstart",
            "--no-bootc-verify-signature",
            "--kickstart-url",
            "http://ks.example/site.ks",
        )
        shown = pulp(*distribution, "show", "--name", name)
        assert shown["bootc_image"] == "quay.io/fedora/fedora-bootc:42"
        assert (shown["bootc_transport"], shown["bootc_kickstart"]) == ("registry", True)
        assert shown["bootc_verify_signature"] is False

        # A malformed reference, and an image dropped while inst.ks points at bootc.ks: 400s.
        bad = pulp(
            *distribution, "update", "--name", name, "--bootc-image", "a b;reboot", check=False
        )
        assert bad.returncode != 0 and "bootc_image" in bad.stderr
        dropped = pulp(*distribution, "update", "--name", name, "--bootc-image", "", check=False)
        assert dropped.returncode != 0 and "bootc_kickstart" in dropped.stderr

        pulp(
            *distribution,
            "update",
            "--name",
            name,
            "--bootc-transport",
            "oci",
            "--bootc-image",
            "/run/install/repo/bootc:42",
            "--bootc-verify-signature",
            "--no-bootc-kickstart",
        )
        shown = pulp(*distribution, "show", "--name", name)
        assert (shown["bootc_image"], shown["bootc_transport"]) == (
            "/run/install/repo/bootc:42",
            "oci",
        )
        assert (shown["bootc_verify_signature"], shown["bootc_kickstart"]) == (True, False)
        pulp(*distribution, "update", "--name", name, "--bootc-image", "")
        assert pulp(*distribution, "show", "--name", name)["bootc_image"] is None
    finally:
        pulp(*distribution, "destroy", "--name", name, check=False)
