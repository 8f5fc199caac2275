"""What a kickstart distribution serves beyond its files: generated, request-aware documents.

At ``<base_path>/``: ``boot.ipxe`` (a menu of every tree) and ``trees.json``.
At ``<base_path>/<version>/<arch>/``: ``.treeinfo``, ``boot.ipxe``, ``grub.cfg``
and ``pxelinux.cfg/default``. URLs inside are absolute and use the scheme and
host the client used, so a machine that reached Pulp as 10.0.2.2 is told to
fetch its kernel from 10.0.2.2. The files themselves are ContentArtifacts at
``<version>/<arch>/<path>`` and are served by pulpcore's content handler.
"""

import json
import re
from contextvars import ContextVar

from aiohttp import web
from django.conf import settings

from .boot import configs, treeinfo
from .models import KickstartTree
from .netboot import layout

_request = ContextVar("kickstart_request", default=None)

ROOT_FILES = ("boot.ipxe", "trees.json")
# EFI/BOOT/grub.cfg: GRUB loaded over UEFI HTTP boot from EFI/BOOT/ looks beside itself.
BOOT_CONFIGS = ("boot.ipxe", "grub.cfg", "pxelinux.cfg/default", "EFI/BOOT/grub.cfg")
TREE_FILES = (".treeinfo",) + BOOT_CONFIGS
_TEXT = "text/plain; charset=utf-8"
# The documents name the host the client used: caches must key on it.
_VARY = "Host, X-Forwarded-Host, X-Forwarded-Proto"


def _version_order(tree):
    """42 before 100, 9.4 before 10: numeric parts compare as numbers."""
    return (
        tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in tree.version.split(".")),
        tree.arch,
    )


@web.middleware
async def remember_request(request, handler):
    """Let Distribution.content_handler, which gets only a path, see the request."""
    token = _request.set(request)
    try:
        return await handler(request)
    finally:
        _request.reset(token)


def _distribution_url(distribution, path):
    """Absolute URL of the distribution root as the client addressed it."""
    request = _request.get()
    if request is not None and request.path.endswith(path):
        scheme = request.headers.get("X-Forwarded-Proto", request.scheme).split(",")[0].strip()
        host = request.headers.get("X-Forwarded-Host", request.host).split(",")[0].strip()
        root = request.path[: len(request.path) - len(path)]
        return f"{scheme}://{host}{root}"
    return f"{settings.CONTENT_ORIGIN}{settings.CONTENT_PATH_PREFIX}{distribution.base_path}/"


def _respond(body, name):
    """A response that honours HEAD (aiohttp drops the body) and single byte ranges."""
    data = body.encode() if isinstance(body, str) else body
    content_type = "application/json" if name.endswith(".json") else _TEXT
    headers = {"Content-Type": content_type, "Accept-Ranges": "bytes", "Vary": _VARY}
    request = _request.get()
    wanted = request.headers.get("Range", "") if request is not None else ""
    match = re.fullmatch(r"bytes=(\d*)-(\d*)", wanted.strip())
    if match and match.group(1) + match.group(2):
        start_text, end_text = match.groups()
        size = len(data)
        if start_text == "":
            start, end = max(size - int(end_text), 0), size - 1
        else:
            start = int(start_text)
            end = min(int(end_text), size - 1) if end_text else size - 1
        if start >= size or start > end:
            raise web.HTTPRequestRangeNotSatisfiable(headers={"Content-Range": f"bytes */{size}"})
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        return web.Response(status=206, body=data[start : end + 1], headers=headers)
    return web.Response(body=data, headers=headers)


class TreeServer:
    """Generated documents of one distribution, for the repository version it serves now."""

    def __init__(self, distribution):
        self.distribution = distribution

    def _trees(self):
        _, version, _ = self.distribution.get_repository_publication_and_version()
        if version is None:
            return KickstartTree.objects.none(), None
        trees = KickstartTree.objects.filter(pk__in=version.content)
        return trees, version

    def _ordered(self, trees):
        return sorted(trees, key=_version_order)

    def _target(self, tree, root_url):
        return configs.target_for(
            tree,
            f"{root_url}{tree.version}/{tree.arch}/",
            self.distribution.kernel_args,
            self.distribution.kickstart_url,
        )

    def handle(self, path):
        """A response for a generated path, or None to let pulpcore serve files and listings."""
        if path in ROOT_FILES:
            trees = self._ordered(self._trees()[0])
            root_url = _distribution_url(self.distribution, path)
            if path == "trees.json":
                return _respond(json.dumps(self.index(trees, root_url), indent=2) + "\n", path)
            targets = []
            for tree in trees:
                try:
                    targets.append(self._target(tree, root_url))
                except configs.NotBootable:
                    continue
            return _respond(configs.ipxe_menu(targets), path)
        parts = path.split("/", 2)
        if len(parts) != 3 or parts[2] not in TREE_FILES:
            return None
        release, arch, name = parts
        trees, version = self._trees()
        tree = trees.filter(version=release, arch=arch).first()
        if tree is None:
            return None
        if name == ".treeinfo":
            return _respond(treeinfo.render(tree, version.pulp_created.timestamp()), name)
        root_url = _distribution_url(self.distribution, path)
        try:
            target = self._target(tree, root_url)
        except configs.NotBootable:
            return None
        if name == "EFI/BOOT/grub.cfg" and layout.GRUB not in configs.roles(tree):
            return None
        render = {"boot.ipxe": configs.ipxe, "pxelinux.cfg/default": configs.pxelinux}
        return _respond(render.get(name, configs.grub)(target), name)

    def listing(self, rel_path):
        """Generated entries to add to a directory listing (boot configs only if bootable)."""
        if rel_path == "":
            return set(ROOT_FILES)
        parts = rel_path.rstrip("/").split("/")
        if len(parts) < 2:
            return set()
        tree = self._trees()[0].filter(version=parts[0], arch=parts[1]).first()
        if tree is None:
            return set()
        bootable = configs.is_bootable(tree)
        below = "/".join(parts[2:])
        if below == "":
            return {".treeinfo"} | (
                {"boot.ipxe", "grub.cfg", "pxelinux.cfg/"} if bootable else set()
            )
        if below == "pxelinux.cfg" and bootable:
            return {"default"}
        if below == "EFI/BOOT" and bootable and layout.GRUB in configs.roles(tree):
            return {"grub.cfg"}
        return set()

    def index(self, trees, root_url):
        """trees.json: every tree with its files, sizes, checksums and URLs."""
        entries = []
        for tree in trees:
            tree_url = f"{root_url}{tree.version}/{tree.arch}/"
            entries.append(
                {
                    "version": tree.version,
                    "arch": tree.arch,
                    "oci_arch": tree.oci_arch,
                    "digest": tree.digest,
                    "url": tree_url,
                    "treeinfo": f"{tree_url}.treeinfo",
                    "boot": {
                        "ipxe": f"{tree_url}boot.ipxe",
                        "grub": f"{tree_url}grub.cfg",
                        "pxelinux": f"{tree_url}pxelinux.cfg/default",
                    }
                    if configs.is_bootable(tree)
                    else {},
                    "files": [{**item, "url": tree_url + item["path"]} for item in tree.files],
                    "warnings": tree.warnings,
                }
            )
        return {"base_url": root_url, "trees": entries}
