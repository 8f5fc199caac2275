"""Base64 as signature formats write it, decoded strictly."""

import base64
import binascii
from gettext import gettext as _

from .errors import SignatureError


def decode_base64(value, what, *, protobuf=False):
    """The bytes of a base64 string, or ``SignatureError`` naming ``what``.

    Standard alphabet with padding (cosign's annotation). With ``protobuf``, as
    protobuf JSON readers accept for ``bytes`` fields: the URL-safe alphabet and
    missing padding too (sigstore bundles).
    """
    if not isinstance(value, str) or not value:
        raise SignatureError(_("{what} is missing or not a string").format(what=what))
    text = value
    if protobuf:
        text = text.replace("-", "+").replace("_", "/")
        text += "=" * (-len(text) % 4)
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise SignatureError(_("{what} is not valid base64").format(what=what)) from None
