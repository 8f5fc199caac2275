"""Read a dnf tree's .treeinfo, tolerating the defects real trees have.

productmd reads well-formed files. Real trees sometimes lack a variant section
or carry only the legacy ``[general]`` section; those are read with
configparser and a warning, because the parts an installer needs (release,
arch, images, stage2, checksums) are still there.
"""

import configparser
from dataclasses import dataclass, field

import productmd.treeinfo

from ..netboot import grammar
from .errors import DnfError

# Algorithms a [checksums] entry may name; anything else fails the sync.
CHECKSUM_TYPES = ("sha256", "sha512", "sha384", "sha224", "sha1", "md5")


@dataclass
class TreeFacts:
    family: str
    version: str
    arch: str
    images: dict  # key (kernel, initrd, boot.iso, ...) -> path, for the tree's arch
    stage2: str | None
    checksums: dict  # path -> (algorithm, hex)
    warnings: list = field(default_factory=list)


def _looks_like_html(text):
    head = text.lstrip()[:512].lower()
    return head.startswith("<") or "<html" in head


def parse(text, where):
    """Facts of a .treeinfo; DnfError when it is not one, or when a value breaks its grammar."""
    return _validated(_read(text, where), where)


def _validated(facts, where):
    """Lenient about sections, never about values: every value must match its grammar.

    A multi-line value, a path with spaces (an argument smuggled onto a kernel
    line) or a path that leaves the tree fails the sync, naming the key.
    """
    try:
        grammar.check(grammar.RELEASE, facts.version, f"{where}: [release] version")
        grammar.check(grammar.ARCH, facts.arch, f"{where}: [tree] arch")
        grammar.check(grammar.FAMILY, facts.family, f"{where}: [release] name")
        for key, path in facts.images.items():
            grammar.tree_path(path, f"{where}: [images-{facts.arch}] {key}")
        if facts.stage2 is not None:
            grammar.tree_path(facts.stage2, f"{where}: [stage2] mainimage")
        for path, (algorithm, digest) in facts.checksums.items():
            grammar.tree_path(path, f"{where}: [checksums] entry")
            if algorithm not in CHECKSUM_TYPES:
                raise DnfError(
                    f"{where}: [checksums] {path} uses checksum type {algorithm!r}; "
                    f"known types: {', '.join(CHECKSUM_TYPES)}"
                )
            if not all(c in "0123456789abcdef" for c in digest.lower()) or not digest:
                raise DnfError(f"{where}: [checksums] {path} has a malformed {algorithm} digest")
    except grammar.GrammarError as exc:
        raise DnfError(str(exc)) from None
    return facts


def _read(text, where):
    if _looks_like_html(text):
        raise DnfError(f"{where} is an HTML page, not a .treeinfo")
    try:
        info = productmd.treeinfo.TreeInfo()
        info.loads(text)
        arch = info.tree.arch
        return TreeFacts(
            family=info.release.name,
            version=info.release.version,
            arch=arch,
            images=dict(info.images.images.get(arch, {})),
            stage2=info.stage2.mainimage or None,
            checksums=dict(info.checksums.checksums),
        )
    except Exception as exc:  # productmd raises many types for a malformed file
        facts = _parse_loosely(text, where)
        facts.warnings.insert(
            0, f"{where} is not a valid productmd treeinfo ({exc}); read leniently"
        )
        return facts


def _parse_loosely(text, where):
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        parser.read_string(text)
    except configparser.Error as exc:
        raise DnfError(f"{where} is not an INI file: {exc}") from None

    def get(section, key):
        return parser.get(section, key, fallback="").strip()

    version = get("release", "version") or get("general", "version")
    arch = get("tree", "arch") or get("general", "arch")
    family = get("release", "name") or get("general", "family") or "Unknown"
    if not version or not arch:
        raise DnfError(f"{where} names no release version or architecture")
    images_section = f"images-{arch}"
    images = dict(parser.items(images_section)) if parser.has_section(images_section) else {}
    checksums = {}
    if parser.has_section("checksums"):
        for path, value in parser.items("checksums"):
            algorithm, _, digest = value.partition(":")
            if not digest:
                raise DnfError(f"{where}: [checksums] {path} is not ALGORITHM:HEX")
            checksums[path] = (algorithm.strip().lower(), digest.strip().lower())
    return TreeFacts(
        family=family,
        version=version,
        arch=arch,
        images=images,
        stage2=get("stage2", "mainimage") or None,
        checksums=checksums,
    )
