"""Read repodata (repomd.xml and the primary metadata) with memory bounded by constants.

Fedora Everything's primary metadata lists about 75,000 packages and inflates
to about 250 MiB. It is decompressed by ``decompress.Inflated`` (any of gzip,
xz, bzip2, zstd or none, capped at ``KICKSTART_MAX_PRIMARY_INFLATED_BYTES``
while it streams) and parsed by expat in 64 KiB pieces, keeping a few fields
of one package at a time and only the newest build of each wanted name.

What the parser holds does not depend on what upstream sends either: expat
buffers one unfinished token at most (a tag with its attributes, a comment),
and more than ``MAX_TOKEN_BYTES`` of it fails the read; text is kept only for
the fields used, each at most ``MAX_FIELD`` characters; elements nest at most
``MAX_DEPTH`` deep; at most ``MAX_NAMES`` distinct element and attribute names
(expat keeps each one); a DOCTYPE (entities) is refused. Text that is not kept (a
description of any length) streams through without being held. Each package
read is spent from the sync's ``repodata_entries`` budget.
"""

import pyexpat
from dataclasses import dataclass
from gettext import gettext as _

import rpm_rs
from django.conf import settings

from .. import decompress
from ..budget import spend
from .errors import DnfError

MAX_TOKEN_BYTES = 256 * 1024  # one tag with its attributes, a comment or a PI, unfinished
MAX_FIELD = 4096  # characters of one value kept (name, arch, version, href, checksum, ...)
MAX_DEPTH = 16  # primary metadata nests 5 deep (metadata/package/format/rpm:provides/rpm:entry)
# expat keeps every distinct element and attribute name it meets for the whole document
# (about 100 bytes each): repodata uses a few dozen.
MAX_NAMES = 1024
MAX_NAME = 256  # characters of one element or attribute name
_FEED = 64 * 1024  # decompressed bytes handed to expat at a time
_ENTRIES_BATCH = 1000  # packages counted against the budget at a time
_INFLATED = "KICKSTART_MAX_PRIMARY_INFLATED_BYTES"
_REPOMD = "repodata/repomd.xml"
_TEXT_FIELDS = frozenset(("name", "arch", "checksum"))  # elements whose text is kept


def compare_evr(a, b):
    """Order two (epoch, version, release) triples as RPM does: -1, 0 or 1.

    The newest build of a boot package is the one dnf would install, so the
    order is rpm-rs's ``Evr`` (rpmvercmp, as pulp_rpm uses it): "~" sorts before
    anything, "^" after the base version, digits by value, letters before digits.
    """
    left, right = _evr(a), _evr(b)
    return (left > right) - (left < right)


def _evr(triple):
    epoch, version, release = triple
    return rpm_rs.Evr(str(int(epoch or 0)), version or "", release or "")


@dataclass(frozen=True)
class PackageRef:
    """A package chosen from the primary metadata: what to download and how to check it."""

    name: str
    epoch: str
    version: str
    release: str
    arch: str
    location: str
    checksum_type: str
    checksum: str
    size: int

    @property
    def nevra(self):
        """name-[epoch:]version-release.arch, as dnf prints it (epoch 0 left out)."""
        epoch = f"{self.epoch}:" if self.epoch not in ("", "0", None) else ""
        return f"{self.name}-{epoch}{self.version}-{self.release}.{self.arch}"

    @property
    def evr(self):
        """The (epoch, version, release) triple ``compare_evr`` orders."""
        return (self.epoch or "0", self.version, self.release)


class _Refused(Exception):
    """XML that this module will not hold in memory or does not accept; the message says why."""


def _expat():
    """An expat parser that reads UTF-8, interns nothing and refuses a DOCTYPE (no entities).

    Repodata is UTF-8 (createrepo_c writes nothing else): the encoding a document
    declares is ignored, since for one expat does not know pyexpat would look up a
    Python codec by that name (LookupError, ValueError or UnicodeError escaped for
    "EBCDIC", "UTF-7" or "idna"). pyexpat interns every element and attribute name
    by default: a document of distinct names would grow that table without bound.
    """
    parser = pyexpat.ParserCreate("UTF-8", intern=None)
    parser.ordered_attributes = True

    def doctype(*_args):
        raise _Refused(_("it has a DOCTYPE; repodata never declares one"))

    parser.StartDoctypeDeclHandler = doctype
    return parser


def _feed(parser, pull):
    """Hand expat the pieces ``pull`` returns until b"", holding at most MAX_TOKEN_BYTES unparsed.

    expat keeps an unfinished token (a tag with its attributes, a comment) until
    its end arrives; ``CurrentByteIndex`` says where the parsed part ends.
    """
    fed = 0
    while True:
        data = pull(_FEED)
        if not data:
            break
        parser.Parse(data, False)
        fed += len(data)
        if fed - max(parser.CurrentByteIndex, 0) > MAX_TOKEN_BYTES:
            raise _Refused(
                _("one tag, comment or declaration is longer than {limit} bytes").format(
                    limit=MAX_TOKEN_BYTES
                )
            )
    parser.Parse(b"", True)


def _read(parser, path, where, name, compression, setting):
    """Run ``parser`` over one repodata file, capped at ``setting``; every failure is a DnfError.

    ``name`` is the file as messages call it; ``compression`` None sniffs it.
    """
    limit = getattr(settings, setting)
    try:
        with open(path, "rb") as fh:
            if compression is None:
                compression = decompress.sniff(fh.read(8))
                fh.seek(0)
            _feed(parser, decompress.Inflated(fh, compression, limit, setting).pull)
    except decompress.TooLarge:
        if compression == "identity":
            message = _("{where}: {name} is larger than {setting} ({limit} bytes)")
        else:
            message = _("{where}: {name} decompresses to more than {setting} ({limit} bytes)")
        raise DnfError(
            message.format(where=where, name=name, setting=setting, limit=limit)
        ) from None
    except decompress.Corrupt as exc:
        raise DnfError(
            _("{where}: {name} cannot be decompressed ({compression}): {problem}").format(
                where=where, name=name, compression=compression, problem=exc
            )
        ) from None
    except _Refused as exc:
        raise DnfError(
            _("{where}: {name} cannot be parsed: {problem} (line {line})").format(
                where=where, name=name, problem=exc, line=parser.CurrentLineNumber
            )
        ) from None
    except pyexpat.ExpatError as exc:
        raise DnfError(
            _("{where}: {name} cannot be parsed: {problem}").format(
                where=where, name=name, problem=exc
            )
        ) from None


def _attributes(flat):
    """``{name: value}`` of expat's ordered attribute list; values longer than MAX_FIELD refused."""
    found = dict(zip(flat[::2], flat[1::2], strict=True))
    for key, value in found.items():
        if len(value) > MAX_FIELD:
            raise _Refused(
                _("attribute {key} is longer than {limit} characters").format(
                    key=key[:64], limit=MAX_FIELD
                )
            )
    return found


def _check_root(tag, expected):
    if tag != expected:
        raise _Refused(
            _("its root element is <{tag}>, not <{expected}>").format(
                tag=tag[:64], expected=expected
            )
        )


def _too_deep():
    return _Refused(_("elements nest more than {limit} deep").format(limit=MAX_DEPTH))


def _name_guard():
    """The set of element and attribute names met so far, and the function that adds to it.

    expat stores each distinct name for the rest of the document, so a document of
    ever-new names would grow the parser without bound: at most MAX_NAMES names of
    at most MAX_NAME characters are accepted. Handlers call ``learn`` only when a
    name is not in the set yet, which keeps the common case to one set lookup.
    """
    names = set()

    def learn(tag, attrs):
        for name in (tag, *attrs[::2]):
            if name in names:
                continue
            if len(name) > MAX_NAME:
                raise _Refused(_("a name is longer than {limit} characters").format(limit=MAX_NAME))
            if len(names) >= MAX_NAMES:
                raise _Refused(
                    _("it uses more than {limit} distinct element and attribute names").format(
                        limit=MAX_NAMES
                    )
                )
            names.add(name)

    return names, learn


def _text_collector(tag):
    """A CharacterDataHandler and the list it fills: at most MAX_FIELD characters of text."""
    pieces = []
    size = 0

    def collect(data):
        nonlocal size
        size += len(data)
        if size > MAX_FIELD:
            raise _Refused(
                _("<{tag}> holds more than {limit} characters").format(tag=tag, limit=MAX_FIELD)
            )
        pieces.append(data)

    return collect, pieces


def _hex(text):
    return bool(text) and all(c in "0123456789abcdefABCDEF" for c in text)


def primary_location(repomd_path, where):
    """The href of the primary metadata named by repomd.xml, and its checksum (type and value).

    repomd.xml is the repository's index; the primary metadata it names lists the
    packages. The first ``<data type="primary">`` counts; its checksum may be
    absent (None, None), as createrepo_c allows.
    """
    parser = _expat()
    record = {}
    depth = 0
    state = "before"  # -> "primary" inside the first primary record -> "after"
    text = None

    names, learn = _name_guard()

    def start(tag, attrs):
        nonlocal depth, state, text
        depth += 1
        if tag not in names or (attrs and not names.issuperset(attrs[::2])):
            learn(tag, attrs)
        if depth > MAX_DEPTH:
            raise _too_deep()
        if depth == 1:
            _check_root(tag, "repomd")
        elif depth == 2 and tag == "data" and state == "before":
            if _attributes(attrs).get("type") == "primary":
                state = "primary"
        elif depth == 3 and state == "primary":
            if tag == "location":
                record["href"] = _attributes(attrs).get("href")
            elif tag == "checksum":
                record["checksum_type"] = _attributes(attrs).get("type")
                parser.CharacterDataHandler, text = _text_collector(tag)

    def end(tag):
        nonlocal depth, state, text
        if depth == 3 and text is not None:
            record["checksum"] = "".join(text)
            text = None
            parser.CharacterDataHandler = None
        elif depth == 2 and state == "primary":
            state = "after"
        depth -= 1

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    # dnf reads repomd.xml uncompressed only.
    _read(parser, repomd_path, where, _REPOMD, "identity", "KICKSTART_MAX_REPOMD_BYTES")
    if state != "after":
        raise DnfError(
            _("{where}: {name} lists no primary metadata").format(where=where, name=_REPOMD)
        )
    if not record.get("href"):
        raise DnfError(
            _("{where}: {name} names no location for the primary metadata").format(
                where=where, name=_REPOMD
            )
        )
    checksum_type, checksum = record.get("checksum_type"), record.get("checksum")
    if checksum is not None and not (checksum_type and _hex(checksum)):
        raise DnfError(
            _("{where}: {name} gives the primary metadata a malformed checksum").format(
                where=where, name=_REPOMD
            )
        )
    return record["href"], checksum_type, checksum


def _package_ref(fields, what):
    """A PackageRef from a wanted package's fields; DnfError naming the package when one is bad."""
    package = f"{fields['name']}.{fields['arch']}"

    def bad(field):
        return DnfError(
            _("{what}: package {package} has a missing or malformed {field}").format(
                what=what, package=package, field=field
            )
        )

    version = fields.get("version") or {}
    epoch = version.get("epoch") or "0"
    if not (epoch.isascii() and epoch.isdigit() and len(epoch) <= 10):
        raise bad("epoch")
    for key in ("ver", "rel"):
        if not version.get(key):
            raise bad(f"version {key}")
    if not fields.get("href"):
        raise bad("location")
    if not fields.get("checksum_type") or not _hex(fields.get("checksum")):
        raise bad("checksum")
    size = fields.get("size") or ""
    if not (size.isascii() and size.isdigit() and len(size) <= 20):
        raise bad("size")
    return PackageRef(
        name=fields["name"],
        epoch=epoch,
        version=version["ver"],
        release=version["rel"],
        arch=fields["arch"],
        location=fields["href"],
        checksum_type=fields["checksum_type"],
        checksum=fields["checksum"],
        size=int(size),
    )


def newest_packages(primary_path, names, arches, where, href=None):
    """For each wanted name, the newest package of an acceptable arch (by RPM version order).

    Streams the primary metadata (any compression createrepo_c writes) and keeps
    one ``PackageRef`` per name, so memory does not grow with the repository.
    ``href`` (the file's location in repomd.xml) names it in errors when given.
    """
    wanted = set(names)
    arches = set(arches)
    name = href or _("the primary metadata")
    what = _("{where}: {name}").format(where=where, name=name)
    parser = _expat()
    best = {}
    depth = 0
    fields = None  # the kept values of the package being read
    text_tag = None  # the field whose text is being collected, and its pieces
    text = None
    unspent = 0  # packages read and not yet spent from the sync's budget

    names, learn = _name_guard()

    def start(tag, attrs):
        nonlocal depth, fields, text_tag, text
        depth += 1
        if tag not in names or (attrs and not names.issuperset(attrs[::2])):
            learn(tag, attrs)
        if depth > 3:
            if depth > MAX_DEPTH:
                raise _too_deep()
        elif depth == 3:
            if fields is None:
                return
            if tag in _TEXT_FIELDS:
                if tag == "checksum":
                    fields["checksum_type"] = _attributes(attrs).get("type")
                parser.CharacterDataHandler, text = _text_collector(tag)
                text_tag = tag
            elif tag == "version":
                fields["version"] = _attributes(attrs)
            elif tag == "location":
                fields["href"] = _attributes(attrs).get("href")
            elif tag == "size":
                fields["size"] = _attributes(attrs).get("package")
        elif depth == 2:
            if tag == "package":
                fields = {}
        else:
            _check_root(tag, "metadata")

    def end(tag):
        nonlocal depth, fields, text, unspent
        if depth == 3:
            if text is not None:
                fields[text_tag] = "".join(text)
                text = None
                parser.CharacterDataHandler = None
        elif depth == 2 and fields is not None:
            unspent += 1
            if unspent == _ENTRIES_BATCH:
                spend("repodata_entries", unspent, what)
                unspent = 0
            package_name = fields.get("name")
            if package_name in wanted and fields.get("arch") in arches:
                ref = _package_ref(fields, what)
                current = best.get(package_name)
                if current is None or compare_evr(ref.evr, current.evr) > 0:
                    best[package_name] = ref
            fields = None
        depth -= 1

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    _read(parser, primary_path, where, name, None, _INFLATED)
    spend("repodata_entries", unspent, what)
    return best
