"""Every `pulp kickstart` command renders its help page without a server."""

import click
import pytest
from click.testing import CliRunner
from pulp_cli import load_plugins, main

load_plugins()


def _commands(group, path=()):
    for name, command in sorted(group.commands.items()):
        yield path + (name,)
        if isinstance(command, click.Group):
            yield from _commands(command, path + (name,))


KICKSTART = main.commands["kickstart"]
PATHS = [("kickstart",) + path for path in _commands(KICKSTART)]


def test_the_command_tree_has_what_the_docs_promise():
    names = {" ".join(path) for path in PATHS}
    for expected in (
        "kickstart remote create",
        "kickstart remote update",
        "kickstart remote show",
        "kickstart remote list",
        "kickstart remote destroy",
        "kickstart repository sync",
        "kickstart repository version list",
        "kickstart repository version show",
        "kickstart repository version repair",
        "kickstart repository content list",
        "kickstart tree list",
        "kickstart tree show",
        "kickstart tag list",
        "kickstart signature list",
        "kickstart distribution create",
        "kickstart distribution urls",
        "kickstart distribution export",
        "kickstart release-index list",
        "kickstart release-index show",
    ):
        assert expected in names, expected


@pytest.mark.parametrize("path", PATHS, ids=" ".join)
def test_help_page(path):
    result = CliRunner().invoke(main, [*path, "--help"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


@pytest.mark.parametrize(
    "remote_type, options",
    [
        (
            "oci",
            [
                "--upstream-name",
                "--include-tags",
                "--exclude-tags",
                "--architectures",
                "--signature-key",
                "--signature-policy [none|if_present|required]",
                "--signature-lookaside",
                "--signature-identity-check / --no-signature-identity-check",
            ],
        ),
        (
            "dnf",
            [
                "--skip-files",
                "--signature-key",
                "--signature-policy [none|if_present|required]",
                "--gpg-keys",
                "--bootloader-packages",
            ],
        ),
        ("pulp", ["--architectures", "--redirect-origin"]),
        (
            "coreos",
            [
                "--architectures",
                "--extra",
                "--release-index-url",
                "--updates-url",
                "--signature-key",
                "--signature-policy [none|if_present|required]",
                "--redirect-origin",
            ],
        ),
    ],
)
def test_remote_options_of_each_type_are_documented(remote_type, options):
    command = ["kickstart", "remote", "--type", remote_type, "create", "--help"]
    output = CliRunner().invoke(main, command).output
    for option in options + ["--policy", "--username", "--password", "--url"]:
        assert option in output, option


def test_sync_documents_optimize():
    command = ["kickstart", "repository", "sync", "--help"]
    output = CliRunner().invoke(main, command).output
    assert "--optimize / --no-optimize" in output
    assert "A changed remote always re-syncs fully" in " ".join(output.split())


REPOSITORY = "/pulp/api/v3/repositories/kickstart/kickstart/0190b4c2-1c5a-7c3e-8b1e-0d2a8e7f4a11/"
REMOTE = "/pulp/api/v3/remotes/kickstart/oci/0190b4c2-1c5a-7c3e-8b1e-0d2a8e7f4a12/"


@pytest.mark.parametrize(
    "flags, sent",
    [([], None), (["--optimize"], True), (["--no-optimize"], False)],
    ids=["server-default", "optimize", "no-optimize"],
)
def test_sync_sends_optimize_only_when_given(monkeypatch, flags, sent):
    """Without the flag the body has no `optimize`, so the server's default (optimize) applies."""
    from pulp_glue.kickstart.context import PulpKickstartRepositoryContext

    bodies = []
    monkeypatch.setattr(
        PulpKickstartRepositoryContext, "sync", lambda self, body=None: bodies.append(body)
    )
    command = ["kickstart", "repository", "sync", "--href", REPOSITORY, "--remote", REMOTE]
    result = CliRunner().invoke(main, command + flags, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    [body] = bodies
    assert body.get("optimize") == sent
    assert ("optimize" in body) == (sent is not None)


@pytest.mark.parametrize("action", ["create", "update"])
def test_trust_options_are_on_every_remote_and_explained(action):
    for remote_type in ("oci", "dnf", "coreos"):
        shown = CliRunner().invoke(
            main, ["kickstart", "remote", "--type", remote_type, action, "--help"]
        )
        text = " ".join(shown.output.split())
        assert "'@file' reads a file" in text
        assert "On update, the keys given replace all of the remote's keys" in text
        assert "--signature-policy" in text
    # The lookaside store and the identity check are about OCI signatures only.
    dnf = CliRunner().invoke(main, ["kickstart", "remote", "--type", "dnf", action, "--help"])
    assert "--signature-lookaside" not in dnf.output
    assert "--signature-identity-check" not in dnf.output
    assert "Deprecated: use --signature-key" in " ".join(dnf.output.split())


PEM_KEY = """-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEexampleexampleexampleexampleexampleexample
-----END PUBLIC KEY-----"""
OPENPGP_KEY = """-----BEGIN PGP PUBLIC KEY BLOCK-----

mDMEexampleexample
-----END PGP PUBLIC KEY BLOCK-----"""


@pytest.fixture
def sent_remote_bodies(monkeypatch):
    """The bodies `remote create` / `remote update` hand to the OCI remote context (no server)."""
    from pulp_glue.kickstart.context import PulpKickstartOciRemoteContext

    bodies = []

    def create(self, body, parameters=None, non_blocking=False):
        bodies.append(body)
        return {}

    def update(self, body=None, parameters=None, non_blocking=False):
        bodies.append(body)

    monkeypatch.setattr(PulpKickstartOciRemoteContext, "create", create)
    monkeypatch.setattr(PulpKickstartOciRemoteContext, "update", update)
    return bodies


@pytest.mark.parametrize(
    "action",
    [
        ["create", "--name", "fedora", "--url", "https://quay.io", "--upstream-name", "f/k"],
        ["update", "--href", REMOTE],
    ],
    ids=["create", "update"],
)
def test_signature_options_reach_the_body(tmp_path, sent_remote_bodies, action):
    (tmp_path / "cosign.pub").write_text(PEM_KEY)
    (tmp_path / "fedora.asc").write_text(OPENPGP_KEY)
    command = ["kickstart", "remote", "--type", "oci", *action]
    options = [
        "--signature-key",
        f"@{tmp_path / 'cosign.pub'}",
        "--signature-key",
        f"@{tmp_path / 'fedora.asc'}",
        "--signature-policy",
        "required",
        "--signature-lookaside",
        "https://sigs.example/store",
        "--no-signature-identity-check",
    ]
    result = CliRunner().invoke(main, command + options, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    [body] = sent_remote_bodies
    assert body["signature_keys"] == PEM_KEY + "\n" + OPENPGP_KEY
    assert body["signature_policy"] == "required"
    assert body["signature_lookaside"] == "https://sigs.example/store"
    assert body["signature_identity_check"] is False


def _cleaned(body):
    """The body as the OCI remote context sends it (None left out, '' -> null for NULLABLES)."""
    from pulp_glue.kickstart.context import PulpKickstartOciRemoteContext

    context = PulpKickstartOciRemoteContext.__new__(PulpKickstartOciRemoteContext)
    return context.preprocess_entity(body, partial=True)


def test_signature_options_left_out_are_not_sent(sent_remote_bodies):
    """Without the options the server keeps what it has (update) or its defaults (create)."""
    command = ["kickstart", "remote", "--type", "oci", "update", "--href", REMOTE, "--policy"]
    result = CliRunner().invoke(main, [*command, "immediate"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    [body] = sent_remote_bodies
    for field in (
        "signature_keys",
        "signature_policy",
        "signature_lookaside",
        "signature_identity_check",
    ):
        assert body.get(field) is None, field
    assert not any(field.startswith("signature") for field in _cleaned(body))


def test_signature_identity_check_flag_and_clearing(sent_remote_bodies):
    command = ["kickstart", "remote", "--type", "oci", "update", "--href", REMOTE]
    options = ["--signature-identity-check", "--signature-key", "", "--signature-lookaside", ""]
    result = CliRunner().invoke(main, command + options, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    [body] = sent_remote_bodies
    assert body["signature_identity_check"] is True
    # '' clears: the context sends null for the keys and the lookaside.
    cleaned = _cleaned(body)
    assert cleaned["signature_keys"] is None
    assert cleaned["signature_lookaside"] is None


def test_a_missing_key_file_is_named(sent_remote_bodies, tmp_path):
    command = ["kickstart", "remote", "--type", "oci", "update", "--href", REMOTE]
    missing = tmp_path / "nope.pub"
    result = CliRunner().invoke(main, [*command, "--signature-key", f"@{missing}"])
    assert result.exit_code != 0
    assert f"Failed to load content from {missing}" in result.output
    assert sent_remote_bodies == []


def test_distribution_options_for_coreos_boots_are_documented():
    output = CliRunner().invoke(main, ["kickstart", "distribution", "create", "--help"]).output
    for option in (
        "--coreos-boot [live|install]",
        "--ignition-url",
        "--install-device",
        "--graph-payload-repository",
    ):
        assert option in output, option


def test_remote_headers_are_parsed_without_echoing_their_values(capsys):
    """pulp-cli 0.41's own --header callback prints the values (an API key) to stderr."""
    import importlib

    module = importlib.import_module("pulpcore.cli.kickstart.remote")
    callback = module._headers_callback
    for action in ("create", "update"):
        command = KICKSTART.commands["remote"].commands[action]
        (headers,) = [param for param in command.params if param.name == "headers"]
        assert headers.callback is callback
    parsed = callback(None, None, ("X-Api-Key:not-shown", "X-Other:a:b"))
    assert parsed == [{"X-Api-Key": "not-shown"}, {"X-Other": "a:b"}]
    assert callback(None, None, ("X-A:1", "")) == []
    with pytest.raises(click.BadParameter):
        callback(None, None, ("no colon",))
    captured = capsys.readouterr()
    assert "not-shown" not in captured.err + captured.out
