"""The sync benchmark's own Pulp: pulpcore + pulp_container + pulp_rpm + this plugin.

pulp_container and pulp_rpm must not go into the test stack's ``.venv``, so the
benchmark builds a second Pulp next to it:

- a virtualenv ``.run/bench/venv`` with the same pulpcore as ``.venv``,
  pulp_container, pulp_rpm, this plugin (``pip install -e .``), oras and
  py-spy (``ensure_venv``; see PACKAGES);
- a database ``pulp_bench_<digests>`` (owner ``pulp``) in the stack's PostgreSQL cluster,
  one per ALLOWED_CONTENT_CHECKSUMS value (``BenchPulp``);
- a settings file written from the stack's ``.run/settings.py`` (the same
  pulpcore settings) with only what must differ overridden: the database, the
  media and working directories, the content origin, the Redis database (1, 2, ...:
  no two content caches share keys) and ``ALLOWED_CONTENT_CHECKSUMS``,
  which the benchmark varies;
- its own ``pulpcore-api``, ``pulpcore-content`` (2 workers, like the stack's)
  and one ``pulpcore-worker`` on free ports, stopped on exit (``BenchPulp`` is
  a context manager; ``stop`` ends each process group it started, by pid).
"""

import fcntl
import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
RUN = ROOT / ".run"
BENCH = RUN / "bench"
VENV = BENCH / "venv"
DB_PREFIX = "pulp_bench"
PG_PORT = int(os.environ.get("PG_PORT", "24815"))
# The pulpcore release of .venv is pinned at install time (same version in both Pulps).
# pulp_container 2.30.0 and pulp_rpm 3.39.4 both require pulpcore>=3.118.0,<3.130.
PACKAGES = ["pulp_container==2.30.0", "pulp_rpm==3.39.4", "oras==0.2.43", "py-spy==0.4.3"]
# pulpcore's own default; the stack's setting comes from .run/settings.py.
PULPCORE_DEFAULT_CHECKSUMS = ["sha224", "sha256", "sha384", "sha512"]


def log(message):
    print(f"[bench-sync] {message}", flush=True)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def pulpcore_version():
    from importlib.metadata import version

    return version("pulpcore")


def ensure_venv():
    """Create .run/bench/venv with pulpcore (as .venv), pulp_container, pulp_rpm, oras, py-spy.

    pulp_rpm 3.39.4 pins productmd~=1.33.0 and this plugin needs productmd>=1.38:
    the plugin is installed last, pip upgrades productmd to what the plugin needs and
    warns about pulp_rpm's pin (pulp_rpm's distribution-tree sync works with it).
    A stamp file skips all of this when nothing changed. Functional tests use this venv
    too (tests/functional/test_push_pulp_container.py): a lock keeps two sessions from
    building it at once.
    """
    wanted = f"pulpcore=={pulpcore_version()} " + " ".join(PACKAGES)
    stamp = VENV / ".bench-installed"
    setup = (ROOT / "setup.py").read_text() + (ROOT / "requirements.txt").read_text()
    wanted += " " + hashlib.sha256(setup.encode()).hexdigest()[:16]
    BENCH.mkdir(parents=True, exist_ok=True)
    with open(BENCH / "venv.lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (stamp.exists() and stamp.read_text() == wanted):
            _build_venv(wanted, stamp)


def _build_venv(wanted, stamp):
    log(f"building the bench virtualenv in {VENV.relative_to(ROOT)}: {wanted}")
    if not (VENV / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    pip = [str(VENV / "bin" / "pip"), "install", "-q"]
    subprocess.run(pip + ["--upgrade", "pip"], check=True)
    subprocess.run(pip + [f"pulpcore=={pulpcore_version()}", *PACKAGES], check=True)
    subprocess.run(pip + ["-e", str(ROOT)], check=True)
    stamp.write_text(wanted)


def pg_bin():
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: p.parent.name)
    return versions[-1]


def psql(sql):
    return subprocess.run(
        [str(pg_bin() / "psql"), "-h", "127.0.0.1", "-p", str(PG_PORT), "-U", "postgres"]
        + ["-tAq", "-c", sql],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def ensure_database(name):
    """A database owned by the stack's role pulp, in the stack's cluster."""
    if psql(f"SELECT 1 FROM pg_database WHERE datname='{name}'") != "1":
        log(f"creating database {name} on 127.0.0.1:{PG_PORT}")
        psql(f"CREATE DATABASE {name} OWNER pulp")


def stack_checksums():
    """ALLOWED_CONTENT_CHECKSUMS of the stack's settings file (pulpcore's default if unset)."""
    scope = {}
    exec(compile((RUN / "settings.py").read_text(), "settings.py", "exec"), scope)
    return list(scope.get("ALLOWED_CONTENT_CHECKSUMS", PULPCORE_DEFAULT_CHECKSUMS))


class BenchPulp:
    """One bench Pulp, for one ALLOWED_CONTENT_CHECKSUMS value.

    Each value has its own database (pulp_bench_<digests>) and directory
    (.run/bench/pulp-<digests>/: settings, media, logs), so that one Pulp per value can
    run side by side and the cases take turns (the machine's load drifts alike for all).
    """

    def __init__(self, checksums, redis_db=1):
        self.checksums = list(checksums)
        self.redis_db = redis_db
        self.tag = "_".join(self.checksums)
        self.db = f"{DB_PREFIX}_{self.tag}"
        self.dir = BENCH / f"pulp-{self.tag}"
        self.api_port = free_port()
        self.content_port = free_port()
        self.api = f"http://127.0.0.1:{self.api_port}"
        self.content = f"http://127.0.0.1:{self.content_port}"
        self.media = self.dir / "media"
        self.settings = self.dir / "settings.py"
        self.log_dir = self.dir / "log"
        self.processes = {}

    # --- setup ---------------------------------------------------------------------------

    def write_settings(self):
        for path in (self.media, self.dir / "tmp", self.log_dir):
            path.mkdir(parents=True, exist_ok=True)
        stack = (RUN / "settings.py").read_text()
        scope = {}
        exec(compile(stack, "settings.py", "exec"), scope)
        # A Redis database of its own (1, 2, ...): the stack's content cache (database 0)
        # and the other bench Pulp's never see this one's keys.
        redis = ""
        if scope.get("REDIS_URL"):
            url = f"{scope['REDIS_URL'].rsplit('/', 1)[0]}/{self.redis_db}"
            redis = f"REDIS_URL = {url!r}\n"
        overrides = f"""
# --- bench/sync_pulp.py: the bench Pulp. Everything above is the stack's .run/settings.py;
# only what must differ is overridden here.
DATABASES = {{"default": {{"ENGINE": "django.db.backends.postgresql", "NAME": "{self.db}",
             "USER": "pulp", "HOST": "127.0.0.1", "PORT": {PG_PORT}}}}}
CONTENT_ORIGIN = "{self.content}"
MEDIA_ROOT = "{self.media}"
WORKING_DIRECTORY = "{self.dir / "tmp"}"
FILE_UPLOAD_TEMP_DIR = "{self.dir / "tmp"}"
STATIC_ROOT = "{self.dir / "static"}"
{redis}ALLOWED_CONTENT_CHECKSUMS = {self.checksums!r}
"""
        self.settings.write_text(stack + overrides)

    def env(self):
        env = dict(os.environ)
        env["PULP_SETTINGS"] = str(self.settings)
        env["DJANGO_SETTINGS_MODULE"] = "pulpcore.app.settings"
        env["PATH"] = f"{VENV / 'bin'}:{env.get('PATH', '')}"
        env.pop("VIRTUAL_ENV", None)
        return env

    def manager(self, *args, check=True):
        result = subprocess.run(
            [str(VENV / "bin" / "pulpcore-manager"), *args],
            env=self.env(),
            cwd=self.dir,
            capture_output=True,
            text=True,
        )
        if check and result.returncode:
            raise RuntimeError(f"pulpcore-manager {' '.join(args)}: {result.stderr[-3000:]}")
        return result

    def prepare(self):
        ensure_database(self.db)
        self.write_settings()
        started = time.monotonic()
        self.manager("migrate", "--noinput")
        self.manager("reset-admin-password", "--password", "password")
        # A change of ALLOWED_CONTENT_CHECKSUMS on an existing database: fill in or drop
        # the digests of artifacts already stored (there are none left after a cleanup).
        self.manager("handle-artifact-checksums")
        log(f"bench database ready ({time.monotonic() - started:.1f}s)")

    # --- processes -----------------------------------------------------------------------

    def spawn(self, name, argv):
        log_file = open(self.log_dir / f"{name}.log", "ab")
        self.processes[name] = subprocess.Popen(
            argv,
            cwd=self.dir,
            env=self.env(),
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log_file.close()

    def start(self):
        self.prepare()
        bin_ = VENV / "bin"
        self.spawn("api", [str(bin_ / "pulpcore-api"), "--bind", f"127.0.0.1:{self.api_port}"])
        self.spawn(
            "content",
            [str(bin_ / "pulpcore-content"), "--bind", f"127.0.0.1:{self.content_port}"]
            + ["--workers", "2"],
        )
        self.spawn("worker", [str(bin_ / "pulpcore-worker")])
        deadline = time.monotonic() + 120
        while True:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    tail = (self.log_dir / f"{name}.log").read_text()[-3000:]
                    raise RuntimeError(f"bench {name} exited: {tail}")
            try:
                status = requests.get(f"{self.api}/pulp/api/v3/status/", timeout=5).json()
                requests.get(f"{self.content}/pulp/content/", timeout=5).raise_for_status()
                mine = [w for w in status["online_workers"] if f"{self.worker_pid}@" in w["name"]]
                if mine:
                    break
            except (requests.RequestException, ValueError, KeyError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the bench Pulp did not come up in 120 s")
            time.sleep(0.5)
        log(
            f"bench Pulp up: API {self.api}, content {self.content}, worker pid "
            f"{self.worker_pid}, ALLOWED_CONTENT_CHECKSUMS={self.checksums}"
        )
        return self

    @property
    def worker_pid(self):
        return self.processes["worker"].pid

    def stop(self):
        for process in self.processes.values():
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for name, process in list(self.processes.items()):
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                process.wait(timeout=10)
            del self.processes[name]

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc_info):
        self.stop()
