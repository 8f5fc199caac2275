"""The Pulp source: the trees another Pulp's kickstart distribution serves (a replica).

The remote's ``url`` is the distribution's base URL (``.../pulp/content/<base_path>/``).
Its ``trees.json`` is read through the remote's downloader (fetch policy on every hop,
capped by KICKSTART_MAX_TREES_JSON_BYTES, counted in the sync's budget) and every value
in it passes its grammar (netboot/served.py). Each tree is planned as the upstream
stores it, so it is the same unit here (the same ``identity``), and its files are
fetched at ``<url><version>/<arch>/<path>``, never at a URL the document names, each
checked against the sha256 and size trees.json publishes: by pulpcore's downloader
during the sync (``immediate``), or when the content app first fetches it
(``on_demand``, ``streamed``: the remote artifact holds the same sha256 and size).

What the upstream vouches for is carried, not believed: its verification records are
kept with ``checked_here`` False (a sync here never takes them as vouching for a tree),
and the provenance is the upstream's plus the distribution it was replicated from. The
CoreOS release indexes trees.json carries are stored as they are (checked as an import's
are), so a replica's update graph is the upstream's.
"""

import logging
import os
from gettext import gettext as _

from pulpcore.plugin.models import ProgressReport

from ..budget import spend
from ..downloads import cap
from ..models import KickstartIndex, KickstartPulpRemote, KickstartReleaseIndex
from ..netboot import arch as archs
from ..netboot import served
from ..signatures.result import RECORDED_KINDS
from ..upstream_errors import REQUEST_ERRORS, message
from .base import TreeFirstStage, TreePlan

log = logging.getLogger(__name__)

TREES_JSON = "trees.json"


class PulpSourceError(Exception):
    """An upstream Pulp's distribution that cannot be replicated; the message says why."""


class PulpFirstStage(TreeFirstStage):
    """trees.json of another Pulp's distribution -> one tree per entry (of wanted arches)."""

    remote_type = KickstartPulpRemote
    source_errors = (PulpSourceError, served.ServedTreesError)

    def __init__(self, remote):
        super().__init__(remote)
        self.base = remote.url if remote.url.endswith("/") else remote.url + "/"
        self.where = _("Pulp distribution {url}").format(url=self.base)
        self.wanted = {archs.fedora_name(name) for name in remote.architectures or []}

    async def resolve(self):
        """Read and check trees.json; plan each tree of a wanted arch. No file is fetched."""
        async with ProgressReport(
            message=_("Reading trees.json"), code="sync.parsing.metadata"
        ) as report:
            document = served.load(await self._trees_json(), self.where)  # read once
            trees = served.parse(document, self.where, RECORDED_KINDS)
            # What the upstream's update graphs are built from: the replica's are the same.
            for index in served.release_indexes(document, self.where):
                self.upstream_units.append(
                    KickstartReleaseIndex(
                        stream=index.stream, record=index.record, identity=index.identity
                    )
                )
            for index in served.indexes(document, self.where):
                self.upstream_units.append(KickstartIndex(**index))
            report.total = report.done = len(trees)
        plans = []
        for tree in trees:
            if self.wanted and tree.arch not in self.wanted:
                continue
            what = _("{where}: tree {name}").format(where=self.where, name=tree.name)
            spend("trees", 1, what)
            spend("tags", len(tree.tags), what)
            spend("signatures", len(tree.signatures), what)
            plans.append(self._plan(tree))
        log.info("%s: %d trees served, %d planned", self.where, len(trees), len(plans))
        return plans

    async def _trees_json(self):
        """The bytes of the distribution's trees.json (capped; deleted once read)."""
        downloader = self.remote.get_downloader(
            url=self.base + TREES_JSON, **cap("KICKSTART_MAX_TREES_JSON_BYTES")
        )
        try:
            result = await downloader.run()
        except REQUEST_ERRORS as exc:
            raise PulpSourceError(
                message(self.where, TREES_JSON, exc, server=_("the upstream Pulp"))
            ) from None
        try:
            with open(result.path, "rb") as fetched:
                return fetched.read()
        finally:
            os.unlink(result.path)

    def file_url(self, tree, item):
        """Where a tree's file is fetched: below the remote's URL, as the upstream serves it.

        Built from checked values only (release, arch, tree path): never a URL trees.json
        names, so an upstream cannot point a replica at another server.
        """
        return f"{self.base}{tree.version}/{tree.arch}/{item.path}"

    def _plan(self, tree):
        files = [item.located(url=self.file_url(tree, item)) for item in tree.files]
        hops = list(tree.source.get(served.REPLICATED_FROM, []))
        source = {**tree.source, served.REPLICATED_FROM: hops + [{"url": self.base}]}
        plan = TreePlan(
            version=tree.version,
            arch=tree.arch,
            oci_arch=tree.oci_arch,
            digest=tree.digest,
            source=source,
            annotations=tree.annotations,
            files=files,
            warnings=list(tree.warnings),
            tags=sorted(tree.tags),
            # Another Pulp's checks: kept, never taken as vouching here (base.verification).
            signatures=[{**record, "checked_here": False} for record in tree.signatures],
            made_here=False,  # never the unit a sync or upload of this Pulp makes
            kind=tree.kind,
            manifest=tree.manifest,
        )
        if plan.identity != tree.identity:
            raise PulpSourceError(
                _(
                    "{where}: tree {name}: trees.json says identity {identity}, but its "
                    "release, arch, digest and files make {computed}"
                ).format(
                    where=self.where,
                    name=tree.name,
                    identity=tree.identity,
                    computed=plan.identity,
                )
            )
        return plan
