"""The registry manifest that carried a signature, kept so a push can copy it along.

A low layer like the rest of ``netboot``: no Django, no pulpcore.

A cosign signature lives in the manifest tagged ``sha256-<hex>.sig``; a sigstore bundle
in a referrer manifest whose ``subject`` is the signed digest. A sync that verified one
keeps that manifest exactly as sent and every blob it names (small: each was read under
KICKSTART_MAX_SIGNATURE_BYTES), as a JSON ``carrier``:

``{"reference": tag or null, "media_type": ..., "manifest": text, "blobs": {digest: base64}}``

``reference`` is the cosign tag; a referrer has none (it is pushed by digest, and a
registry lists it by its subject). ``check`` holds every carrier wherever one is read
(an import, a replica's trees.json, a push): the manifest names exactly the blobs it
carries, each blob and the manifest are their digests' bytes, and it belongs to the
digest it is said to sign, so a carried record cannot make a push write anything else.
"""

import base64
import binascii
import hashlib
import json
from gettext import gettext as _

from . import grammar

MAX_BLOBS = 64  # config and layers of one carrier manifest
# No carried blob is larger than this, whatever a setting says (a sync reads each under
# KICKSTART_MAX_SIGNATURE_BYTES, which callers with settings pass instead).
MAX_BLOB_BYTES = 4 * 1024 * 1024
MAX_KEPT_BYTES = 4 * 1024 * 1024  # a manifest with its blobs, however it arrives
EMPTY_CONFIG_DIGEST = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
EMPTY_CONFIG_BYTES = b"{}"


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def cosign_tag(digest):
    """The tag cosign stores the signatures of ``digest`` under: ``sha256-<hex>.sig``."""
    return "sha256-" + digest.split(":", 1)[1] + ".sig"


def descriptors(document):
    """The config and layer descriptors a manifest names (dicts with a ``digest``)."""
    if not isinstance(document, dict):
        return []
    found = []
    config = document.get("config")
    if isinstance(config, dict):
        found.append(config)
    layers = document.get("layers")
    if isinstance(layers, list):
        found.extend(layer for layer in layers if isinstance(layer, dict))
    return found


def make(raw, media_type, blobs, reference=None):
    """A carrier of manifest ``raw`` (bytes) with ``blobs`` ({digest: bytes}).

    The empty config needs no copy: its bytes are known.
    """
    return {
        "reference": reference,
        "media_type": media_type,
        "manifest": raw.decode("utf-8"),
        "blobs": {
            digest: base64.b64encode(data).decode("ascii")
            for digest, data in sorted(blobs.items())
            if digest != EMPTY_CONFIG_DIGEST
        },
    }


def check(carrier, signed_digest, max_blob_bytes=MAX_BLOB_BYTES):
    """The carrier as (manifest bytes, media type, reference, {digest: bytes}), or ValueError.

    ``signed_digest`` is the digest the signature record covers.
    """
    if not isinstance(carrier, dict) or set(carrier) != {
        "reference",
        "media_type",
        "manifest",
        "blobs",
    }:
        raise ValueError(_("a signature carrier has reference, media_type, manifest and blobs"))
    media_type, text, blobs = carrier["media_type"], carrier["manifest"], carrier["blobs"]
    if not isinstance(media_type, str) or not grammar.matches(grammar.MEDIA_TYPE, media_type):
        raise ValueError(_("the carrier's media type is not a media type"))
    if not isinstance(text, str) or not isinstance(blobs, dict) or len(blobs) > MAX_BLOBS:
        raise ValueError(_("the carrier's manifest or blobs are malformed"))
    raw = text.encode("utf-8")
    if len(raw) + sum(len(encoded) for encoded in blobs.values()) > MAX_KEPT_BYTES:
        raise ValueError(_("the carrier is larger than 4 MiB"))
    try:
        document = json.loads(raw)
    except (ValueError, RecursionError):
        raise ValueError(_("the carrier's manifest is not JSON")) from None
    decoded = {}
    for digest, encoded in blobs.items():
        if not isinstance(encoded, str) or not grammar.matches(grammar.DIGEST, digest):
            raise ValueError(_("a carrier blob is not named by its sha256 digest"))
        try:
            data = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError(_("a carrier blob is not base64")) from None
        if len(data) > max_blob_bytes or sha256(data) != digest:
            raise ValueError(
                _("carrier blob {digest} is not the bytes of its digest").format(digest=digest)
            )
        decoded[digest] = data
    named = {}
    for descriptor in descriptors(document):
        digest = descriptor.get("digest")
        if digest == EMPTY_CONFIG_DIGEST:
            named[digest] = EMPTY_CONFIG_BYTES
        elif digest in decoded:
            named[digest] = decoded[digest]
        else:
            raise ValueError(
                _("the carrier's manifest names blob {digest}, which it does not carry").format(
                    digest=str(digest)[:80]
                )
            )
        if descriptor.get("size") != len(named[digest]):
            raise ValueError(_("carrier blob {digest}: wrong size").format(digest=digest))
    if set(decoded) - set(named):
        raise ValueError(_("the carrier holds blobs its manifest does not name"))
    reference = carrier["reference"]
    if reference is None:
        subject = document.get("subject") if isinstance(document, dict) else None
        if not isinstance(subject, dict) or subject.get("digest") != signed_digest:
            raise ValueError(
                _("the carrier's referrer does not name {digest} as its subject").format(
                    digest=signed_digest
                )
            )
    elif reference != cosign_tag(signed_digest):
        raise ValueError(
            _("the carrier's tag is not the cosign tag of {digest}").format(digest=signed_digest)
        )
    return raw, media_type, reference, named
