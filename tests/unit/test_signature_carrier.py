"""A kept signature manifest (netboot/carrier.py) is pushed only as the bytes it was read as.

Every way a carried record (an import, a crafted database row) could make a push write
something else is refused by ``carrier.check``, which the push and the import both call.
"""

import base64
import hashlib
import json

import pytest

from pulp_kickstart_oci.app.netboot import carrier

SIGNED = "sha256:" + "ab" * 32
LIMIT = 64 * 1024


def _sha(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _cosign(payload=b'{"critical":{}}', config=b'{"os":""}'):
    document = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": _sha(config),
            "size": len(config),
        },
        "layers": [
            {
                "mediaType": "application/vnd.dev.cosign.simplesigning.v1+json",
                "digest": _sha(payload),
                "size": len(payload),
            }
        ],
    }
    raw = json.dumps(document).encode()
    blobs = {_sha(payload): payload, _sha(config): config}
    return carrier.make(raw, document["mediaType"], blobs, carrier.cosign_tag(SIGNED))


def _referrer(subject=SIGNED, bundle=b'{"bundle":1}'):
    document = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "artifactType": "application/vnd.dev.sigstore.bundle.v0.3+json",
        "config": {
            "mediaType": "application/vnd.oci.empty.v1+json",
            "digest": carrier.EMPTY_CONFIG_DIGEST,
            "size": 2,
        },
        "layers": [{"mediaType": "x/y", "digest": _sha(bundle), "size": len(bundle)}],
        "subject": {"mediaType": "x/y", "digest": subject, "size": 1},
    }
    raw = json.dumps(document).encode()
    return carrier.make(raw, document["mediaType"], {_sha(bundle): bundle})


def test_a_cosign_carrier_gives_back_its_bytes_tag_and_blobs():
    kept = _cosign()
    raw, media_type, reference, blobs = carrier.check(kept, SIGNED, LIMIT)
    assert raw == kept["manifest"].encode()
    assert reference == "sha256-" + "ab" * 32 + ".sig"
    assert set(blobs) == {layer["digest"] for layer in carrier.descriptors(json.loads(raw))}
    assert media_type == "application/vnd.oci.image.manifest.v1+json"


def test_a_referrer_carrier_needs_no_copy_of_the_empty_config():
    kept = _referrer()
    assert carrier.EMPTY_CONFIG_DIGEST not in kept["blobs"]
    _raw, _media_type, reference, blobs = carrier.check(kept, SIGNED, LIMIT)
    assert reference is None and blobs[carrier.EMPTY_CONFIG_DIGEST] == b"{}"


def _tampered_blob(kept):
    digest = next(iter(kept["blobs"]))
    kept["blobs"][digest] = base64.b64encode(b"other bytes").decode()
    return kept


def _missing_blob(kept):
    kept["blobs"].pop(next(iter(kept["blobs"])))
    return kept


def _extra_blob(kept):
    kept["blobs"][_sha(b"x")] = base64.b64encode(b"x").decode()
    return kept


def _other_tag(kept):
    kept["reference"] = carrier.cosign_tag("sha256:" + "cd" * 32)
    return kept


def _arbitrary_tag(kept):
    kept["reference"] = "42-amd64"
    return kept


def _bad_media_type(kept):
    kept["media_type"] = "not a media type"
    return kept


def _extra_key(kept):
    kept["digest"] = SIGNED
    return kept


def _not_base64(kept):
    digest = next(iter(kept["blobs"]))
    kept["blobs"][digest] = "!!!"
    return kept


def _wrong_size(kept):
    document = json.loads(kept["manifest"])
    document["layers"][0]["size"] += 1
    kept["manifest"] = json.dumps(document)
    return kept


@pytest.mark.parametrize(
    "spoil",
    [
        _tampered_blob,
        _missing_blob,
        _extra_blob,
        _other_tag,
        _arbitrary_tag,
        _bad_media_type,
        _extra_key,
        _not_base64,
        _wrong_size,
    ],
)
def test_a_spoilt_cosign_carrier_is_refused(spoil):
    with pytest.raises(ValueError):
        carrier.check(spoil(_cosign()), SIGNED, LIMIT)


def test_a_referrer_of_another_subject_is_refused():
    with pytest.raises(ValueError, match="subject"):
        carrier.check(_referrer(subject="sha256:" + "cd" * 32), SIGNED, LIMIT)


def test_a_blob_over_the_signature_cap_is_refused():
    with pytest.raises(ValueError):
        carrier.check(_cosign(payload=b"x" * 100), SIGNED, 50)


def _synced_tree(layers, config_digest=carrier.EMPTY_CONFIG_DIGEST, files=None):
    from types import SimpleNamespace

    document = {
        "schemaVersion": 2,
        "config": {"digest": config_digest, "size": 2},
        "layers": [{"digest": _sha(data), "size": len(data)} for data in layers],
    }
    raw = json.dumps(document)
    files = files if files is not None else layers
    records = [
        {"path": f"f{n}", "sha256": _sha(data).split(":")[1], "size": len(data)}
        for n, data in enumerate(files)
    ]
    tree = SimpleNamespace(
        manifest=raw, digest=_sha(raw.encode()), files=records, tree_root="42/x86_64"
    )
    stored = {f"42/x86_64/f{n}" for n in range(len(files))}
    return tree, stored


def test_a_tree_goes_back_as_synced_only_when_every_blob_of_its_manifest_is_stored():
    from pulp_kickstart_oci.app.tasks.pushing import _as_synced

    tree, stored = _synced_tree([b"kernel", b"initrd"])
    assert _as_synced(tree, stored) == tree.manifest.encode()
    # A layer that is not a stored file (a draft's compressed blob): a new manifest.
    tree, stored = _synced_tree([b"kernel", b"compressed"], files=[b"kernel", b"initrd"])
    assert _as_synced(tree, stored) is None
    # A config Pulp does not keep.
    tree, stored = _synced_tree([b"kernel"], config_digest=_sha(b'{"os":""}'))
    assert _as_synced(tree, stored) is None
    # Bytes that are not the tree's digest, or a file not stored (on_demand, never fetched).
    tree, stored = _synced_tree([b"kernel"])
    tree.manifest += " "
    assert _as_synced(tree, stored) is None
    tree, stored = _synced_tree([b"kernel"])
    assert _as_synced(tree, set()) is None


def test_a_manifest_past_the_kept_cap_is_used_but_not_kept():
    from django.test import override_settings

    from pulp_kickstart_oci.app.sources.registry import _as_text

    with override_settings(KICKSTART_MAX_KEPT_MANIFEST_BYTES=10):
        assert _as_text(b"x" * 10) == "x" * 10
        assert _as_text(b"x" * 11) is None
    assert _as_text("é".encode("utf-16")) is None  # JSON is UTF-8: anything else is not kept


def test_a_carried_manifest_past_4_mib_is_refused_however_it_arrives():
    kept = _cosign()
    kept["manifest"] = kept["manifest"] + " " * carrier.MAX_KEPT_BYTES
    with pytest.raises(ValueError, match="larger than 4 MiB"):
        carrier.check(kept, SIGNED, LIMIT)
