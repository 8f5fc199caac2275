"""Compressed bombs against the real stack: a dnf tree whose primary metadata inflates past
KICKSTART_MAX_PRIMARY_INFLATED_BYTES, in each compression createrepo_c writes.

The attack of issue 18: a 299 KiB primary.xml.gz inflating to 300 MiB grew the worker
by 557 MiB. Here each bomb inflates to just past the cap (1 GiB by default) from at most
about 1 MiB on the wire; the sync must fail naming the file and the setting, create no
repository version, and leave a worker that syncs the repaired tree next. The parser's
memory is proven flat by tests/unit/test_dnf_repodata.py (tracemalloc) and measured
per compression by bench/primary_memory.py (peak RSS).
"""

import re

import pytest

from pulp_kickstart_oci.testing import dnf

MiB = 1 << 20


@pytest.mark.parametrize("compression", ["gz", "xz", "bz2", "zstd"])
def test_a_primary_bomb_fails_the_sync_and_the_worker_syncs_on(
    compression,
    pulp_settings,
    kickstart_dnf_tree_factory,
    kickstart_tree_server_factory,
    kickstart_dnf_remote_factory,
    kickstart_repository_factory,
    kickstart_sync,
    latest_version,
):
    limit = pulp_settings.KICKSTART_MAX_PRIMARY_INFLATED_BYTES
    tree = kickstart_dnf_tree_factory()
    bomb, suffix = dnf.primary_bomb(compression, limit + 8 * MiB)
    assert len(bomb) < 2 * MiB  # a ratio of 500 at least
    href = tree.replace_primary(bomb, suffix)
    server = kickstart_tree_server_factory(tree)
    remote = kickstart_dnf_remote_factory(server)
    repository = kickstart_repository_factory()

    task = kickstart_sync(repository, remote, expect_failure=True)

    assert task.state == "failed"
    message = task.error["description"]
    # The file is named by its href once the source passes it, else as "the primary metadata".
    assert re.fullmatch(
        rf"(\[PLP\d+\] Sync failed: )?dnf tree {re.escape(server.url)}/: "
        rf"({re.escape(href)}|the primary metadata) decompresses to more than "
        rf"KICKSTART_MAX_PRIMARY_INFLATED_BYTES \({limit} bytes\)\. "
        r"No repository version was created\.",
        message,
    ), message
    assert f"/{href}" in server.requests  # it was fetched (and its sha256 matched repomd.xml)
    assert latest_version(repository).endswith("/versions/0/")
    # The task failed with the parser's error: the worker was not killed under it (a task
    # whose worker dies fails with pulpcore's "worker ... has gone missing" instead).

    tree.createrepo()  # the upstream repairs its repodata
    task = kickstart_sync(repository, remote)
    assert task.state == "completed"
    assert latest_version(repository).endswith("/versions/1/")
