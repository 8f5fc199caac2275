"""Registry reads a sync needs: list tags, fetch manifests, and name blob URLs.

Also the transport half of publisher signatures: cosign signatures under the
``sha256-<hex>.sig`` tag, OCI 1.1 referrers (API or tag schema) and a
containers-style lookaside store. These only fetch (capped, digest-checked);
app/signatures/ decides whether what was fetched is a valid signature.

Every failure is turned into a RegistryError whose message names the registry,
repository and the tag or digest involved, so a failed task says what to fix; the
reason a request failed is upstream_errors.py's, the same for every source.
"""

import hashlib
import json
import logging
from dataclasses import dataclass, field, replace
from gettext import gettext as _
from urllib.parse import quote, urljoin, urlparse

from django.conf import settings

from ..budget import spend
from ..downloads import _shown, cap
from ..fetch_policy import FetchRefused
from ..netboot import artifact, carrier, grammar, jsondoc
from ..upstream_errors import REQUEST_ERRORS, message, status_of

log = logging.getLogger(__name__)

TAGS_PAGE_SIZE = 1000
MAX_TAG_PAGES = 1000

COSIGN_SIMPLESIGNING = "application/vnd.dev.cosign.simplesigning.v1+json"
COSIGN_SIGNATURE = "dev.cosignproject.cosign/signature"
COSIGN_BUNDLE = "dev.sigstore.cosign/bundle"
COSIGN_CERTIFICATE = "dev.sigstore.cosign/certificate"
COSIGN_CHAIN = "dev.sigstore.cosign/chain"
SIGSTORE_BUNDLE_V03 = "application/vnd.dev.sigstore.bundle.v0.3+json"
SIGSTORE_BUNDLE_TYPES = (SIGSTORE_BUNDLE_V03,)
# At most this many signatures (cosign layers, referrers, lookaside files) per
# manifest: more fails the read rather than silently dropping some.
MAX_SIGNATURES = 16
MAX_REFERRER_PAGES = 100


class RegistryError(Exception):
    """A registry read failed; the message is safe to show (no credentials)."""


@dataclass(frozen=True)
class Fetched:
    """A manifest or index as the registry sent it, with the digest of its raw bytes."""

    raw: bytes
    media_type: str
    digest: str


@dataclass(frozen=True)
class CosignSignature:
    """One cosign signature layer under the ``sha256-<hex>.sig`` tag, as fetched.

    ``payload`` is the simplesigning JSON exactly as stored (its digest matched the
    layer descriptor); ``signature`` the base64 string of the
    ``dev.cosignproject.cosign/signature`` annotation; ``annotations`` all of the
    layer's annotations; ``manifest_digest`` the digest of the ``.sig`` manifest.
    Nothing here is verified yet.
    """

    payload: bytes
    signature: str
    annotations: dict
    layer_digest: str
    manifest_digest: str
    carrier: dict | None = None  # the .sig manifest and its blobs (netboot/carrier.py)

    @property
    def bundle(self):
        """The ``dev.sigstore.cosign/bundle`` annotation (JSON text), if any."""
        return self.annotations.get(COSIGN_BUNDLE)

    @property
    def certificate(self):
        """The ``dev.sigstore.cosign/certificate`` annotation (PEM text), if any."""
        return self.annotations.get(COSIGN_CERTIFICATE)


@dataclass(frozen=True)
class Referrer:
    """One layer of an OCI referrer of a manifest (e.g. a sigstore bundle), as fetched.

    ``manifest_digest`` is the referrer manifest's digest, ``artifact_type`` its
    artifactType (or config media type), ``media_type`` and ``layer_digest`` the
    layer's, ``data`` the layer's bytes (digest-checked). ``via`` says how it was
    found: ``"api"`` (the referrers API) or ``"tag"`` (the referrers tag schema).
    """

    manifest_digest: str
    artifact_type: str
    media_type: str
    data: bytes
    layer_digest: str
    annotations: dict = field(default_factory=dict)
    via: str = "api"
    carrier: dict | None = None  # the referrer manifest and its blobs (netboot/carrier.py)


@dataclass(frozen=True)
class LookasideSignature:
    """One ``signature-N`` file of a lookaside store (``number`` is N, from 1), as fetched."""

    number: int
    url: str
    data: bytes


def _hex_of(digest):
    """The hex part of a sha256 digest; anything else is a caller's mistake."""
    if not isinstance(digest, str) or not grammar.matches(grammar.DIGEST, digest):
        raise ValueError(_("not a sha256 digest: {digest!r}").format(digest=digest))
    return digest.split(":", 1)[1]


def cosign_tag(digest):
    """The tag cosign stores the signatures of a manifest under: ``sha256-<hex>.sig``."""
    return f"sha256-{_hex_of(digest)}.sig"


def referrers_tag(digest):
    """The OCI 1.1 referrers tag schema's tag for a manifest: ``sha256-<hex>``."""
    return f"sha256-{_hex_of(digest)}"


def lookaside_url(base_url, repository, digest, number):
    """``<base>/<repository>@sha256=<hex>/signature-<number>`` (containers' lookaside layout)."""
    return "{base}/{repository}@sha256={hex}/signature-{number}".format(
        base=base_url.rstrip("/"),
        repository=repository.strip("/"),
        hex=_hex_of(digest),
        number=int(number),
    )


def artifact_type_of(document):
    """A manifest's artifactType, or its config's media type when it has none (OCI 1.1)."""
    declared = document.get("artifactType")
    if isinstance(declared, str) and declared:
        return declared
    config = document.get("config")
    media_type = config.get("mediaType") if isinstance(config, dict) else None
    return media_type if isinstance(media_type, str) else ""


def matching_referrers(index, artifact_types=None):
    """The descriptors of a referrers index whose artifactType is one of ``artifact_types``.

    ``artifact_types`` None or empty keeps every descriptor. Descriptors without a
    sha256 digest are left out (they could not be checked).
    """
    manifests = index.get("manifests") if isinstance(index, dict) else None
    found = []
    for descriptor in manifests if isinstance(manifests, list) else []:
        if not isinstance(descriptor, dict):
            continue
        digest = descriptor.get("digest")
        if not isinstance(digest, str) or not grammar.matches(grammar.DIGEST, digest):
            continue
        if artifact_types and descriptor.get("artifactType") not in artifact_types:
            continue
        found.append(descriptor)
    return found


def _layers_of(document):
    layers = document.get("layers") if isinstance(document, dict) else None
    if not isinstance(layers, list):
        return []
    return [layer for layer in layers if isinstance(layer, dict)]


def _annotations_of(descriptor):
    annotations = descriptor.get("annotations")
    if not isinstance(annotations, dict):
        return {}
    return {str(k): v for k, v in annotations.items() if isinstance(v, str)}


def _next_link(link_header, current_url):
    """The URL of the next page from an RFC 5988 ``Link: <...>; rel="next"`` header."""
    for part in (link_header or "").split(","):
        if 'rel="next"' in part or "rel=next" in part:
            target = part.split(";")[0].strip().strip("<>")
            try:
                return urljoin(current_url, target)
            except ValueError:
                return target  # not a URL: the fetch policy refuses it, naming the page
    return None


class RegistryClient:
    """Reads one upstream repository through a remote (its auth, proxy, TLS and limits)."""

    def __init__(self, remote):
        self.remote = remote
        self.base = remote.url.rstrip("/")
        self.name = remote.upstream_name.strip("/")
        self.where = _("registry {host} repository {name}").format(
            host=urlparse(self.base).netloc, name=self.name
        )

    def url(self, kind, reference):
        """The registry API URL of a manifest, blob or tag list of this repository."""
        return f"{self.base}/v2/{self.name}/{kind}/{reference}"

    def blob_url(self, digest):
        """Where a tree's file is fetched from (now or on demand) by its digest."""
        return self.url("blobs", digest)

    async def _download(
        self, url, what, limit, headers=None, missing_ok=False, digest=None, scope=None, head=False
    ):
        """Download through the remote's downloader; None for a 404 when ``missing_ok``.

        ``head``: only ask (HEAD); the result has the headers and no body.

        ``digest``: the sha256 the bytes must have (the downloader checks it, and the
        fetch policy may then follow a redirect to one of the remote's
        ``redirect_origins``). ``scope``: another base URL the admin configured (a
        lookaside store); requests there carry nothing that identifies the remote.
        """
        options = cap(limit)
        if digest:
            options["expected_digests"] = {"sha256": _hex_of(digest)}
        if scope:
            options["fetch_scope"] = scope
        downloader = self.remote.get_downloader(url=url, **options)
        try:
            result = await downloader.run(
                extra_data={"headers": headers or {}, "missing_ok": missing_ok, "head": head}
            )
            if missing_ok and result.path is None:
                return None
            return result
        except REQUEST_ERRORS as exc:
            if missing_ok and status_of(exc) == 404:
                return None
            raise RegistryError(message(self.where, what, exc, server=_("the registry"))) from None

    async def list_tags(self):
        """All tags of the repository, following ``Link`` pagination."""
        tags = []
        url = f"{self.url('tags', 'list')}?n={TAGS_PAGE_SIZE}"
        for _page in range(MAX_TAG_PAGES):
            result = await self._download(url, _("listing tags"), "KICKSTART_MAX_TAG_PAGE_BYTES")
            try:
                with open(result.path, "rb") as page:
                    document = json.load(page)
                page_tags = document.get("tags") or []
            except (ValueError, AttributeError, RecursionError) as exc:
                raise RegistryError(
                    _("{where}: the tag list is not valid JSON: {reason}").format(
                        where=self.where, reason=exc
                    )
                ) from None
            if not isinstance(page_tags, list):
                raise RegistryError(
                    _("{where}: the tag list's 'tags' is not a list").format(where=self.where)
                )
            spend("tags", len(page_tags), _("{where}: the tag list").format(where=self.where))
            tags.extend(str(tag) for tag in page_tags)
            url = _next_link(result.headers.get("Link"), url)
            if not url:
                return tags
            self._same_registry(url, _("the tag list"))
        raise RegistryError(
            _("{where}: the tag list has more than {pages} pages").format(
                where=self.where, pages=MAX_TAG_PAGES
            )
        )

    async def get_manifest(self, reference, expected_digest=None, what=None, missing_ok=False):
        """Fetch a manifest or index by tag or digest and check its digest over the raw bytes.

        With ``missing_ok``, a reference the registry does not have (HTTP 404) gives None.
        """
        what = what or (
            _("tag {reference}").format(reference=reference)
            if expected_digest is None
            else _("manifest {reference}").format(reference=reference)
        )
        result = await self._download(
            self.url("manifests", reference),
            what,
            "KICKSTART_MAX_MANIFEST_BYTES",
            headers={"Accept": artifact.ACCEPT},
            missing_ok=missing_ok,
            digest=expected_digest,
        )
        if result is None:
            return None
        with open(result.path, "rb") as fetched:
            raw = fetched.read()
        actual = "sha256:" + hashlib.sha256(raw).hexdigest()
        announced = result.headers.get("Docker-Content-Digest")
        if expected_digest and actual != expected_digest:
            raise RegistryError(
                _(
                    "{where}: {what}: the registry sent bytes whose digest is {actual}, "
                    "not {expected}"
                ).format(where=self.where, what=what, actual=actual, expected=expected_digest)
            )
        if announced and announced.startswith("sha256:") and announced != actual:
            raise RegistryError(
                _(
                    "{where}: {what}: the registry announced digest {announced} "
                    "but sent bytes whose digest is {actual}"
                ).format(where=self.where, what=what, announced=announced, actual=actual)
            )
        media_type = artifact.media_type_of(raw, result.headers.get("Content-Type"))
        return Fetched(raw=raw, media_type=media_type, digest=actual)

    def _same_registry(self, url, what):
        """A next-page link must stay on the remote's registry (the fetch policy checks too).

        Checked here first so the error says that pages were being followed.
        """
        try:
            self.remote.download_factory.policy.admit(url)
        except FetchRefused:
            raise RegistryError(
                _(
                    "{where}: {what} continues on another origin ({host}); "
                    "only the remote's registry is followed"
                ).format(where=self.where, what=what, host=_shown(url))
            ) from None

    # -- publisher signatures (transport only; app/signatures/ verifies) --------------------

    def _error(self, what, reason):
        return RegistryError(
            _("{where}: {what}: {reason}").format(where=self.where, what=what, reason=reason)
        )

    def _json_of(self, fetched, what, kind):
        """The JSON object of a fetched manifest or index; ``kind`` is "manifest" or "index"."""
        try:  # read one way only: the bytes may be kept, pushed again, replicated
            document = jsondoc.load_object(fetched.raw)
        except jsondoc.NotJson as exc:
            raise self._error(what, str(exc)) from None
        is_index = fetched.media_type in artifact.INDEX_TYPES
        if (kind == "index") != is_index:
            raise self._error(
                what,
                _("expected an image {kind}, the registry sent {media_type}").format(
                    kind=_("index") if kind == "index" else _("manifest"),
                    media_type=fetched.media_type,
                ),
            )
        return document

    async def get_signature_blob(self, descriptor, what):
        """The bytes of a small blob (a signature payload, a bundle), capped and digest-checked.

        ``descriptor`` is the layer descriptor (``digest``, ``size``) from a manifest
        that was itself digest-checked; the bytes must match both.
        """
        digest = descriptor.get("digest")
        size = descriptor.get("size")
        if not isinstance(digest, str) or not grammar.matches(grammar.DIGEST, digest):
            raise self._error(
                what, _("the layer has no sha256 digest ({digest!r})").format(digest=digest)
            )
        limit = settings.KICKSTART_MAX_SIGNATURE_BYTES
        if isinstance(size, int) and size > limit:
            raise self._error(
                what,
                _(
                    "the layer says it is {size} bytes, larger than "
                    "KICKSTART_MAX_SIGNATURE_BYTES ({limit} bytes)"
                ).format(size=size, limit=limit),
            )
        spend("signatures", 1, what)
        result = await self._download(
            self.blob_url(digest), what, "KICKSTART_MAX_SIGNATURE_BYTES", digest=digest
        )
        with open(result.path, "rb") as fetched:
            data = fetched.read()
        actual = "sha256:" + hashlib.sha256(data).hexdigest()
        if actual != digest:
            raise self._error(
                what,
                _("the registry sent bytes whose digest is {actual}, not {expected}").format(
                    actual=actual, expected=digest
                ),
            )
        if isinstance(size, int) and len(data) != size:
            raise self._error(
                what,
                _("the registry sent {actual} bytes, the layer says {expected}").format(
                    actual=len(data), expected=size
                ),
            )
        return data

    async def cosign_signatures(self, manifest_digest):
        """The cosign signatures stored for a manifest under its ``sha256-<hex>.sig`` tag.

        No such tag (HTTP 404) gives an empty list. Every
        ``application/vnd.dev.cosign.simplesigning.v1+json`` layer of the tag's
        manifest becomes a CosignSignature; other layers are ignored.
        """
        tag = cosign_tag(manifest_digest)
        what = _("cosign signatures of {digest} (tag {tag})").format(
            digest=manifest_digest, tag=tag
        )
        fetched = await self.get_manifest(tag, what=what, missing_ok=True)
        if fetched is None:
            return []
        document = self._json_of(fetched, what, "manifest")
        layers = [
            layer
            for layer in _layers_of(document)
            if layer.get("mediaType") == COSIGN_SIMPLESIGNING
        ]
        if len(layers) > MAX_SIGNATURES:
            raise self._error(
                what,
                _("more than {count} signature layers; refusing to read them").format(
                    count=MAX_SIGNATURES
                ),
            )
        found = []
        for layer in layers:
            annotations = _annotations_of(layer)
            layer_what = _("cosign signature layer {layer} of {digest} (tag {tag})").format(
                layer=layer.get("digest"), digest=manifest_digest, tag=tag
            )
            signature = annotations.get(COSIGN_SIGNATURE)
            if not signature:
                raise self._error(
                    layer_what,
                    _("the layer has no {annotation} annotation").format(
                        annotation=COSIGN_SIGNATURE
                    ),
                )
            payload = await self.get_signature_blob(layer, layer_what)
            found.append(
                CosignSignature(
                    payload=payload,
                    signature=signature,
                    annotations=annotations,
                    layer_digest=layer["digest"],
                    manifest_digest=fetched.digest,
                )
            )
        if found:
            blobs = {item.layer_digest: item.payload for item in found}
            kept = await self._carrier(fetched, document, blobs, what, reference=tag)
            found = [replace(item, carrier=kept) for item in found]
        return found

    async def _carrier(self, fetched, document, blobs, what, reference=None):
        """The manifest that carried signatures, with every blob it names, for a push to
        copy (netboot/carrier.py); None when a blob it names cannot be read (too big,
        gone): the signatures still count, they just cannot be copied."""
        blobs = dict(blobs)
        room = settings.KICKSTART_MAX_KEPT_MANIFEST_BYTES - len(fetched.raw)
        room -= sum(len(data) for data in blobs.values())
        for descriptor in carrier.descriptors(document):
            digest = descriptor.get("digest")
            if digest in blobs or digest == carrier.EMPTY_CONFIG_DIGEST:
                continue
            size = descriptor.get("size")
            if not isinstance(size, int) or size > room:
                room = -1
                break
            blob_what = _("blob {digest} of {what}").format(digest=str(digest)[:80], what=what)
            try:
                blobs[digest] = await self.get_signature_blob(descriptor, blob_what)
            except RegistryError as exc:
                log.info("%s: not kept for copying: %s", what, exc)
                return None
            room -= len(blobs[digest])
        if room < 0:
            log.info("%s: not kept for copying: past KICKSTART_MAX_KEPT_MANIFEST_BYTES", what)
            return None
        try:
            kept = carrier.make(fetched.raw, fetched.media_type, blobs, reference=reference)
            ref_digest = self._signed_by(document, reference)
            carrier.check(kept, ref_digest, settings.KICKSTART_MAX_SIGNATURE_BYTES)
        except (ValueError, UnicodeDecodeError) as exc:
            log.info("%s: not kept for copying: %s", what, exc)
            return None
        return kept

    @staticmethod
    def _signed_by(document, reference):
        """The digest a carrier signs: the cosign tag's, or the referrer's subject."""
        if reference is not None:
            return "sha256:" + reference[len("sha256-") : -len(".sig")]
        subject = document.get("subject") if isinstance(document, dict) else None
        return subject.get("digest") if isinstance(subject, dict) else None

    async def _referrers_index(self, manifest_digest, artifact_types):
        """The referrers index of a manifest and how it was found ("api" or "tag"), or None."""
        what = _("referrers of {digest}").format(digest=manifest_digest)
        url = self.url("referrers", manifest_digest)
        if artifact_types and len(artifact_types) == 1:
            # A hint only (OCI-Filters-Applied): the result is filtered here anyway.
            url += "?artifactType=" + quote(artifact_types[0], safe="")
        descriptors = []
        for _page in range(MAX_REFERRER_PAGES):
            result = await self._download(
                url,
                what,
                "KICKSTART_MAX_MANIFEST_BYTES",
                headers={"Accept": artifact.OCI_INDEX},
                missing_ok=True,
            )
            if result is None:
                if descriptors:  # a later page vanished: not the same as no API
                    raise self._error(what, _("a page of the referrers list is gone (HTTP 404)"))
                return await self._referrers_tag_index(manifest_digest)
            with open(result.path, "rb") as page:
                raw = page.read()
            try:
                document = jsondoc.load_object(raw)
            except jsondoc.NotJson as exc:
                raise self._error(what, str(exc)) from None
            if not isinstance(document.get("manifests", []), list):
                raise self._error(what, _("not an image index"))
            # Filtered page by page: a hostile registry's pages never pile up in memory.
            descriptors.extend(matching_referrers(document, artifact_types))
            if len(descriptors) > MAX_SIGNATURES:
                raise self._error(
                    what,
                    _("more than {count} matching referrers; refusing to read them").format(
                        count=MAX_SIGNATURES
                    ),
                )
            url = _next_link(result.headers.get("Link"), url)
            if not url:
                return {"manifests": descriptors}, "api"
            self._same_registry(url, what)
        raise self._error(
            what, _("more than {pages} pages of referrers").format(pages=MAX_REFERRER_PAGES)
        )

    async def _referrers_tag_index(self, manifest_digest):
        tag = referrers_tag(manifest_digest)
        what = _("referrers of {digest} (tag {tag})").format(digest=manifest_digest, tag=tag)
        fetched = await self.get_manifest(tag, what=what, missing_ok=True)
        if fetched is None:
            return None, "tag"
        return self._json_of(fetched, what, "index"), "tag"

    async def referrers(self, manifest_digest, artifact_types=SIGSTORE_BUNDLE_TYPES):
        """The layers of the OCI 1.1 referrers of a manifest whose artifactType is wanted.

        Asks the referrers API (``GET /v2/<name>/referrers/<digest>``); a registry
        without it (HTTP 404, e.g. distribution 2.8) is read through the referrers
        tag schema (tag ``sha256-<hex>``) instead; neither gives an empty list.
        ``artifact_types`` None or empty keeps every referrer. Each referrer
        manifest is fetched by digest and must name ``manifest_digest`` as its
        ``subject``; each of its layers is fetched (capped, digest-checked).
        """
        artifact_types = tuple(artifact_types or ())
        index, via = await self._referrers_index(manifest_digest, artifact_types)
        if index is None:
            return []
        descriptors = matching_referrers(index, artifact_types)
        if len(descriptors) > MAX_SIGNATURES:
            raise self._error(
                _("referrers of {digest}").format(digest=manifest_digest),
                _("more than {count} matching referrers; refusing to read them").format(
                    count=MAX_SIGNATURES
                ),
            )
        found = []
        for descriptor in descriptors:
            digest = descriptor["digest"]
            what = _("referrer {referrer} of {digest}").format(
                referrer=digest, digest=manifest_digest
            )
            fetched = await self.get_manifest(digest, expected_digest=digest, what=what)
            document = self._json_of(fetched, what, "manifest")
            subject = document.get("subject")
            subject_digest = subject.get("digest") if isinstance(subject, dict) else None
            if subject_digest != manifest_digest:
                raise self._error(
                    what,
                    _("its subject is {subject}, not the manifest it was listed for").format(
                        subject=subject_digest
                    ),
                )
            kind = artifact_type_of(document)
            if artifact_types and kind not in artifact_types:
                continue  # the index described it wrongly; the manifest decides
            layers = _layers_of(document)
            if len(layers) > MAX_SIGNATURES:
                raise self._error(what, _("more than {count} layers").format(count=MAX_SIGNATURES))
            these = []
            for layer in layers:
                layer_what = _("layer {layer} of referrer {referrer} of {digest}").format(
                    layer=layer.get("digest"), referrer=digest, digest=manifest_digest
                )
                data = await self.get_signature_blob(layer, layer_what)
                these.append(
                    Referrer(
                        manifest_digest=digest,
                        artifact_type=kind,
                        media_type=str(layer.get("mediaType") or ""),
                        data=data,
                        layer_digest=layer["digest"],
                        annotations=_annotations_of(layer),
                        via=via,
                    )
                )
            if these:
                blobs = {item.layer_digest: item.data for item in these}
                kept = await self._carrier(fetched, document, blobs, what)
                these = [replace(item, carrier=kept) for item in these]
            found.extend(these)
        return found

    async def lookaside_signatures(self, base_url, digest):
        """The ``signature-1``, ``signature-2``, ... files of a manifest in a lookaside store.

        ``<base_url>/<upstream_name>@sha256=<hex>/signature-N``, read until the first
        404, at most MAX_SIGNATURES of them, each capped at
        KICKSTART_MAX_SIGNATURE_BYTES. Only http(s) URLs without userinfo. The
        fetch policy confines the reads to the store's URL, and the remote's
        credentials, headers and client certificate go only to a store on the
        remote's own origin.
        """
        parts = urlparse(base_url or "")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise RegistryError(
                _("lookaside store {url}: only http(s) URLs are supported").format(
                    url=_shown(base_url)
                )
            )
        if parts.username or parts.password:
            raise RegistryError(
                _("lookaside store {url}: credentials in the URL are not supported").format(
                    url=_shown(base_url)
                )
            )
        found = []
        for number in range(1, MAX_SIGNATURES + 2):
            url = lookaside_url(base_url, self.name, digest, number)
            what = _("lookaside signature {url}").format(url=_shown(url))
            result = await self._download(
                url, what, "KICKSTART_MAX_SIGNATURE_BYTES", missing_ok=True, scope=base_url
            )
            if result is None:
                return found
            spend("signatures", 1, what)
            if number > MAX_SIGNATURES:
                raise self._error(
                    _("lookaside signatures of {digest}").format(digest=digest),
                    _("more than {count} signatures; refusing to read them").format(
                        count=MAX_SIGNATURES
                    ),
                )
            with open(result.path, "rb") as fetched:
                found.append(LookasideSignature(number=number, url=url, data=fetched.read()))
        return found

    async def head_manifest(self, reference, what=None):
        """(digest, media type) the registry announces for a manifest or index, by HEAD.

        Nothing is downloaded: a sync that already stores the manifest of that
        digest needs no more, and one that does not fetches it by digest (checked).
        None when the registry announces no sha256 digest: then GET the reference.
        """
        what = what or _("tag {reference}").format(reference=reference)
        result = await self._download(
            self.url("manifests", reference),
            what,
            "KICKSTART_MAX_MANIFEST_BYTES",
            headers={"Accept": artifact.ACCEPT},
            head=True,
        )
        digest = result.headers.get("Docker-Content-Digest") or ""
        if not grammar.matches(grammar.DIGEST, digest):
            return None
        return digest, (result.headers.get("Content-Type") or "").split(";")[0].strip()
