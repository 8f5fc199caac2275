"""Who published an artifact: offline verification of publisher signatures.

A pure low layer (no Django, no pulpcore, no model): it parses the keys an admin
trusts (``keys``), reads simple-signing payloads (``simplesigning``) and verifies
cosign signatures (``cosign``), key-based sigstore bundles (``bundle``) and
containers/image OpenPGP signatures (``openpgp``), each giving a
``Verification`` or raising ``SignatureError``. Fetching signatures from a
registry or lookaside store is the sync's job.
"""

from .bundle import verify_bundle
from .cosign import verify_cosign, verify_payload_signature
from .errors import KeyBlockError, NotASignature, SignatureError
from .keys import OpenPgpKey, PemKey, TrustedKeys, parse_keys
from .openpgp import verify_detached, verify_message, verify_openpgp
from .result import Verification
from .simplesigning import Payload, check_payload, parse_payload, remote_repository, repository_of

__all__ = [
    "KeyBlockError",
    "NotASignature",
    "OpenPgpKey",
    "Payload",
    "PemKey",
    "SignatureError",
    "TrustedKeys",
    "Verification",
    "check_payload",
    "parse_keys",
    "parse_payload",
    "remote_repository",
    "verify_detached",
    "repository_of",
    "verify_bundle",
    "verify_cosign",
    "verify_message",
    "verify_openpgp",
    "verify_payload_signature",
]
