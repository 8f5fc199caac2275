"""``<base_path>/trees.json``: every served tree with its tags, files, checksums and URLs.

The API's ``.../distributions/kickstart/kickstart/<id>/trees/`` answers the same data
(``data(context)``). It is also what a replica syncs from (sources/pulp.py): each tree
with every fact that makes it the same unit on another Pulp (``identity``, the files'
records) and what it stores besides (provenance ``source``, ``annotations``, warnings,
tags, verification records), and the CoreOS release indexes the version holds (what a
replica's update graph is built from).
"""

import json

from ..boot import kinds
from .base import ROOT, DocumentKind
from .bootc import BootcKickstart


class TreesIndex(DocumentKind):
    names = ("trees.json",)
    scope = ROOT
    content_type = "application/json"

    def render(self, context):
        return json.dumps(self.data(context), indent=2) + "\n"

    @staticmethod
    def data(context):
        """trees.json as data."""
        tags = context.distribution.served_tags(context.version)
        signatures = context.distribution.served_signatures(context.version)
        manifests = context.distribution.served_manifests(context.version)
        entries = []
        bootc = BootcKickstart()  # the kind that decides which trees have a bootc.ks
        for tree in context.trees:
            tree_url = context.tree_url(tree)
            kind = kinds.of(tree)
            problem = context.boot_problem(tree)
            entries.append(
                {
                    "version": tree.version,
                    "arch": tree.arch,
                    "oci_arch": tree.oci_arch,
                    "kind": kind.name,
                    "stream": tree.source.get("stream") if kind.name == kinds.COREOS else None,
                    "digest": tree.digest,
                    "identity": tree.identity,
                    "tags": sorted(tags.get(tree.pk, [])),
                    "url": tree_url,
                    "treeinfo": f"{tree_url}.treeinfo" if kind.has_treeinfo else None,
                    "boot": {
                        "ipxe": f"{tree_url}boot.ipxe",
                        "grub": f"{tree_url}grub.cfg",
                        "pxelinux": f"{tree_url}pxelinux.cfg/default",
                    }
                    if problem is None
                    else {},
                    "boot_problem": problem,
                    "bootc": f"{tree_url}{bootc.names[0]}"
                    if bootc.applies(context.for_tree(tree))
                    else None,
                    "files": [{**item, "url": tree_url + item["path"]} for item in tree.files],
                    "warnings": tree.warnings,
                    "source": tree.source,
                    "annotations": tree.annotations,
                    "signatures": signatures.get(tree.pk, []),
                    "manifest": manifests.get(tree.pk),
                }
            )
        indexes = context.distribution.served_release_indexes(context.version)
        return {
            "base_url": context.root_url,
            "trees": entries,
            "release_indexes": [
                {"stream": index.stream, "identity": index.identity, "record": index.record}
                for index in indexes
            ],
            "indexes": [
                {
                    "tag": index.tag,
                    "digest": index.digest,
                    "media_type": index.media_type,
                    "raw": index.raw,
                }
                for index in context.distribution.served_indexes(context.version)
            ],
        }
