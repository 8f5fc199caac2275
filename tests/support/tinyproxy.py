"""A real tinyproxy (Debian's) in the foreground, for tests of remotes behind a proxy."""

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from pulp_kickstart_oci.testing.registry import free_port

TINYPROXY = shutil.which("tinyproxy") or "/usr/bin/tinyproxy"


class Tinyproxy:
    """One tinyproxy process in the foreground, with its own config, log and pid file.

    ``credentials`` (user, password) makes it demand Basic proxy authentication.
    Its log (``LogLevel Connect``) records every request line it receives:
    ``GET http://host:port/path HTTP/1.1`` or ``CONNECT host:port HTTP/1.1``.
    """

    def __init__(self, directory, credentials=None):
        self.root = Path(tempfile.mkdtemp(prefix="tinyproxy-", dir=directory))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.credentials = credentials
        self.log_path = self.root / "tinyproxy.log"
        self.process = None

    def _config(self):
        lines = [
            f"Port {self.port}",
            "Listen 127.0.0.1",
            "Timeout 120",
            "MaxClients 50",
            "Allow 127.0.0.1",
            f'LogFile "{self.log_path}"',
            f'PidFile "{self.root / "tinyproxy.pid"}"',
            "LogLevel Connect",
        ]
        if self.credentials:
            lines.append("BasicAuth {} {}".format(*self.credentials))
        return "\n".join(lines) + "\n"

    def start(self):
        config = self.root / "tinyproxy.conf"
        config.write_text(self._config())
        output = open(self.root / "output.txt", "ab")
        self.process = subprocess.Popen(
            [TINYPROXY, "-d", "-c", str(config)],
            stdout=output,
            stderr=output,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        output.close()
        # Poll the port until it accepts; each wait doubles as the exit check.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                pass
            try:
                self.process.wait(0.05)
            except subprocess.TimeoutExpired:
                continue
            raise RuntimeError(f"tinyproxy exited: {(self.root / 'output.txt').read_text()}")
        self.stop()
        raise RuntimeError("tinyproxy did not start listening")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)

    def log(self):
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
