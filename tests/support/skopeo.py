"""Debian's ``skopeo`` as a publisher uses it: copy an image and sign it with gpg.

``skopeo copy --sign-by FPR`` makes a containers "simple signing" OpenPGP
signature of the copied manifest and, with a ``registries.d`` whose
``lookaside-staging`` is a ``file://`` directory, writes it there in the lookaside
layout ``<dir>/<repository>@sha256=<hex>/signature-N`` (the repository without
its registry host). Serve that directory over HTTP and it is a lookaside store.
"""

import os
import shutil
import subprocess
from pathlib import Path

SKOPEO = shutil.which("skopeo") or "/usr/bin/skopeo"


class SkopeoSigner:
    """Copies between repositories of an http registry, signing with a tests.support.signing.GpgKey.

    ``root`` (a fresh directory) holds ``registries.d/default.yaml`` and the
    lookaside directory ``store``.
    """

    def __init__(self, root, key):
        self.root = Path(root)
        self.key = key
        self.store = self.root / "lookaside"
        self.registries_d = self.root / "registries.d"
        self.store.mkdir(parents=True)
        self.registries_d.mkdir()
        (self.registries_d / "default.yaml").write_text(
            f"default-docker:\n  lookaside-staging: file://{self.store}\n"
        )

    def copy(self, source, destination, sign=True):
        """``skopeo copy`` ``docker://source`` to ``docker://destination`` (host/repo:tag),
        digests preserved, signed by the key unless ``sign`` is false."""
        command = [
            SKOPEO,
            "--registries.d",
            str(self.registries_d),
            "copy",
            "--src-tls-verify=false",
            "--dest-tls-verify=false",
            "--preserve-digests",
        ]
        if sign:
            command += ["--sign-by", self.key.fingerprint]
        done = subprocess.run(
            command + [f"docker://{source}", f"docker://{destination}"],
            env={**os.environ, "GNUPGHOME": self.key.home, "LC_ALL": "C"},
            capture_output=True,
            text=True,
            timeout=300,
        )
        if done.returncode != 0:
            raise RuntimeError(f"skopeo copy failed ({done.returncode}): {done.stderr}")
        return done

    def signature_path(self, repository, digest, number=1):
        """Where skopeo stored signature ``number`` of ``digest`` in ``repository``."""
        return self.store / f"{repository}@sha256={digest.split(':', 1)[1]}" / f"signature-{number}"
