"""Read a dnf tree's .treeinfo with productmd, tolerating the defects real trees have.

There is one reader: ``TolerantTreeInfo``, a productmd ``TreeInfo`` whose parts
fall back where productmd is strict about things an installer does not need
(a missing or empty variant list, a missing ``[tree]`` timestamp or platform
list, ``[release]`` only in the legacy ``[general]`` section, a wrong header
type, ``%`` in a value, duplicate keys, upper-case checksums). Each fallback
is recorded and becomes a warning of the sync. productmd's own value checks are
replaced by the stricter grammars of ``netboot/grammar.py``, which name the key
whose value fails.
"""

import configparser
import re
from dataclasses import dataclass, field
from gettext import gettext as _

import productmd.common
import productmd.treeinfo

from ..netboot import grammar
from .errors import DnfError

# Algorithms a [checksums] entry may name; anything else fails the sync.
CHECKSUM_TYPES = ("sha256", "sha512", "sha384", "sha224", "sha1", "md5")
# Bare digests (no "ALGORITHM:") productmd reads, by length.
_BARE_DIGESTS = {32: "md5", 40: "sha1", 64: "sha256"}
_HEADER_VERSION = re.compile(r"\d+\.\d+")
_CURRENT = "1.2"  # the productmd treeinfo format a header-less modern file is read as


@dataclass
class TreeFacts:
    """What a sync needs from a .treeinfo, checked against the grammars.

    The one shape the dnf source plans from, whatever the upstream file looked like.
    """

    family: str
    version: str
    arch: str
    images: dict  # key (kernel, initrd, boot.iso, ...) -> path, for the tree's arch
    stage2: str | None
    checksums: dict  # path -> (algorithm, lower-case hex)
    warnings: list = field(default_factory=list)


class _Parser(productmd.common.SortedConfigParser):
    """productmd's parser, minus two strictures real files break.

    No ``%`` interpolation (a URL-encoded path is a value, not a reference), and
    a duplicate section or key keeps its last value instead of failing the file.
    """

    def __init__(self):
        super().__init__(interpolation=None, strict=False)


class _Unvalidated:
    """A productmd part whose values are checked by ``netboot/grammar.py`` instead.

    productmd's validators reject values with messages that do not name the
    key (and accept some that our grammars refuse), so they are switched off.
    """

    def validate(self):
        """Do nothing: ``parse`` checks every value used against its grammar."""


class _Header(_Unvalidated, productmd.treeinfo.Header):
    """[header]: an unknown type or version is a quirk, not a failure."""

    def deserialize(self, parser):
        """Read the format version; a file without [header] is legacy (0.0) or modern."""
        quirks = self.parent.quirks
        if not parser.has_section(self._section):
            if parser.has_section("general") or not parser.has_section("release"):
                self.version = "0.0"  # pre-productmd: productmd's legacy readers apply
            else:
                self.version = _CURRENT
                quirks.append(_("it has no [header] section"))
            return
        version = parser.get(self._section, "version", fallback="")
        if not _HEADER_VERSION.fullmatch(version):
            quirks.append(
                _("[header] version {version!r} is not MAJOR.MINOR").format(version=version)
            )
            version = _CURRENT
        self.version = version
        if self.version_tuple >= (1, 1):
            kind = parser.get(self._section, "type", fallback=None)
            if kind != self.metadata_type:
                quirks.append(
                    _("[header] type is {kind!r}, not {expected!r}").format(
                        kind=kind, expected=self.metadata_type
                    )
                )


class _Release(_Unvalidated, productmd.treeinfo.Release):
    """[release]: falls back to the legacy [general] family and version."""

    def deserialize(self, parser):
        """productmd's reading, else whatever name and version the file has anywhere."""
        try:
            super().deserialize(parser)
            return
        except (configparser.Error, ValueError) as exc:
            problem = exc
        self.is_layered = False
        self.name = parser.option_lookup(
            [("release", "name"), ("product", "name"), ("general", "family")]
        )
        self.version = parser.option_lookup(
            [("release", "version"), ("product", "version"), ("general", "version")]
        )
        self.short = parser.option_lookup([("release", "short"), ("product", "short")], self.name)
        if self.name is None:
            self.name = "Unknown"
        self._metadata.quirks.append(
            _("its release is incomplete ({problem})").format(problem=problem)
        )


class _BaseProduct(_Unvalidated, productmd.treeinfo.BaseProduct):
    """[base_product] of a layered product: unused here, so never fatal."""

    def deserialize(self, parser):
        """productmd's reading; a broken section is a quirk."""
        try:
            super().deserialize(parser)
        except (configparser.Error, ValueError) as exc:
            self._metadata.quirks.append(
                _("its base product cannot be read ({problem})").format(problem=exc)
            )


class _Tree(_Unvalidated, productmd.treeinfo.Tree):
    """[tree]: the arch is required; platforms and timestamp get defaults."""

    def deserialize(self, parser):
        """productmd's reading, else arch from [tree] or [general] and defaults for the rest."""
        try:
            super().deserialize(parser)
            return
        except (configparser.Error, ValueError) as exc:
            problem = exc
        self.arch = parser.option_lookup([("tree", "arch"), ("general", "arch")])
        platforms = parser.option_lookup([("tree", "platforms"), ("general", "platforms")], "")
        self.platforms = {p for p in platforms.split(",") if p} | ({self.arch} - {None})
        self.build_timestamp = -1
        self._metadata.quirks.append(
            _("its [tree] is incomplete ({problem})").format(problem=problem)
        )


class _Variants(_Unvalidated, productmd.treeinfo.Variants):
    """[variant-*]: unused to boot a tree, so a missing or broken variant is a quirk."""

    def deserialize(self, parser):
        """productmd's reading; without a usable variant the tree has none."""
        try:
            super().deserialize(parser)
        except Exception as exc:  # productmd raises many types; variants do not boot a tree
            self.variants = {}
            self._metadata.quirks.append(
                _("it names no usable variant ({problem})").format(problem=exc)
            )


class _Images(_Unvalidated, productmd.treeinfo.Images):
    """[images-*]: an image platform missing from [tree] platforms is tolerated."""


class _Stage2(_Unvalidated, productmd.treeinfo.Stage2):
    """[stage2]: paths are checked by the grammar, naming the key."""


class _Checksums(_Unvalidated, productmd.treeinfo.Checksums):
    """[checksums]: algorithm and digest in lower case; a bare digest typed by its length."""

    def deserialize(self, parser):
        """Read ``path = ALGORITHM:HEX`` (or a bare md5/sha1/sha256 hex digest)."""
        if not parser.has_section(self._section):
            return
        where = self._metadata.where
        for path, value in parser.items(self._section):
            algorithm, colon, digest = value.strip().partition(":")
            if not colon:
                algorithm, digest = _BARE_DIGESTS.get(len(value.strip())), value.strip()
                if algorithm is None:
                    raise DnfError(
                        _("{where}: [checksums] {path} is not ALGORITHM:HEX").format(
                            where=where, path=path
                        )
                    )
            self.checksums[self._fix_path(path)] = (
                algorithm.strip().lower(),
                digest.strip().lower(),
            )


class _Media(_Unvalidated, productmd.treeinfo.Media):
    """[media]: disc numbers are unused here, so garbage in them is a quirk."""

    def deserialize(self, parser):
        """productmd's reading; unreadable disc numbers are dropped."""
        try:
            super().deserialize(parser)
        except (configparser.Error, ValueError) as exc:
            self.discnum = self.totaldiscs = None
            self._metadata.quirks.append(
                _("its [media] cannot be read ({problem})").format(problem=exc)
            )


class TolerantTreeInfo(_Unvalidated, productmd.treeinfo.TreeInfo):
    """productmd's TreeInfo for upstream trees: strict where booting needs it, lenient elsewhere.

    pulp_rpm's ``PulpTreeInfo`` idea: productmd reads the file, and the parts
    it is strict about for no booting reason fall back instead of failing;
    ``quirks`` lists each fallback taken. ``where`` names the file in errors.
    """

    def __init__(self, where=".treeinfo"):
        super().__init__()
        self.where = where
        self.quirks = []
        self.header = _Header(self, "productmd.treeinfo")
        self.release = _Release(self)
        self.base_product = _BaseProduct(self)
        self.tree = _Tree(self)
        self.variants = _Variants(self)
        self.checksums = _Checksums(self)
        self.images = _Images(self)
        self.stage2 = _Stage2(self)
        self.media = _Media(self)

    def parse_file(self, f):
        """An INI parser over ``f``; DnfError when the text is not INI at all."""
        f.seek(0)
        parser = _Parser()
        try:
            parser.read_file(f)
        except configparser.Error as exc:
            raise DnfError(
                _("{where} is not an INI file: {problem}").format(where=self.where, problem=exc)
            ) from None
        return parser


def _looks_like_html(text):
    head = text.lstrip()[:512].lower()
    return head.startswith("<") or "<html" in head


def parse(text, where):
    """Facts of a .treeinfo; DnfError when it is not one, or when a value breaks its grammar.

    ``where`` names the file (e.g. its URL) in every message.
    """
    return _validated(_read(text, where), where)


def _read(text, where):
    if _looks_like_html(text):
        raise DnfError(_("{where} is an HTML page, not a .treeinfo").format(where=where))
    info = TolerantTreeInfo(where)
    try:
        info.loads(text)
    except DnfError:
        raise
    except Exception as exc:  # productmd raises many types for a malformed file
        raise DnfError(
            _("{where} cannot be read as a .treeinfo: {problem}").format(where=where, problem=exc)
        ) from None
    version, arch = info.release.version, info.tree.arch
    if not version or not arch:
        raise DnfError(_("{where} names no release version or architecture").format(where=where))
    return TreeFacts(
        family=info.release.name,
        version=version,
        arch=arch,
        images=dict(info.images.images.get(arch, {})),
        stage2=info.stage2.mainimage or None,
        checksums=dict(info.checksums.checksums),
        warnings=[
            _("{where}: {quirk}; read leniently").format(where=where, quirk=quirk)
            for quirk in info.quirks
        ],
    )


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
                    _(
                        "{where}: [checksums] {path} uses checksum type {algorithm!r}; "
                        "known types: {known}"
                    ).format(
                        where=where,
                        path=path,
                        algorithm=algorithm,
                        known=", ".join(CHECKSUM_TYPES),
                    )
                )
            if not digest or not all(c in "0123456789abcdef" for c in digest):
                raise DnfError(
                    _("{where}: [checksums] {path} has a malformed {algorithm} digest").format(
                        where=where, path=path, algorithm=algorithm
                    )
                )
    except grammar.GrammarError as exc:
        raise DnfError(str(exc)) from None
    return facts
