"""Uploading a tree with the plain REST client (tests/support/pulp.PulpAPI), on any Pulp.

Module-scoped fixtures (a second Pulp's, an exported or replicated repository) cannot use
test_upload.py's function-scoped fixtures (pulp-smash bindings, per-test cleanup); this
is the same POST content/kickstart/trees/, one chunked upload per file.
"""

import hashlib


def upload(api, data):
    """An uncommitted upload (pulpcore's /uploads/) holding ``data`` in one chunk; its href."""
    href = api.post("uploads/", {"size": len(data)})["pulp_href"]
    api.request(
        "PUT",
        href,
        headers={"Content-Range": f"bytes 0-{len(data) - 1}/{len(data)}"},
        files={"file": ("chunk", data)},
        data={"sha256": hashlib.sha256(data).hexdigest()},
    )
    return href


def upload_tree(api, files, version, arch, **fields):
    """Upload ``files`` ({path in the tree: bytes}) as tree ``version``/``arch`` (``fields``:
    ``repository``, ``family``, ...), wait for the task; the tree as the API shows it."""
    body = {
        "version": version,
        "arch": arch,
        "files": [{"path": path, "upload": upload(api, data)} for path, data in files.items()],
        **fields,
    }
    task = api.wait(api.post("content/kickstart/trees/", body)["task"])
    (href,) = [h for h in task["created_resources"] if "/content/kickstart/trees/" in h]
    return api.get(href)
