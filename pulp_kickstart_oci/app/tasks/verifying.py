"""Check a repository's trees again with this Pulp's keys (the verify_signatures action).

A Pulp import or a replication carries another Pulp's signature records
(``checked_here`` False): they say what the exporter verified, and vouch for nothing
here. This task asks a kickstart OCI or dnf remote of this Pulp (its keys, its
policy, its upstream: the publisher's registry, a mirror registry holding the
signature artifacts, a lookaside, a dnf mirror for ``rpm`` checks) to verify each
tree of the repository's latest version of the remote's kind, as a sync verifies the
trees it keeps (``TreeFirstStage.reverify``): the manifest or the RPMs are read again
and must be the tree's files, the signatures are fetched and verified offline.

The new verifications (``checked_here`` True) join a new version, beside the records
that were there; under 'required' a tree that no trusted key vouches for fails the
task naming it, and no version is created. Runs under a SyncBudget, as a sync.
"""

import asyncio
import logging
from gettext import gettext as _

from django.db import IntegrityError, transaction

from pulpcore.plugin.models import ProgressReport, Remote

from ..budget import BudgetExceeded, SyncBudget
from ..models import KickstartRepository, KickstartSignature, KickstartTree
from ..sources import UpstreamError, first_stage_for
from ..sources.base import verification
from ..upstream_errors import reason
from .synchronizing import _without_a_version

log = logging.getLogger(__name__)


def verify_signatures(repository_pk, remote_pk):
    """A new version of the repository with this Pulp's verifications of its trees."""
    with SyncBudget.opened():
        try:
            return _verify(repository_pk, remote_pk)
        except (BudgetExceeded, OSError) as exc:
            raise _without_a_version(reason(exc)) from None


def _verify(repository_pk, remote_pk):
    repository = KickstartRepository.objects.get(pk=repository_pk)
    remote = Remote.objects.get(pk=remote_pk).cast()
    latest = repository.latest_version()
    try:
        stage = first_stage_for(remote)
        trees = KickstartTree.objects.filter(pk__in=latest.content).order_by("version", "arch")
        trees = [tree for tree in trees if stage.verifies(tree)]
        with ProgressReport(
            message=_("Verifying trees with the keys of {remote}").format(remote=remote.name),
            code="verify.signatures",
            total=len(trees),
        ) as report:
            found = asyncio.get_event_loop().run_until_complete(stage.reverify(trees, latest))
            report.done = len(trees)
    except UpstreamError as exc:
        raise _without_a_version(exc) from None
    units = [_unit(tree, record) for tree, record in found]
    with repository.new_version() as new_version:
        new_version.add_content(KickstartSignature.objects.filter(pk__in=[u.pk for u in units]))
    log.info(
        "%s: %d trees verified with the keys of %s: %d verifications",
        repository.name,
        len(trees),
        remote.name,
        len(units),
    )


def _unit(tree, record):
    """The stored KickstartSignature of this Pulp's verification: the same one is one unit."""
    unit = verification(tree, {**record, "checked_here": True})
    try:
        with transaction.atomic():
            unit.save()
    except IntegrityError:
        unit = KickstartSignature.objects.get(unit.q())  # another task stored it first
    return unit
