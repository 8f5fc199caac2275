"""A second Pulp next to the dev stack, for functional tests that need other settings.

Some cases cannot run on the stack itself: domains (``DOMAIN_ENABLED = True``), an
import/export or a replication between two Pulps. ``SecondPulp`` runs one more Pulp
beside the stack, sharing what is safe to share and nothing else:

- the stack's ``.venv`` (the plugin is installed there, editable: the second Pulp runs
  the checkout's code) and the stack's settings file ``.run/settings.py``, with only what
  must differ overridden, then the caller's ``settings`` (e.g. ``{"DOMAIN_ENABLED": True}``);
- a database of its own in the stack's PostgreSQL cluster, ``pulp_second_<name>_<slot>``
  (owner ``pulp``), new for every start and dropped by ``stop()``: a copy of the
  template database ``pulp_second_template``, which holds pulpcore's and the plugin's
  migrations and the admin user. Copying it takes well under a second; migrating a new
  database takes ~12 s, paid only when the template is behind the code (the installed
  packages, the plugin's migrations or its viewsets, whose access policies ``migrate``
  stores, changed: the template's comment records a fingerprint of them), and then the
  template is rebuilt from scratch, so a migration edited in place is applied too;
- its own MEDIA_ROOT, WORKING_DIRECTORY, ALLOWED_EXPORT_PATHS (``exports``) and logs
  below ``.run/second/<name>-<slot>/`` (media, exports and tmp emptied on start: the
  database is new);
- its own Redis database (8 to 15, the first one no other second Pulp holds; the stack
  uses 0 and bench/sync_pulp.py 1 and up), emptied on start, or no cache
  (``cache=False``);
- its own ``pulpcore-api``, ``pulpcore-content`` and one ``pulpcore-worker`` on free
  ports, with gunicorn's control socket off (by default every gunicorn of a user shares
  one socket, and the second Pulp's would take over the stack's);
- user ``admin``, password ``password``.

``SecondPulp(..., venv=path)`` runs the Pulp of another virtualenv instead of the stack's
(``bench/sync_pulp.py``'s, which has pulp_container and pulp_rpm beside the plugin): its
template database is its own (``pulp_second_template_<hash of the path>``, fingerprinted
on that venv's packages). ``SecondPulp(..., migrate=True)`` migrates that template from
scratch at every start, whatever its fingerprint says: for a venv whose plugin is a
freshly built wheel of an unchanged version (tests/functional/test_install.py), whose
migrations must run from the wheel itself. ``settings`` may be a callable of the
SecondPulp, called once its ports are known, for settings that name them
(pulp_container's ``TOKEN_SERVER``).

Two test sessions may start a second Pulp of the same name at once (two engineers
running the same test file): each takes the first free slot (a lock file held while
it runs), so no two Pulps share a database, a directory or a Redis database. A session
killed before ``stop()`` leaves processes behind: the next start in that slot ends
them (only the pids the slot recorded, each checked to run the slot's settings).

``start()`` returns once the API answers, the content app answers and this Pulp's
worker is online (polled, never a fixed wait); ``stop()`` ends each process group it
started, by pid, and drops the database with its media and exports (the logs stay). It
is a context manager; the functional tests start it from a module- or session-scoped
fixture::

    @pytest.fixture(scope="module")
    def pulp():
        with SecondPulp("domains", settings={"DOMAIN_ENABLED": True}) as running:
            yield running

``pulp.api(domain=None)`` is a ``tests.support.pulp.PulpAPI`` on its REST API (under
``/pulp/<domain>/api/v3/`` when a domain is given); ``pulp.content`` is its content
app's URL; ``pulp.timings`` says what the start cost. ``SecondPulp(..., guest_boot=True)``
lets its distributions send QEMU guests to it: ``pulp.guest_origin`` (10.0.2.2 and its
content port) is in its KICKSTART_BOOT_HOSTS, for a ``boot_origin``.
"""

import contextlib
import fcntl
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import textwrap
import time
from pathlib import Path

import requests

from tests.support.pulp import PulpAPI

ROOT = Path(__file__).resolve().parents[2]
RUN = ROOT / ".run"
SECOND = RUN / "second"
VENV = ROOT / ".venv"
PG_PORT = int(os.environ.get("PG_PORT", "24815"))
TEMPLATE = "pulp_second_template"
# Redis databases for second Pulps: the stack's content cache is 0, the sync benchmark's
# Pulps take 1, 2, ... (bench/sync_pulp.py); Redis has 16 by default.
REDIS_DATABASES = range(8, 16)
SLOTS = 4
ADMIN = ("admin", "password")
STARTUP_SECONDS = 180
GUEST_GATEWAY = "10.0.2.2"  # the host, as QEMU's user network shows it to a guest

# Run with the template's settings: migrate everything, create the admin.
PREPARE_TEMPLATE = textwrap.dedent(
    """
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    call_command("reset-admin-password", password="password")
    """
)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _lock(path, wait=False):
    """An exclusive lock on ``path`` held by the returned file; None if taken and not ``wait``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
    except BlockingIOError:
        handle.close()
        return None
    return handle


def _postgres():
    """A connection to the stack's cluster as its role ``pulp`` (which may create databases)."""
    import psycopg

    return psycopg.connect(
        host="127.0.0.1", port=PG_PORT, user="pulp", dbname="postgres", autocommit=True
    )


def _fingerprint(venv=VENV):
    """What the template's contents follow: the venv's installed packages (names and
    versions), the plugin's migrations and its viewsets (their bytes: the plugin is an
    editable install). ``migrate`` writes the viewsets' access policies and locked roles
    into the database, so a policy changed without a migration must rebuild it too."""
    digest = hashlib.sha256()
    for info in sorted((venv / "lib").glob("python*/site-packages/*.dist-info")):
        digest.update(info.name.encode() + b"\n")
    app = ROOT / "pulp_kickstart_oci" / "app"
    for source in sorted([*app.glob("migrations/*.py"), *app.glob("**/viewsets*.py")]):
        digest.update(str(source.relative_to(app)).encode() + b"\0" + source.read_bytes())
    return digest.hexdigest()


def _database_comment(connection, name):
    row = connection.execute(
        "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
        (name,),
    ).fetchone()
    return None if row is None else (row[0] or "")


def settings_file(database, directory, content_origin, cache_line, overrides):
    """The stack's settings file, then what a second Pulp must change, then ``overrides``."""
    tmp = str(directory / "tmp")
    own = {
        "DATABASES": {
            "default": {
                "ENGINE": "django.db.backends.postgresql",
                "NAME": database,
                "USER": "pulp",
                "HOST": "127.0.0.1",
                "PORT": PG_PORT,
            }
        },
        "CONTENT_ORIGIN": content_origin,
        "MEDIA_ROOT": str(directory / "media"),
        "WORKING_DIRECTORY": tmp,
        "FILE_UPLOAD_TEMP_DIR": tmp,
        "STATIC_ROOT": str(directory / "static"),
        "ALLOWED_EXPORT_PATHS": [str(directory / "exports")],
        # The stack lists its own content port for QEMU guests: not this Pulp's.
        "KICKSTART_BOOT_HOSTS": [],
    }
    lines = [f"{key} = {value!r}" for key, value in {**own, **overrides}.items()]
    return (
        (RUN / "settings.py").read_text()
        + "\n# --- tests/support/second_pulp.py: above is the stack's .run/settings.py; "
        + "below what this Pulp changes.\n"
        + cache_line
        + "\n".join(lines)
        + "\n"
    )


def _environment(settings_path, venv=VENV):
    """A Pulp process's environment: ``settings_path``, the venv, no PULP_* of ours."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULP_")}
    env.pop("VIRTUAL_ENV", None)
    env["PULP_SETTINGS"] = str(settings_path)
    env["DJANGO_SETTINGS_MODULE"] = "pulpcore.app.settings"
    env["PATH"] = f"{venv / 'bin'}:{env.get('PATH', '')}"
    return env


def template_of(venv):
    """The template database of a venv's Pulp: ``pulp_second_template`` for the stack's."""
    if Path(venv) == VENV:
        return TEMPLATE
    return f"{TEMPLATE}_{hashlib.sha256(str(venv).encode()).hexdigest()[:8]}"


def ensure_template(venv=VENV, force=False):
    """The template database, rebuilt (migrated from scratch) when its fingerprint is stale
    (or always, with ``force``).

    Returns the seconds spent migrating (0 when the template was current). The caller
    holds the template lock: nothing else may connect to it while it is copied.
    """
    wanted = _fingerprint(venv)
    template = template_of(venv)
    with _postgres() as connection:
        if not force and _database_comment(connection, template) == wanted:
            return 0.0
        started = time.monotonic()
        connection.execute(f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{template}" OWNER pulp')
        directory = SECOND / template.removeprefix("pulp_second_")
        shutil.rmtree(directory, ignore_errors=True)
        (directory / "tmp").mkdir(parents=True)
        settings_path = directory / "settings.py"
        origin = "http://127.0.0.1:1"  # never served: the template only gets migrated
        settings_path.write_text(
            settings_file(template, directory, origin, "CACHE_ENABLED = False\n", {})
        )
        result = subprocess.run(
            [str(venv / "bin" / "python"), "-c", PREPARE_TEMPLATE],
            cwd=directory,
            env=_environment(settings_path, venv),
            capture_output=True,
            text=True,
            timeout=900,
        )
        if result.returncode:
            raise SecondPulpError(f"migrating {template} failed:\n{result.stderr[-3000:]}")
        connection.execute(f"COMMENT ON DATABASE \"{template}\" IS '{wanted}'")
        return time.monotonic() - started


class SecondPulpError(RuntimeError):
    pass


class SecondPulp:
    """One more Pulp beside the dev stack (see the module's docstring)."""

    def __init__(self, name, settings=None, cache=True, guest_boot=False, venv=None, migrate=False):
        if not name.replace("_", "").isalnum() or not name.islower():
            raise ValueError(f"a second Pulp's name is lower-case letters, digits and _: {name!r}")
        self.name = name
        # A dict, or a callable of this SecondPulp giving one once its ports are known.
        self.overrides = settings if callable(settings) else dict(settings or {})
        self.venv = Path(venv) if venv else VENV
        self.migrate = migrate  # rebuild the template at every start (see the module's doc)
        self.cache = cache
        # QEMU guests may boot from it: its content port as the guests see the host is in
        # KICKSTART_BOOT_HOSTS (the port is only known at start), see ``guest_origin``.
        self.guest_boot = guest_boot
        self.slot = None
        self.redis_db = None
        self.processes = {}
        self.timings = {}
        self._locks = []
        self.api_port = self.content_port = None

    # --- where things are ----------------------------------------------------------------

    @property
    def dir(self):
        return SECOND / f"{self.name}-{self.slot}"

    @property
    def database(self):
        return f"pulp_second_{self.name}_{self.slot}"

    @property
    def base(self):
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def content(self):
        return f"http://127.0.0.1:{self.content_port}"

    @property
    def guest_origin(self):
        """Its content app as a QEMU guest reaches it (user network: the host is 10.0.2.2)."""
        return f"http://{GUEST_GATEWAY}:{self.content_port}"

    @property
    def exports(self):
        """This Pulp's ALLOWED_EXPORT_PATHS (one directory)."""
        return self.dir / "exports"

    @property
    def media(self):
        return self.dir / "media"

    @property
    def redis_url(self):
        scope = {}
        exec(compile((RUN / "settings.py").read_text(), "settings.py", "exec"), scope)
        return f"{scope['REDIS_URL'].rsplit('/', 1)[0]}/{self.redis_db}"

    def api(self, domain=None, auth=ADMIN):
        """A PulpAPI on this Pulp, inside ``domain`` when given (``/pulp/<domain>/api/v3/``)."""
        return DomainAPI(self.base, domain, auth)

    def log(self, process):
        """What a process of this Pulp logged (``api``, ``content`` or ``worker``)."""
        return (self.dir / "log" / f"{process}.log").read_text(errors="replace")

    # --- setup ---------------------------------------------------------------------------

    def _take_slot(self):
        for slot in range(1, SLOTS + 1):
            held = _lock(SECOND / f"{self.name}-{slot}.lock")
            if held is not None:
                self.slot = slot
                self._locks.append(held)
                break
        else:
            raise SecondPulpError(f"{SLOTS} second Pulps named {self.name!r} already run")
        if self.cache:
            for number in REDIS_DATABASES:
                held = _lock(SECOND / f"redis-{number}.lock")
                if held is not None:
                    self.redis_db = number
                    self._locks.append(held)
                    return
            raise SecondPulpError(f"every Redis database in {REDIS_DATABASES} is taken")

    def _new_database(self):
        """This slot's database: a fresh copy of the (current) template."""
        with _lock(SECOND / "template.lock", wait=True):
            migrating = ensure_template(self.venv, force=self.migrate)
            self.timings["migrate_seconds"] = round(migrating, 1)
            template = template_of(self.venv)
            with _postgres() as connection:
                connection.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
                connection.execute(f'CREATE DATABASE "{self.database}" TEMPLATE "{template}"')

    def _drop_database(self):
        """The database and the files that were its artifacts and exports; logs stay."""
        with _postgres() as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
        for sub in ("media", "tmp", "exports"):
            shutil.rmtree(self.dir / sub, ignore_errors=True)

    def prepare(self):
        """Empty directories, the settings file, a new database, an empty Redis database."""
        for sub in ("media", "tmp", "exports"):
            shutil.rmtree(self.dir / sub, ignore_errors=True)  # a killed session's
        for sub in ("media", "tmp", "log", "exports"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        if self.cache:
            cache_line = f"CACHE_ENABLED = True\nREDIS_URL = {self.redis_url!r}\n"
        else:
            cache_line = "CACHE_ENABLED = False\n"
        overrides = dict(self.overrides(self) if callable(self.overrides) else self.overrides)
        if self.guest_boot:
            overrides.setdefault("KICKSTART_BOOT_HOSTS", [f"{GUEST_GATEWAY}:{self.content_port}"])
        (self.dir / "settings.py").write_text(
            settings_file(self.database, self.dir, self.content, cache_line, overrides)
        )
        self._new_database()
        if self.cache:
            import redis

            with redis.Redis.from_url(self.redis_url) as cache:
                cache.flushdb()

    # --- processes -----------------------------------------------------------------------

    def env(self):
        """The environment of this Pulp's processes: its settings file, its venv."""
        return _environment(self.dir / "settings.py", self.venv)

    def _spawn(self, name, argv):
        with open(self.dir / "log" / f"{name}.log", "ab") as log:
            self.processes[name] = subprocess.Popen(
                argv,
                cwd=self.dir,
                env=self.env(),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        pids = " ".join(str(process.pid) for process in self.processes.values())
        (self.dir / "pids").write_text(pids + "\n")

    def _end_leftovers(self):
        """End the process groups a killed session left running in this slot.

        Only groups this slot started are ended: the pids it recorded, each checked to
        still run this slot's settings file.
        """
        recorded = self.dir / "pids"
        if not recorded.exists():
            return
        mark = f"PULP_SETTINGS={self.dir / 'settings.py'}".encode()
        leftovers = []
        for pid in map(int, recorded.read_text().split()):
            try:
                environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
            except OSError:
                continue
            if mark in environ:
                leftovers.append(pid)
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        while any(Path(f"/proc/{pid}").exists() for pid in leftovers):
            if time.monotonic() > deadline:
                for pid in leftovers:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(pid, signal.SIGKILL)
                break
            time.sleep(0.2)  # polling interval while they exit
        recorded.unlink()

    def _ready(self):
        """True once the API, the content app and this Pulp's worker answer."""
        try:
            status = requests.get(f"{self.base}/pulp/api/v3/status/", timeout=5)
            content = requests.get(f"{self.content}/pulp/content/", timeout=5)
        except requests.RequestException:
            return False
        if status.status_code != 200 or content.status_code >= 500:
            return False
        worker = f"{self.processes['worker'].pid}@"
        return any(w["name"].startswith(worker) for w in status.json()["online_workers"])

    def start(self):
        started = time.monotonic()
        self._take_slot()
        self._end_leftovers()
        self.api_port, self.content_port = free_port(), free_port()
        self.prepare()
        self.timings["prepare_seconds"] = round(time.monotonic() - started, 1)
        gunicorn = ["--workers", "1", "--no-control-socket"]
        bin_ = self.venv / "bin"
        self._spawn(
            "api",
            [str(bin_ / "pulpcore-api"), "--bind", f"127.0.0.1:{self.api_port}", *gunicorn]
            + ["--timeout", "120"],
        )
        self._spawn(
            "content",
            [str(bin_ / "pulpcore-content"), "--bind", f"127.0.0.1:{self.content_port}"] + gunicorn,
        )
        self._spawn("worker", [str(bin_ / "pulpcore-worker")])
        deadline = time.monotonic() + STARTUP_SECONDS
        while not self._ready():
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise SecondPulpError(f"{name} exited:\n{self.log(name)[-3000:]}")
            if time.monotonic() > deadline:
                raise SecondPulpError(f"not up after {STARTUP_SECONDS} s; see {self.dir}/log")
            time.sleep(0.2)  # polling interval, not a wait for something to happen
        self.timings["start_seconds"] = round(time.monotonic() - started, 1)
        return self

    def stop(self):
        """End each process group this object started (SIGKILL after 30 s), drop the database."""
        for process in self.processes.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        if self.processes:
            (self.dir / "pids").unlink(missing_ok=True)
        self.processes.clear()
        if self.slot is not None:
            self._drop_database()
        for held in self._locks:
            held.close()
        self._locks.clear()

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc_info):
        self.stop()

    # --- domains -------------------------------------------------------------------------

    def create_domain(self, name, **fields):
        """A domain (DOMAIN_ENABLED) storing its files below this Pulp's MEDIA_ROOT."""
        body = {
            "name": name,
            "storage_class": "pulpcore.app.models.storage.FileSystem",
            "storage_settings": {"location": str(self.media / "domains" / name)},
            **fields,
        }
        return self.api("default").create("domains/", body)


class DomainAPI(PulpAPI):
    """PulpAPI whose relative paths are under ``/pulp/<domain>/api/v3/`` (or ``/pulp/api/v3/``)."""

    def __init__(self, base, domain=None, auth=ADMIN):
        super().__init__(base, auth)
        self.domain = domain
        self.root = f"/pulp/{domain}/api/v3/" if domain else "/pulp/api/v3/"

    def url(self, path):
        if not path.startswith(("http://", "https://", "/")):
            path = self.root + path
        return super().url(path)
