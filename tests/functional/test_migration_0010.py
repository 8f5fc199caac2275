"""Migration 0010 on a real database: verification records become units in the right versions.

A scratch database in the stack's PostgreSQL cluster is migrated (every app), taken back
to kickstart 0009,
given trees carrying the old records (``KickstartTree.signatures``, a dnf tree's
``source.verified_with``) held by repository versions, then migrated to 0010 by
``pulpcore-manager`` (the stack's settings, the scratch database's name). The units
must be in exactly the versions that held their tree (of the repository a record
names, or of every repository for a record naming none), in ``content_ids``,
RepositoryContent and the versions' counts. The database is dropped afterwards.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pulp_kickstart_oci.pytest_plugin import unique
from tests.support.database import psql

REPO_ROOT = Path(__file__).resolve().parents[2]
MANAGER = Path(sys.executable).parent / "pulpcore-manager"

# Runs in pulpcore-manager's shell on the scratch database; prints what 0010 made.
SCRIPT = r'''
import json
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

# Every app first (pulpcore's post-migrate hooks create every plugin's roles), then
# kickstart back to 0009 (nothing to move back on an empty database).
call_command("migrate", verbosity=0)
call_command("migrate", "kickstart", "0009_export_directories", verbosity=0)
apps = MigrationExecutor(connection).loader.project_state(
    ("kickstart", "0009_export_directories")
).apps
Domain = apps.get_model("core", "Domain")
RepositoryVersion = apps.get_model("core", "RepositoryVersion")
RepositoryContent = apps.get_model("core", "RepositoryContent")
Tree = apps.get_model("kickstart", "KickstartTree")
Repository = apps.get_model("kickstart", "KickstartRepository")
domain = Domain.objects.get(name="default")


def tree(name, digest, source, signatures):
    return Tree.objects.create(
        pulp_type="kickstart.tree", pulp_domain=domain, _pulp_domain=domain,
        version="42", arch="x86_64", oci_arch="amd64", digest=digest, identity=name,
        source=source, signatures=signatures,
    )


def record(key, repository=None):
    found = {"kind": "cosign", "key": key, "signed_digest": "sha256:" + "a" * 64,
             "reference": "quay.io/fedora/kickstart", "tlog_checked": False,
             "verified_at": "2026-01-01T00:00:00+00:00"}
    if repository is not None:
        found["repository"] = str(repository.pk)
    return found


def repository(name, versions):
    """A repository whose version n holds versions[n] (a list of content); v0 is empty."""
    repo = Repository.objects.create(
        name=name, pulp_type="kickstart.kickstart", pulp_domain=domain,
        next_version=len(versions) + 1,
    )
    made = [RepositoryVersion.objects.create(repository=repo, number=0, complete=True)]
    held = {}
    for number, content in enumerate(versions, start=1):
        version = RepositoryVersion.objects.create(
            repository=repo, number=number, complete=True,
            content_ids=[unit.pk for unit in content],
        )
        made.append(version)
        for unit in content:
            if unit.pk not in held:
                held[unit.pk] = RepositoryContent.objects.create(
                    repository=repo, content_id=unit.pk, version_added=version)
        for pk, row in list(held.items()):
            if pk not in {unit.pk for unit in content}:
                row.version_removed = version
                row.save()
                del held[pk]
    return repo, made


oci = tree("oci", "sha256:" + "a" * 64, {"type": "oci"}, [])
r1, r1_versions = repository("r1", [[oci], []])
dnf = tree("dnf", "sha256:" + "d" * 64,
           {"type": "dnf", "url": "http://dnf.example/os/",
            "verified_with": [["FPR2", "FPR1"]]}, [])
r2, r2_versions = repository("r2", [[oci, dnf], [oci, dnf]])
oci.signatures = [record("key-of-r1", r1), record("key-of-none")]
oci.save()

call_command("migrate", "kickstart", "0010_signatures_as_content", verbosity=0)
apps = MigrationExecutor(connection).loader.project_state(
    ("kickstart", "0010_signatures_as_content")
).apps
Signature = apps.get_model("kickstart", "KickstartSignature")
Tree = apps.get_model("kickstart", "KickstartTree")
RepositoryVersion = apps.get_model("core", "RepositoryVersion")
RepositoryContent = apps.get_model("core", "RepositoryContent")
Details = apps.get_model("core", "RepositoryVersionContentDetails")
names = {r1.pk: "r1", r2.pk: "r2"}
units = {}
for unit in Signature.objects.all():
    units[unit.key] = {
        "tree": "oci" if unit.tree_id == oci.pk else "dnf",
        "kind": unit.kind, "signed_digest": unit.signed_digest, "reference": unit.reference,
        "pulp_type": unit.pulp_type,
        "versions": sorted(
            f"{names[v.repository_id]}v{v.number}"
            for v in RepositoryVersion.objects.all() if unit.pk in v.content_ids
        ),
        "repository_content": sorted(
            [names[rc.repository_id], rc.version_added.number,
             rc.version_removed.number if rc.version_removed else None]
            for rc in RepositoryContent.objects.filter(content_id=unit.pk)
        ),
    }
counts = sorted(
    [names[d.repository_version.repository_id], d.repository_version.number, d.count_type,
     d.count]
    for d in Details.objects.filter(content_type="kickstart.signature")
)
print("RESULT " + json.dumps({
    "units": units,
    "counts": counts,
    "dnf_source": Tree.objects.get(pk=dnf.pk).source,
    "tree_columns": [
        column.name
        for column in connection.introspection.get_table_description(
            connection.cursor(), "kickstart_kickstarttree"
        )
    ],
}))
'''


@pytest.fixture
def scratch_database():
    """A new database owned by the stack's role, dropped after the test."""
    name = unique("kickstart_migration").replace("-", "_")
    psql(f"CREATE DATABASE {name} OWNER pulp")
    yield name
    psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_migration_0010_puts_records_in_the_versions_that_held_their_tree(scratch_database):
    env = dict(os.environ)
    env.setdefault("PULP_SETTINGS", str(REPO_ROOT / ".run" / "settings.py"))
    env.setdefault("DJANGO_SETTINGS_MODULE", "pulpcore.app.settings")
    env["PULP_DATABASES__default__NAME"] = scratch_database
    done = subprocess.run(
        [str(MANAGER), "shell", "-c", SCRIPT],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    (line,) = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    result = json.loads(line.removeprefix("RESULT "))
    units = result["units"]

    assert set(units) == {"key-of-r1", "key-of-none", "FPR1,FPR2"}
    # A record naming r1: r1's versions that held the tree, no other repository's.
    assert units["key-of-r1"]["tree"] == "oci"
    assert units["key-of-r1"]["versions"] == ["r1v1"]
    assert units["key-of-r1"]["repository_content"] == [["r1", 1, 2]]
    # A record naming none: every version of every repository that held the tree.
    assert units["key-of-none"]["versions"] == ["r1v1", "r2v1", "r2v2"]
    assert units["key-of-none"]["repository_content"] == [["r1", 1, 2], ["r2", 1, None]]
    for key in ("key-of-r1", "key-of-none"):
        unit = units[key]
        assert (unit["kind"], unit["signed_digest"], unit["reference"]) == (
            "cosign",
            "sha256:" + "a" * 64,
            "quay.io/fedora/kickstart",
        )
        assert unit["pulp_type"] == "kickstart.signature"
    # A dnf keyring check: kind rpm, the fingerprints sorted, the tree's digest and URL.
    rpm = units["FPR1,FPR2"]
    assert (rpm["tree"], rpm["kind"], rpm["signed_digest"], rpm["reference"]) == (
        "dnf",
        "rpm",
        "sha256:" + "d" * 64,
        "http://dnf.example/os/",
    )
    assert rpm["versions"] == ["r2v1", "r2v2"]
    assert rpm["repository_content"] == [["r2", 1, None]]
    assert "verified_with" not in result["dnf_source"]
    assert "signatures" not in result["tree_columns"]
    # pulpcore's per-version counts: present (P), added (A), removed (R).
    assert result["counts"] == [
        ["r1", 1, "A", 2],
        ["r1", 1, "P", 2],
        ["r1", 2, "R", 2],
        ["r2", 1, "A", 2],
        ["r2", 1, "P", 2],
        ["r2", 2, "P", 2],
    ]
