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
        "kickstart distribution create",
        "kickstart distribution urls",
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
        ("oci", ["--upstream-name", "--include-tags", "--exclude-tags", "--architectures"]),
        ("dnf", ["--skip-files", "--gpg-keys", "--bootloader-packages"]),
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
