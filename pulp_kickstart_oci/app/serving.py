"""What a kickstart distribution serves beyond its files: generated documents.

At ``<base_path>/``: ``boot.ipxe`` (a menu of every tree) and ``trees.json``.
At ``<base_path>/<version>/<arch>/``: ``.treeinfo``, ``boot.ipxe``, ``grub.cfg``
and ``pxelinux.cfg/default``. URLs inside are absolute, from CONTENT_ORIGIN or
a host name the admin allows (see ``boot_origin``): request headers never
decide where a machine is sent. The content app's routes (``content.py``) hand
the request in; the files themselves are ContentArtifacts at
``<version>/<arch>/<path>``, served by pulpcore's content handler.
"""

import json
import re
from gettext import gettext as _

from django.conf import settings

from .boot import configs, treeinfo
from .netboot import grammar, layout

ROOT_FILES = ("boot.ipxe", "trees.json")
# EFI/BOOT/grub.cfg: GRUB loaded over UEFI HTTP boot from EFI/BOOT/ looks beside itself.
BOOT_CONFIGS = ("boot.ipxe", "grub.cfg", "pxelinux.cfg/default", "EFI/BOOT/grub.cfg")
TREE_FILES = (".treeinfo",) + BOOT_CONFIGS
# The content-app paths that may be a generated document (content.py routes them here).
DOCUMENT_PATH = r".+/(?:\.treeinfo|boot\.ipxe|grub\.cfg|trees\.json|pxelinux\.cfg/default)"
TEXT = "text/plain; charset=utf-8"

# host[:port] or [IPv6][:port]: what a Host header may hold (RFC 9110), as a DNS name
# (labels of at most 63 characters, 253 in all) or an IP address, so that every value
# that passes also passes yarl and pulpcore's cache (a port above 65535 is refused below).
_HOST = re.compile(
    r"(?P<name>(?=[A-Za-z0-9_.-]{1,254}(?::|\Z))[A-Za-z0-9_-]{1,63}(?:\.[A-Za-z0-9_-]{1,63})*\.?"
    r"|\[[0-9A-Fa-f:.]{2,45}\])(?::(?P<port>[0-9]{1,5}))?"
)
# What a path (after CONTENT_PATH_PREFIX) of anything a kickstart distribution serves
# looks like: a base path, a release, an architecture and a tree path (each of plain
# segments, see netboot/grammar.py), a generated document or a listing ("/" at the end).
# No empty segment, no "." or "..", no percent sign (so no encoded "/" either).
_PLAIN_SEGMENT = r"(?:[A-Za-z0-9_+~-]|\.[A-Za-z0-9_+~-])[A-Za-z0-9._+~-]*"
SERVED_PATH = re.compile(rf"{_PLAIN_SEGMENT}(?:/{_PLAIN_SEGMENT})*/?")


class Document:
    """A generated document: its bytes and media type. The whole body, always."""

    def __init__(self, body, name):
        self.body = body.encode() if isinstance(body, str) else body
        self.content_type = "application/json" if name.endswith(".json") else TEXT


def _version_order(tree):
    """42 before 100, 9.4 before 10: numeric parts compare as numbers."""
    return (
        tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in tree.version.split(".")),
        tree.arch,
    )


def is_host_name(host):
    """True when a Host header holds a host name (and port), nothing else."""
    match = _HOST.fullmatch(host) if host else None
    return match is not None and int(match["port"] or 0) <= 65535


def path_problem(path):
    """Why no kickstart distribution serves ``path`` (the part after CONTENT_PATH_PREFIX,
    percent-encoded slashes and percent signs still encoded): ``(status, reason)``, or None.

    Linear in the capped length, and decided before any lookup: a request of a
    kickstart distribution whose path fails here never reaches a cache or a query
    beyond the one telling whose path it is (content.py).
    """
    if len(path) > settings.KICKSTART_CONTENT_MAX_PATH_LENGTH:
        return 414, _("The path is longer than KICKSTART_CONTENT_MAX_PATH_LENGTH.\n")
    if path.rstrip("/").count("/") >= settings.KICKSTART_CONTENT_MAX_PATH_SEGMENTS:
        return 414, _("The path has more segments than KICKSTART_CONTENT_MAX_PATH_SEGMENTS.\n")
    if SERVED_PATH.fullmatch(path) is None:
        return 400, _(
            "The path is not made of plain segments (letters, digits, . _ + ~ -): no empty, "
            "'.' or '..' segment, no percent-encoding, no control character.\n"
        )
    return None


def base_path_candidates(path):
    """The base paths ``path`` could be served under, as pulpcore matches them (each
    prefix ending at a "/", and the whole path), capped and limited to the base-path
    grammar: at most KICKSTART_CONTENT_MAX_PATH_SEGMENTS names, whatever the path."""
    limit = settings.KICKSTART_CONTENT_MAX_PATH_LENGTH
    parts = path[: limit + 1].split("/")
    if len(path) > limit:
        parts.pop()  # cut inside a segment: not a name the path holds
    parts = parts[: settings.KICKSTART_CONTENT_MAX_PATH_SEGMENTS]
    names = ("/".join(parts[:end]) for end in range(1, len(parts) + 1))
    return [name for name in names if grammar.matches(grammar.BASE_PATH, name)]


def boot_hosts():
    """The host names (with port) the admin allows generated documents to point at."""
    return {host.lower() for host in settings.KICKSTART_BOOT_HOSTS}


def client_host(request):
    """The (scheme, host) a client asked under, forwarded headers counted only if trusted."""
    host = request.host
    scheme = request.scheme
    if settings.KICKSTART_TRUST_FORWARDED_HEADERS:
        host = request.headers.get("X-Forwarded-Host", host).partition(",")[0].strip()
        proto = request.headers.get("X-Forwarded-Proto", "").partition(",")[0].strip().lower()
        scheme = proto if proto in ("http", "https") else scheme
    return scheme, host


def boot_origin(request=None):
    """Where generated documents point: CONTENT_ORIGIN, or a name the admin allows.

    No request header decides it on its own. A client that asked under a host
    name listed in KICKSTART_BOOT_HOSTS (QEMU's 10.0.2.2, a lab NAT) gets that
    name; X-Forwarded-Host counts only with KICKSTART_TRUST_FORWARDED_HEADERS,
    and only for listed names.
    """
    default = (settings.CONTENT_ORIGIN or "").rstrip("/")
    allowed = boot_hosts()
    if request is None or not allowed:
        return default
    scheme, host = client_host(request)
    host = (host or "").lower()
    if host in allowed:
        return f"{scheme}://{host}"
    listed = _listed_with_a_port(host, allowed)
    return f"{scheme}://{listed}" if listed else default


def _listed_with_a_port(host, allowed):
    """The one allowed ``name:port`` for a Host that has the name and no port, else None.

    GRUB's HTTP client (2.06, and Fedora's) connects to ``(http,name:port)`` but
    sends ``Host: name`` without the port: a UEFI machine booting GRUB from a
    listed ``name:port`` still gets URLs on that port. Only an unambiguous entry
    counts; a name listed with several ports falls back to CONTENT_ORIGIN.
    """
    match = _HOST.fullmatch(host)
    if match is None or match["port"] is not None:
        return None
    candidates = []
    for entry in allowed:
        listed = _HOST.fullmatch(entry)
        if listed and listed["name"] == match["name"] and listed["port"] is not None:
            candidates.append(entry)
    return candidates[0] if len(candidates) == 1 else None


class TreeServer:
    """Generated documents of one distribution, for the repository version it serves now.

    ``origin`` is where the documents' URLs point (``boot_origin``); the API's
    view of the index uses CONTENT_ORIGIN. ``version_pk`` pins the version
    rendered (the content app's memo keys documents on it).
    """

    def __init__(self, distribution, origin=None, version_pk=None):
        self.distribution = distribution
        self.origin = boot_origin() if origin is None else origin
        self.version_pk = version_pk  # None: the version the distribution serves now

    def _root_url(self):
        """Absolute URL of the distribution root, from the origin and the validated base path."""
        return f"{self.origin}{settings.CONTENT_PATH_PREFIX}{self.distribution.base_path}/"

    def _trees(self):
        return self.distribution.served_trees(self.version_pk)

    def _ordered(self, trees):
        return sorted(trees, key=_version_order)

    def _target(self, tree, root_url):
        return configs.target_for(
            tree,
            f"{root_url}{tree.version}/{tree.arch}/",
            self.distribution.kernel_args,
            self.distribution.kickstart_url,
        )

    def served(self):
        """trees.json as data: every tree the distribution serves now, with its URLs."""
        trees, version = self._trees()
        tags = self.distribution.served_tags(version)
        signatures = self.distribution.served_signatures(version)
        return self.index(self._ordered(trees), self._root_url(), tags, signatures)

    def handle(self, path):
        """The Document at a generated path, or None to let pulpcore serve files and listings."""
        if path in ROOT_FILES:
            if path == "trees.json":
                return Document(json.dumps(self.served(), indent=2) + "\n", path)
            trees = self._ordered(self._trees()[0])
            root_url = self._root_url()
            targets = []
            for tree in trees:
                try:
                    targets.append(self._target(tree, root_url))
                except configs.NotBootable:
                    continue
            return Document(configs.ipxe_menu(targets), path)
        parts = path.split("/", 2)
        if len(parts) != 3 or parts[2] not in TREE_FILES:
            return None
        release, arch, name = parts
        trees, version = self._trees()
        tree = trees.filter(version=release, arch=arch).first()
        if tree is None:
            return None
        if name == ".treeinfo":
            try:
                return Document(treeinfo.render(tree, version.pulp_created.timestamp()), name)
            except treeinfo.UnsafeTree:
                return None
        root_url = self._root_url()
        try:
            target = self._target(tree, root_url)
        except configs.NotBootable:
            return None
        if name == "EFI/BOOT/grub.cfg" and layout.GRUB not in configs.roles(tree):
            return None
        render = {"boot.ipxe": configs.ipxe, "pxelinux.cfg/default": configs.pxelinux}
        return Document(render.get(name, configs.grub)(target), name)

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

    def _bootable(self, tree, root_url):
        """True when the tree's boot configs render (the same check as serving them)."""
        try:
            self._target(tree, root_url)
        except configs.NotBootable:
            return False
        return True

    def index(self, trees, root_url, tags, signatures):
        """trees.json: every tree with its tags, files, sizes, checksums and URLs.

        ``tags`` and ``signatures`` map a tree's pk to the upstream tags naming it and
        the verifications of it in the served version.
        """
        entries = []
        for tree in trees:
            tree_url = f"{root_url}{tree.version}/{tree.arch}/"
            entries.append(
                {
                    "version": tree.version,
                    "arch": tree.arch,
                    "oci_arch": tree.oci_arch,
                    "digest": tree.digest,
                    "tags": sorted(tags.get(tree.pk, [])),
                    "url": tree_url,
                    "treeinfo": f"{tree_url}.treeinfo",
                    "boot": {
                        "ipxe": f"{tree_url}boot.ipxe",
                        "grub": f"{tree_url}grub.cfg",
                        "pxelinux": f"{tree_url}pxelinux.cfg/default",
                    }
                    if self._bootable(tree, root_url)
                    else {},
                    "files": [{**item, "url": tree_url + item["path"]} for item in tree.files],
                    "warnings": tree.warnings,
                    "signatures": signatures.get(tree.pk, []),
                }
            )
        return {"base_url": root_url, "trees": entries}
