"""Push trees to a registry in the published netboot format (docs/push.md).

The plugin's own uploader on aiohttp, not oras-py: oras reads local paths through
``requests``, and a tree's files are in Pulp's storage (any backend, S3 included),
streamed from there without a copy on the worker's disk or in memory.

- Every request goes through the destination remote's FetchPolicy (fetch_policy.py),
  on the remote's session (TLS, client certificate, custom headers) and proxy; a
  registry's upload ``Location`` is followed only under the remote's URL.
- Authentication is the sync's (auth.RegistryAuth) with the ``pull,push`` scope.
- A blob the registry has (HEAD) is not sent; one the tree was synced from a repository
  of the same registry is mounted from there (``?mount=&from=``) when the registry lets
  it; otherwise it is uploaded in chunks (POST, PATCH..., PUT ``?digest=``), resumed
  from the registry's ``Range`` after a dropped connection, or in one PUT where chunks
  are refused. Bytes are read from storage chunk by chunk on a thread.
- Manifests are deterministic (no timestamps): pushing a version again gives the same
  digests, and a tag that names them already is left alone (HEAD).
- Errors name the registry, the repository, the blob (its file and tree) or the tag,
  and the registry's answer (HTTP status, its error code and message); never a
  credential or an upload URL's query (its state token).

A low layer: no model. tasks/pushing.py turns a repository version into TreePushes.
"""

import asyncio
import contextlib
import hashlib
import json
from dataclasses import dataclass, field
from gettext import gettext as _
from urllib.parse import urlparse

import aiohttp
import yarl

from ..fetch_policy import REDIRECT_STATUSES, FetchPolicy, FetchRefused, shown
from ..netboot import artifact
from ..upstream_errors import REQUEST_ERRORS, reason
from .auth import PUSH, RegistryAuth
from .downloader import TokenRoute

EMPTY_CONFIG_DATA = b"{}"
EMPTY_CONFIG = {
    "mediaType": "application/vnd.oci.empty.v1+json",
    "digest": "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
    "size": 2,
    "data": "e30=",
}
# Provenance a tree keeps of its files (netboot/treefile.py), as layer annotations.
PROVENANCE_ANNOTATIONS = {
    "package": "org.pulpproject.netboot.provenance.package",
    "rpm_sha256": "org.pulpproject.netboot.provenance.package-sha256",
    "source_path": "org.pulpproject.netboot.provenance.path",
}
# Chunks of a chunked upload; the registry's OCI-Chunk-Min-Length raises it.
CHUNK_BYTES = 16 * 1024 * 1024
READ_BYTES = 1024 * 1024  # what one read from storage holds in memory
MAX_ANSWER_BYTES = 64 * 1024  # of a registry's error body read for a message
RESUMES = 3  # a dropped chunked upload is resumed this often
RESENDS = 2  # a request whose connection closed before any answer is sent again this often
MAX_CHUNK_BYTES = 1024 * 1024 * 1024  # a registry's minimum chunk beyond this is refused
MAX_INDEX_BYTES = 4 * 1024 * 1024  # a referrers index read back to add one entry


class PushError(Exception):
    """A push failed; the message names what and why, and holds no secret."""


@dataclass
class Blob:
    """One blob to push: ``open()`` gives a binary file of it (called on a thread)."""

    digest: str
    size: int
    what: str  # "vmlinuz of 42/x86_64": names it in errors
    open: object = None
    data: bytes | None = None  # a small blob held in memory (the empty config)
    mount_from: str | None = None  # a repository of the same registry that may have it


@dataclass
class Layer:
    """A file of a tree as a layer: its title (the sync reads its path and role back)."""

    title: str
    digest: str
    size: int
    annotations: dict
    open: object


@dataclass
class TreePush:
    """One tree to push as the manifest ``<version>-<oci_arch>``."""

    version: str
    oci_arch: str
    os_version: str | None
    annotations: dict
    layers: list
    mount_from: str | None = None
    # The manifest as the sync read it (KickstartTree.manifest) when it can go back as is:
    # then it is pushed byte for byte and keeps its digest (tasks/pushing.py decides).
    raw: bytes | None = None
    media_type: str = artifact.OCI_MANIFEST

    @property
    def tag(self):
        return f"{self.version}-{self.oci_arch}"

    def manifest(self):
        """(bytes, media type) of the manifest pushed: as the sync read it, or written."""
        if self.raw is not None:
            return self.raw, self.media_type
        return manifest_of(self), artifact.OCI_MANIFEST

    @property
    def digest(self):
        return _sha256(self.manifest()[0])

    @property
    def root(self):
        return f"{self.version}/{self.oci_arch}"


@dataclass
class Pushed:
    """What a push did, counted by the registry's answers."""

    blobs_present: int = 0
    blobs_mounted: int = 0
    blobs_uploaded: int = 0
    bytes_uploaded: int = 0
    chunks_uploaded: int = 0  # PATCHes of chunked uploads
    manifests_pushed: int = 0
    manifests_present: int = 0
    identical: int = 0  # manifests and indexes pushed as the bytes a sync read
    signatures_copied: int = 0  # signature manifests copied along
    tags: list = field(default_factory=list)  # tag -> digest, in push order


@dataclass
class UpstreamIndex:
    """An index as a sync read it (KickstartIndex): pushed as is when it lists exactly
    the manifests pushed for its release."""

    raw: bytes
    media_type: str

    @property
    def digest(self):
        return _sha256(self.raw)

    def fits(self, trees):
        """True when it lists exactly the manifests of ``trees`` (TreePush) as pushed."""
        return listed_digests(self.raw) == {tree.digest for tree in trees}


@dataclass
class SignatureCopy:
    """A manifest carrying signatures (netboot/carrier.py, checked): pushed under its
    cosign tag, or by digest for a referrer, after the manifest it signs."""

    reference: str | None
    raw: bytes
    media_type: str
    blobs: dict  # digest -> bytes
    what: str


def _json(document):
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()


def manifest_of(tree):
    """The raw bytes of a tree's image manifest (deterministic)."""
    document = {
        "schemaVersion": 2,
        "mediaType": artifact.OCI_MANIFEST,
        "artifactType": artifact.NETBOOT_ARTIFACT_TYPE,
        "config": EMPTY_CONFIG,
        "layers": [
            {
                "mediaType": artifact.NETBOOT_FILE,
                "digest": layer.digest,
                "size": layer.size,
                "annotations": {artifact.TITLE: layer.title, **layer.annotations},
            }
            for layer in tree.layers
        ],
        "annotations": {**tree.annotations, artifact.NETBOOT_VERSION: "1"},
    }
    return _json(document)


def index_of(entries):
    """The raw bytes of a release's image index over (tree, manifest digest, size)."""
    manifests = []
    for tree, digest, size in entries:
        platform = {"architecture": tree.oci_arch, "os": "linux"}
        if tree.os_version:
            platform["os.version"] = tree.os_version
        manifests.append(
            {
                "mediaType": artifact.OCI_MANIFEST,
                "digest": digest,
                "size": size,
                "artifactType": artifact.NETBOOT_ARTIFACT_TYPE,
                "platform": platform,
                "annotations": {artifact.NETBOOT_VERSION: "1"},
            }
        )
    document = {
        "schemaVersion": 2,
        "mediaType": artifact.OCI_INDEX,
        "manifests": manifests,
        "annotations": {artifact.NETBOOT_VERSION: "1"},
    }
    return _json(document)


def listed_digests(raw):
    """The manifest digests an index lists (an empty set when it is not one)."""
    try:
        document = json.loads(raw)
    except (ValueError, RecursionError):
        return set()
    entries = document.get("manifests") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        return set()
    return {entry.get("digest") for entry in entries if isinstance(entry, dict)}


def _stored_as(response, digest):
    """A registry that says it stored a blob under another digest has not stored ours."""
    said = response.headers.get("Docker-Content-Digest")
    if said and said != digest:
        raise Refused(
            response.status,
            _("the registry stored it as {said}, not {digest}").format(
                said=said[:80], digest=digest
            ),
        )


def _sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


# The error codes of the distribution spec (and Docker's registry before it): the only words
# of a refusal a task error repeats. A registry's messages are free text it may fill with the
# credentials it was sent, in any spelling no redaction can follow, so they are never repeated.
ERROR_CODES = frozenset(
    {
        "BLOB_UNKNOWN",
        "BLOB_UPLOAD_INVALID",
        "BLOB_UPLOAD_UNKNOWN",
        "DIGEST_INVALID",
        "MANIFEST_BLOB_UNKNOWN",
        "MANIFEST_INVALID",
        "MANIFEST_UNKNOWN",
        "MANIFEST_UNVERIFIED",
        "NAME_INVALID",
        "NAME_UNKNOWN",
        "SIZE_INVALID",
        "TAG_INVALID",
        "RANGE_INVALID",
        "UNAUTHORIZED",
        "DENIED",
        "UNSUPPORTED",
        "TOOMANYREQUESTS",
        "UNAVAILABLE",
        "UNKNOWN",
    }
)


async def _answer_of(response):
    """The registry's refusal as ``HTTP <status> (<CODE>, ...)``: its status and the codes of
    its error JSON that the spec defines, nothing else it wrote (see ERROR_CODES)."""
    body = b""
    with contextlib.suppress(aiohttp.ClientError, asyncio.TimeoutError):
        while len(body) < MAX_ANSWER_BYTES and (chunk := await response.content.read(8192)):
            body += chunk
    codes = []
    with contextlib.suppress(ValueError, UnicodeDecodeError, RecursionError, AttributeError):
        for error in json.loads(body[:MAX_ANSWER_BYTES]).get("errors") or []:
            code = error.get("code") if isinstance(error, dict) else None
            if code in ERROR_CODES and code not in codes:
                codes.append(code)
    answer = _("the registry answered HTTP {status}").format(status=response.status)
    if codes:
        answer += " (" + ", ".join(codes) + ")"
    if response.status == 401:
        answer += _(": check the remote's credentials")
    elif response.status == 403:
        answer += _(": the remote's account may not push to this repository")
    return answer


class Refused(Exception):
    """The registry answered a status the step does not accept (``answer`` says it)."""

    def __init__(self, status, answer):
        super().__init__(answer)
        self.status = status
        self.answer = answer


class RegistryPusher:
    """Pushes to the repository ``remote.upstream_name`` of the registry ``remote.url``."""

    def __init__(self, remote, chunk_bytes=CHUNK_BYTES):
        self.base = remote.url.rstrip("/")
        self.name = remote.upstream_name.strip("/")
        self.where = _("registry {host} repository {name}").format(
            host=urlparse(self.base).netloc, name=self.name
        )
        self.policy = FetchPolicy.for_remote(remote)
        self.auth = RegistryAuth(remote.username, remote.password, origin=remote.url, actions=PUSH)
        # A downloader of the remote: its session (TLS, client certificate, headers), proxy
        # and routes (the anonymous session for token services on other origins).
        self._carrier = remote.get_downloader(url=self.base + "/v2/")
        self._token_route = TokenRoute(self._carrier)
        self.concurrency = max(1, int(remote.download_concurrency or 5))
        self.chunk_bytes = chunk_bytes
        self.pushed = Pushed()
        self._indexed_subject = {}  # manifest digest -> the registry said OCI-Subject

    def url(self, kind, reference):
        return f"{self.base}/v2/{self.name}/{kind}/{reference}"

    # -- one request, through the policy and the registry's authentication ----------------

    @contextlib.asynccontextmanager
    async def _request(self, method, url, headers=None, data=None, pinned=False, resend=True):
        """The final response to a request; ``data`` bytes or a callable giving a fresh body.

        A 401 is answered once (token or basic) and the request sent again (a body is made
        again by calling ``data``). Only HEAD and GET follow redirects, hop by hop under
        the policy; an upload is never sent anywhere but the remote's URL. A connection
        closed before any answer (a registry or proxy dropping an idle kept-alive one) is
        tried again, unless ``resend`` is false: a chunk may be half appended, and
        ``_put_chunks`` goes on from the registry's ``Range`` instead.
        """
        for attempt in (1, 2):
            hop = self.policy.admit(url, pinned)
            for hops in range(self.policy.max_redirects + 1):
                request_headers = dict(headers or {})
                authorization = self.auth.header_for(str(hop.url))
                if authorization and hop.credentialed:
                    request_headers["Authorization"] = authorization
                session = (
                    self._carrier.session
                    if hop.credentialed
                    else self._carrier.routes.anonymous_session()
                )
                response = await self._send(
                    session, method, hop.url, request_headers, data, RESENDS if resend else 0
                )
                try:
                    location = response.headers.get("Location")
                    if (
                        method in ("HEAD", "GET")
                        and response.status in REDIRECT_STATUSES
                        and location is not None
                    ):
                        if hops == self.policy.max_redirects:
                            raise PushError(
                                _("more than KICKSTART_MAX_REDIRECTS ({count}) redirects").format(
                                    count=self.policy.max_redirects
                                )
                            )
                        hop = self.policy.redirect(hop, location, pinned)
                        continue
                    if response.status == 401 and attempt == 1 and hop.credentialed:
                        if self.auth.header_for(str(hop.url)) == authorization:
                            # Nothing learnt meanwhile (by a request running beside it).
                            challenge = response.headers.get("WWW-Authenticate", "")
                            await self.auth.answer(challenge, str(hop.url), self._token_route)
                        break
                    yield response
                    return
                finally:
                    response.release()

    async def _send(self, session, method, url, headers, data, resends):
        for attempt in range(resends + 1):
            try:
                return await session.request(
                    method,
                    url,
                    headers=headers,
                    data=data() if callable(data) else data,
                    proxy=self._carrier.proxy,
                    proxy_auth=self._carrier.proxy_auth,
                    allow_redirects=False,
                )
            except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError):
                if attempt == resends:
                    raise

    def _location(self, response, at):
        """The upload URL a registry answered with, resolved and kept under the remote's URL."""
        location = response.headers.get("Location")
        if not location:
            raise Refused(response.status, _("the registry sent no upload Location"))
        try:
            target = yarl.URL(at).join(yarl.URL(location))
            self.policy.admit(target)
        except (ValueError, TypeError, FetchRefused):
            raise Refused(
                response.status,
                _(
                    "the registry's upload location {url} is not under the remote's URL; "
                    "uploads go nowhere else"
                ).format(url=shown(location)),
            ) from None
        return str(target)

    # -- blobs ----------------------------------------------------------------------------

    async def has_blob(self, digest):
        """Whether the registry has the blob (HEAD 200), None when it does not (404)."""
        async with self._request("HEAD", self.url("blobs", digest), pinned=True) as response:
            if response.status == 200:
                return True
            if response.status == 404:
                return False
            raise Refused(response.status, await _answer_of(response))

    async def push_blob(self, blob):
        """Make sure the registry has the blob: present, mounted or uploaded."""
        try:
            if await self.has_blob(blob.digest):
                self.pushed.blobs_present += 1
                return
            location, minimum = await self._start(blob)
            if location is None:
                self.pushed.blobs_mounted += 1
                return
            if blob.size <= max(self.chunk_bytes, minimum) or blob.data is not None:
                await self._put_whole(blob, location)
            else:
                await self._put_chunks(blob, location, max(self.chunk_bytes, minimum))
            self.pushed.blobs_uploaded += 1
            self.pushed.bytes_uploaded += blob.size
        except Refused as exc:
            raise self._error(_("blob {digest} ({what})"), blob, exc.answer) from None
        except PushError as exc:
            raise self._error(_("blob {digest} ({what})"), blob, str(exc)) from None
        except REQUEST_ERRORS as exc:
            raise self._error(
                _("blob {digest} ({what})"), blob, reason(exc, server=_("the registry"))
            ) from None

    def _error(self, template, blob, answer):
        what = template.format(digest=blob.digest, what=blob.what)
        return PushError(
            _("{where}: {what}: {answer}").format(where=self.where, what=what, answer=answer)
        )

    async def _start(self, blob):
        """POST an upload (a mount when the blob may be in another repository here).

        (None, 0) when mounted, else (upload URL, the registry's minimum chunk size).
        """
        url = self.url("blobs", "uploads/")
        if blob.mount_from:
            url = str(yarl.URL(url).with_query({"mount": blob.digest, "from": blob.mount_from}))
        async with self._request("POST", url, headers={"Content-Length": "0"}) as response:
            if response.status == 201 and blob.mount_from:
                return None, 0
            if response.status != 202:
                raise Refused(response.status, await _answer_of(response))
            minimum = response.headers.get("OCI-Chunk-Min-Length", "")
            minimum = int(minimum) if minimum.isdigit() else 0
            if minimum > MAX_CHUNK_BYTES:
                raise Refused(
                    response.status,
                    _("the registry asks for chunks of at least {size} bytes").format(size=minimum),
                )
            return self._location(response, url), minimum

    def _stream(self, blob, start, end):
        """A fresh async body of the blob's bytes [start, end), read on a thread."""

        async def body():
            if blob.data is not None:
                yield blob.data[start:end]
                return
            handle = await asyncio.to_thread(blob.open)
            try:
                if start:
                    await asyncio.to_thread(handle.seek, start)
                left = end - start
                while left > 0:
                    data = await asyncio.to_thread(handle.read, min(READ_BYTES, left))
                    if not data:
                        raise PushError(_("Pulp's stored file is shorter than its size"))
                    left -= len(data)
                    yield data
            finally:
                await asyncio.to_thread(handle.close)

        return body

    def _with_digest(self, location, digest):
        return str(yarl.URL(location).update_query(digest=digest))

    async def _put_whole(self, blob, location):
        headers = {"Content-Type": "application/octet-stream", "Content-Length": str(blob.size)}
        url = self._with_digest(location, blob.digest)
        stream = self._stream(blob, 0, blob.size)
        async with self._request("PUT", url, headers=headers, data=lambda: stream()) as response:
            if response.status != 201:
                raise Refused(response.status, await _answer_of(response))
            _stored_as(response, blob.digest)

    async def _put_chunks(self, blob, location, chunk):
        """PATCH chunk after chunk (resumed from the registry's Range), then PUT ?digest=."""
        offset = 0
        resumes = 0
        while offset < blob.size:
            end = min(offset + chunk, blob.size)
            headers = {
                "Content-Type": "application/octet-stream",
                "Content-Length": str(end - offset),
                "Content-Range": f"{offset}-{end - 1}",
            }
            stream = self._stream(blob, offset, end)
            try:
                async with self._request(
                    "PATCH", location, headers=headers, data=lambda s=stream: s(), resend=False
                ) as response:
                    if response.status in (405, 415, 416) and offset == 0:
                        # No chunked uploads here: one monolithic PUT on a new upload.
                        location, _minimum = await self._start(
                            Blob(blob.digest, blob.size, blob.what, open=blob.open)
                        )
                        await self._put_whole(blob, location)
                        return
                    if response.status != 202:
                        raise Refused(response.status, await _answer_of(response))
                    location = self._location(response, location)
                    self.pushed.chunks_uploaded += 1
            except (aiohttp.ClientConnectionError, asyncio.TimeoutError):
                resumes += 1
                if resumes > RESUMES:
                    raise
                offset, location = await self._resume(location, end, blob.size)
                continue
            offset = end
        url = self._with_digest(location, blob.digest)
        async with self._request("PUT", url, headers={"Content-Length": "0"}) as response:
            if response.status != 201:
                raise Refused(response.status, await _answer_of(response))
            _stored_as(response, blob.digest)

    async def _resume(self, location, sent, size):
        """Where a broken chunked upload goes on: the registry's ``Range: 0-<last>``, which
        can only be what was ``sent`` so far (of ``size``) or less; anything else is the
        registry's fault, said as such (not a stored file's)."""
        async with self._request("GET", location) as response:
            if response.status != 204:
                raise Refused(response.status, await _answer_of(response))
            received = response.headers.get("Range", "")
            first, _dash, last = received.partition("-")
            if not received:
                offset = 0
            elif first == "0" and last.isdigit() and int(last) < min(sent, size):
                offset = int(last) + 1
            else:
                raise Refused(
                    response.status,
                    _(
                        "the registry says it holds bytes {range} of an upload of which "
                        "Pulp sent {sent} of {size}"
                    ).format(range=received[:40], sent=sent, size=size),
                )
            return offset, self._location(response, location)

    # -- manifests ------------------------------------------------------------------------

    async def push_manifest(self, reference, raw, media_type, what):
        """PUT a manifest or index under a tag, unless the tag names those bytes already."""
        digest = _sha256(raw)
        url = self.url("manifests", reference)
        try:
            async with self._request("HEAD", url, headers={"Accept": media_type}) as response:
                if (
                    response.status == 200
                    and response.headers.get("Docker-Content-Digest") == digest
                ):
                    self.pushed.manifests_present += 1
                    self.pushed.tags.append((reference, digest))
                    return digest
            headers = {"Content-Type": media_type}
            async with self._request("PUT", url, headers=headers, data=raw) as response:
                if response.status != 201:
                    raise Refused(response.status, await _answer_of(response))
                said = response.headers.get("Docker-Content-Digest")
                self._indexed_subject[digest] = bool(response.headers.get("OCI-Subject"))
                if said and said != digest:
                    raise Refused(
                        response.status,
                        _("the registry stored it as {said}, not {digest}").format(
                            said=said, digest=digest
                        ),
                    )
        except Refused as exc:
            raise PushError(self._what(what, exc.answer)) from None
        except PushError as exc:
            raise PushError(self._what(what, str(exc))) from None
        except REQUEST_ERRORS as exc:
            raise PushError(self._what(what, reason(exc, server=_("the registry")))) from None
        self.pushed.manifests_pushed += 1
        self.pushed.tags.append((reference, digest))
        return digest

    def _what(self, what, answer):
        return _("{where}: {what}: {answer}").format(where=self.where, what=what, answer=answer)

    # -- trees ----------------------------------------------------------------------------

    async def push_trees(self, trees, indexes=None, signatures=()):
        """Push every tree as ``N-ARCH`` and every release as the index ``N``, then the
        signature manifests to copy.

        ``indexes``: {release: UpstreamIndex} the version kept; one is pushed as is when it
        lists exactly the manifests pushed for its release, else a new index is written.
        """
        indexes = indexes or {}
        blobs = {}
        config = Blob(
            EMPTY_CONFIG["digest"], EMPTY_CONFIG["size"], _("the empty config"), data=b"{}"
        )
        blobs[config.digest] = config
        for tree in trees:
            for layer in tree.layers:
                blobs.setdefault(
                    layer.digest,
                    Blob(
                        layer.digest,
                        layer.size,
                        _("{title} of {root}").format(title=layer.title, root=tree.root),
                        open=layer.open,
                        mount_from=tree.mount_from,
                    ),
                )
        gate = asyncio.Semaphore(self.concurrency)

        async def one(blob):
            async with gate:
                await self.push_blob(blob)

        jobs = [asyncio.ensure_future(one(blob)) for blob in blobs.values()]
        try:
            await asyncio.gather(*jobs)
        finally:
            for job in jobs:
                job.cancel()
            await asyncio.gather(*jobs, return_exceptions=True)

        releases = {}
        for tree in trees:
            raw, media_type = tree.manifest()
            if tree.raw is not None:
                self.pushed.identical += 1
            what = _("manifest {tag}").format(tag=tree.tag)
            digest = await self.push_manifest(tree.tag, raw, media_type, what)
            releases.setdefault(tree.version, []).append((tree, digest, len(raw)))
        for release, entries in releases.items():
            what = _("index {tag}").format(tag=release)
            kept = indexes.get(release)
            if kept is not None and kept.fits(tree for tree, _digest, _size in entries):
                self.pushed.identical += 1
                await self.push_manifest(release, kept.raw, kept.media_type, what)
            else:
                await self.push_manifest(release, index_of(entries), artifact.OCI_INDEX, what)
        for copy in signatures:
            await self.push_signature(copy)
        return self.pushed

    async def push_signature(self, copy):
        """Copy one signature manifest: its blobs, then the manifest under its cosign tag,
        or by digest for a referrer (listed in the referrers tag schema's index too when
        the registry does not say it indexed the subject itself)."""
        for digest, data in sorted(copy.blobs.items()):
            await self.push_blob(Blob(digest, len(data), copy.what, data=data))
        reference = copy.reference or _sha256(copy.raw)
        await self.push_manifest(reference, copy.raw, copy.media_type, copy.what)
        self.pushed.signatures_copied += 1
        if copy.reference is None and not self._indexed_subject.get(reference):
            await self._list_referrer(copy, reference)

    async def _list_referrer(self, copy, digest):
        """Add a referrer to its subject's ``sha256-<hex>`` index (OCI 1.1 tag schema)."""
        document = json.loads(copy.raw)
        subject = document["subject"]["digest"]
        tag = "sha256-" + subject.split(":", 1)[1]
        what = _("referrers index {tag}").format(tag=tag)
        entry = {
            "mediaType": copy.media_type,
            "digest": digest,
            "size": len(copy.raw),
            "artifactType": document.get("artifactType")
            or (document.get("config") or {}).get("mediaType"),
        }
        if isinstance(document.get("annotations"), dict):
            entry["annotations"] = document["annotations"]
        listed = []
        url = self.url("manifests", tag)
        try:
            async with self._request("GET", url, headers={"Accept": artifact.OCI_INDEX}) as got:
                if got.status == 200:
                    body = await got.content.read(MAX_INDEX_BYTES + 1)
                    if len(body) > MAX_INDEX_BYTES:
                        raise Refused(got.status, _("the referrers index is too large"))
                    found = json.loads(body)
                    listed = [m for m in found.get("manifests") or [] if isinstance(m, dict)]
                elif got.status != 404:
                    raise Refused(got.status, await _answer_of(got))
        except (ValueError, AttributeError, RecursionError):
            raise PushError(self._what(what, _("not an image index"))) from None
        except Refused as exc:
            raise PushError(self._what(what, exc.answer)) from None
        except REQUEST_ERRORS as exc:
            raise PushError(self._what(what, reason(exc, server=_("the registry")))) from None
        if any(item.get("digest") == digest for item in listed):
            return
        index = {"schemaVersion": 2, "mediaType": artifact.OCI_INDEX, "manifests": listed + [entry]}
        await self.push_manifest(tag, _json(index), artifact.OCI_INDEX, what)
