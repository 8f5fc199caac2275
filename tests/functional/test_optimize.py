"""pulp_file's optimize idiom: a sync with nothing new is skipped; any change re-syncs fully."""

from .conftest import progress


def _skipped(task):
    return "sync.was_skipped" in progress(task)


def test_nothing_new_is_skipped_and_optimize_false_syncs_anyway(
    kickstart_upstream,
    kickstart_publish_release,
    remote_repo,
    kickstart_sync,
    latest_version,
):
    kickstart_publish_release(kickstart_upstream, "42")
    remote, repository = remote_repo(kickstart_upstream)
    first = kickstart_sync(repository, remote)
    assert not _skipped(first)
    version = latest_version(repository)

    assert _skipped(kickstart_sync(repository, remote))
    # optimize=false runs the whole pipeline: nothing new, so still no new version.
    forced = kickstart_sync(repository, remote, optimize=False)
    assert not _skipped(forced) and "sync.parsing.manifests" in progress(forced)
    assert latest_version(repository) == version


def test_new_upstream_content_is_synced_although_the_remote_is_unchanged(
    kickstart_upstream,
    kickstart_publish_release,
    remote_repo,
    kickstart_sync,
    latest_version,
):
    kickstart_publish_release(kickstart_upstream, "42", archs=("amd64",))
    remote, repository = remote_repo(kickstart_upstream)
    kickstart_sync(repository, remote)
    before = latest_version(repository)

    kickstart_publish_release(kickstart_upstream, "43", archs=("amd64",))
    task = kickstart_sync(repository, remote)
    assert not _skipped(task)
    assert latest_version(repository) != before


def test_a_changed_remote_always_resyncs_fully(
    kickstart_bindings,
    kickstart_upstream,
    kickstart_publish_release,
    remote_repo,
    kickstart_sync,
    monitor_task,
    latest_version,
    trees,
):
    kickstart_publish_release(kickstart_upstream, "42")
    remote, repository = remote_repo(kickstart_upstream, architectures=["x86_64"])
    kickstart_sync(repository, remote)
    assert {tree.arch for tree in trees(latest_version(repository))} == {"x86_64"}

    # The same upstream, a wider filter: the remote changed, so this is no skip.
    update = kickstart_bindings.RemotesOciApi.partial_update(
        remote.pulp_href, {"architectures": ["x86_64", "aarch64"]}
    )
    monitor_task(update.task)
    task = kickstart_sync(repository, remote)
    assert not _skipped(task)
    assert {tree.arch for tree in trees(latest_version(repository))} == {"x86_64", "aarch64"}

    # A change that brings nothing new (the policy) is still a full sync, not a skip.
    monitor_task(
        kickstart_bindings.RemotesOciApi.partial_update(
            remote.pulp_href, {"policy": "on_demand"}
        ).task
    )
    assert not _skipped(kickstart_sync(repository, remote))
    assert _skipped(kickstart_sync(repository, remote))


def test_a_mirror_sync_after_an_additive_one_is_not_skipped(
    kickstart_upstream,
    kickstart_publish_release,
    remote_repo,
    kickstart_sync,
):
    kickstart_publish_release(kickstart_upstream, "42", archs=("amd64",))
    remote, repository = remote_repo(kickstart_upstream)
    kickstart_sync(repository, remote)
    assert not _skipped(kickstart_sync(repository, remote, mirror=True))
    assert _skipped(kickstart_sync(repository, remote, mirror=True))
