"""The replicator (app/replica.py): what it takes from the upstream Pulp's API, and what not.

The upstream's API names its distributions; a replica takes their base URL only as the
Pulp remote's API would take a ``url``, copies what shapes boot configs and never the
upstream's ``boot_origin``, and syncs as a mirror. The whole flow between two Pulps is
tests/functional/test_replication.py.
"""

from types import SimpleNamespace

import pytest

from pulp_kickstart_oci.app.models import KickstartPulpRemote
from pulp_kickstart_oci.app.replica import (
    REPLICATION_ORDER,
    KickstartReplicator,
    ReplicationError,
)


def _replicator():
    """A replicator without pulp-glue or a task group: only what these methods read."""
    replicator = object.__new__(KickstartReplicator)
    replicator.server = SimpleNamespace(base_url="https://pulp.central.example")
    return replicator


def _distribution(**fields):
    return {
        "name": "fedora",
        "base_path": "fedora",
        "base_url": "https://pulp.central.example/pulp/content/fedora/",
        "kernel_args": "console=ttyS0",
        "kickstart_url": "http://ks.example/host.cfg",
        "boot_origin": "http://10.0.0.1:24816",
        "repository": "/pulp/api/v3/repositories/kickstart/kickstart/1/",
        **fields,
    }


def test_kickstart_distributions_replicate_into_pulp_remotes():
    assert REPLICATION_ORDER == [KickstartReplicator]
    assert KickstartReplicator.remote_model_cls is KickstartPulpRemote
    assert KickstartReplicator.distribution_ctx_cls.ID_PREFIX == "distributions_kickstart_kickstart"


@pytest.mark.parametrize(
    "base_url, url",
    [
        (
            "https://pulp.central.example/pulp/content/fedora/",
            "https://pulp.central.example/pulp/content/fedora/",
        ),
        ("https://cdn.example/pulp/content/fedora", "https://cdn.example/pulp/content/fedora/"),
        # An upstream without CONTENT_ORIGIN answers a path: joined to its own base URL.
        ("/pulp/content/fedora/", "https://pulp.central.example/pulp/content/fedora/"),
    ],
)
def test_the_remote_url_is_the_distributions_base_url(base_url, url):
    assert _replicator().url(_distribution(base_url=base_url)) == url


@pytest.mark.parametrize(
    "base_url",
    [
        "https://user:secret@pulp.central.example/pulp/content/fedora/",
        "https://pulp.central.example/pulp/content/fedora/?token=x",
        "https://pulp.central.example/pulp/content/fedora/#x",
        "file:///etc/",
        "ftp://pulp.central.example/fedora/",
        "https://pulp.central.example/pulp/content/a%2Fb/",
        "",
    ],
)
def test_a_base_url_the_remote_api_would_refuse_fails_the_replication_naming_it(base_url):
    with pytest.raises(ReplicationError, match="Upstream distribution 'fedora': base_url"):
        _replicator().url(_distribution(base_url=base_url))


def test_boot_settings_are_copied_and_the_boot_origin_is_the_replicas():
    fields = _replicator().distribution_extra_fields(None, _distribution())
    assert fields == {
        "base_path": "fedora",
        "kernel_args": "console=ttyS0",
        "kickstart_url": "http://ks.example/host.cfg",
    }
    bare = _replicator().distribution_extra_fields(
        None, _distribution(kernel_args=None, kickstart_url=None)
    )
    assert bare["kernel_args"] == "" and bare["kickstart_url"] is None


def test_a_replica_syncs_as_a_mirror():
    remote, repository = SimpleNamespace(pk="r1"), SimpleNamespace(pk="p1")
    assert _replicator().sync_params(repository, remote) == {
        "remote_pk": "r1",
        "repository_pk": "p1",
        "mirror": True,
    }
