"""The one error of the signature layer: a signature or key that cannot be trusted."""


class SignatureError(ValueError):
    """Why a signature did not verify, or why a key text cannot be used.

    A sync turns it into a failure naming the tag and manifest digest; the remote
    serializer turns a ``KeyBlockError`` into an HTTP 400.
    """


class KeyBlockError(SignatureError):
    """A block of the remote's ``signature_keys`` that cannot be used.

    ``number`` (from 1, or None for text outside any block) and ``kind`` ("PEM",
    "OpenPGP") name the block, so the admin knows which one to fix.
    """

    def __init__(self, message, number=None, kind=None):
        super().__init__(message)
        self.number = number
        self.kind = kind


class NotASignature(SignatureError):
    """A verified statement about a digest that is not a signature of it (an attestation)."""
