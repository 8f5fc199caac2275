"""Schema-driven fuzzing of the plugin's own REST endpoints: no input may cause a 5xx.

schemathesis generates requests, valid (positive) and invalid (negative), from the
OpenAPI schema Pulp publishes for the kickstart component. Every operation that
names an object runs against objects this module creates; objects the fuzzing
creates are deleted afterwards. Remote URLs in generated bodies are replaced by a
closed local port, so the syncs it dispatches fail at once without reaching out.
"""

import re

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from pulpcore.tests.functional.utils import PulpTaskError

from pulp_kickstart_oci.testing import fedora

CLOSED = "http://127.0.0.1:9"
# Basic auth costs a password hash (~0.25 s) per request: keep the run to a few minutes.
EXAMPLES = {GenerationMode.POSITIVE: 5, GenerationMode.NEGATIVE: 4}

FUZZ_SETTINGS = settings(
    deadline=None,
    derandomize=True,
    database=None,
    # No shrinking: the first failing example is reported as found, in bounded time.
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)

# The object each {pulp_id} path works on, by collection.
COLLECTIONS = {
    "/content/kickstart/trees/": "tree",
    "/distributions/kickstart/kickstart/": "distribution",
    "/remotes/kickstart/dnf/": "dnf_remote",
    "/remotes/kickstart/oci/": "oci_remote",
    "/remotes/kickstart/pulp/": "pulp_remote",
    "/repositories/kickstart/kickstart/": "repository",
}
# The bindings API that deletes an object of a collection the fuzzing may create into.
DELETERS = {
    "/distributions/kickstart/kickstart/": "DistributionsKickstartApi",
    "/remotes/kickstart/coreos/": "RemotesCoreosApi",
    "/remotes/kickstart/dnf/": "RemotesDnfApi",
    "/remotes/kickstart/oci/": "RemotesOciApi",
    "/remotes/kickstart/pulp/": "RemotesPulpApi",
    "/repositories/kickstart/kickstart/": "RepositoriesKickstartApi",
}


def _pulp_id(href):
    return href.rstrip("/").rsplit("/", 1)[1]


@pytest.fixture(scope="session")
def auth(bindings_cfg):
    """The admin credentials the bindings use, for schemathesis' own requests."""
    return (bindings_cfg.username, bindings_cfg.password)


@pytest.fixture(scope="module")
def schema(pulp_api_v3_url, auth):
    # pk_path gives /<collection>/{pulp_id}/ paths instead of the href-only paths of the
    # bindings.
    url = f"{pulp_api_v3_url}docs/api.json?component=kickstart&pk_path=1"
    loaded = schemathesis.openapi.from_url(url, auth=auth, timeout=60)
    return loaded.include(path_regex="/kickstart/")


@pytest.fixture
def targets(
    kickstart_bindings,
    kickstart_upstream,
    kickstart_oci_remote_factory,
    kickstart_dnf_remote_factory,
    kickstart_pulp_remote_factory,
    kickstart_repository_factory,
    kickstart_distribution_factory,
    kickstart_sync,
    monitor_task,
):
    """A synced repository with its remotes, a tree and a distribution; removed afterwards."""
    pusher = kickstart_upstream
    digest, _ = pusher.netboot("42-amd64", fedora.tree_files("42", "amd64", salt=pusher.name))
    oci = kickstart_oci_remote_factory(pusher)
    dnf = kickstart_dnf_remote_factory(url=f"{CLOSED}/os/")
    pulp = kickstart_pulp_remote_factory(url=f"{CLOSED}/pulp/content/fedora/")
    repo = kickstart_repository_factory(remote=oci)
    kickstart_sync(repo)
    # From now on the remote answers nothing: fuzzed syncs fail fast.
    monitor_task(
        kickstart_bindings.RemotesOciApi.partial_update(oci.pulp_href, {"url": CLOSED}).task
    )
    (tree,) = kickstart_bindings.ContentTreesApi.list(digest=digest).results
    distribution = kickstart_distribution_factory(repo)
    return {
        "tree": _pulp_id(tree.pulp_href),
        "distribution": _pulp_id(distribution.pulp_href),
        "dnf_remote": _pulp_id(dnf.pulp_href),
        "oci_remote": _pulp_id(oci.pulp_href),
        "pulp_remote": _pulp_id(pulp.pulp_href),
        "repository": _pulp_id(repo.pulp_href),
    }


@pytest.fixture
def created(kickstart_bindings, monitor_task):
    """Hrefs of what fuzzed requests created, and their tasks; all removed afterwards."""
    record = {"hrefs": [], "tasks": []}
    yield record
    for task_href in record["tasks"]:
        try:
            finished = monitor_task(task_href)
        except PulpTaskError as error:
            finished = error.task
        record["hrefs"].extend(finished.created_resources)
    for href in reversed(record["hrefs"]):
        # Repository versions go with their repository.
        if not href or "/versions/" in href or not re.search(r"/kickstart/[^/]+/[^/]+/$", href):
            continue
        collection = re.search(r"/[^/]+/kickstart/[^/]+/(?=[^/]+/$)", href).group(0)
        deleter = getattr(kickstart_bindings, DELETERS[collection])
        try:
            response = deleter.delete(href)
        except kickstart_bindings.ApiException as error:
            if error.status == 404:  # the fuzzing deleted it already
                continue
            raise
        monitor_task(response.task)


def _path_parameters(path, targets):
    if "{repository_pk}" in path:
        return {"repository_pk": targets["repository"]}
    for prefix, name in COLLECTIONS.items():
        if prefix in path and "{pulp_id}" in path:
            return {"pulp_id": targets[name]}
    return {}


# Known pulpcore bugs, not this plugin's: each gives HTTP 500 on pulp_file's endpoints
# too, and is reported upstream. Generated requests are kept off exactly these inputs.
#
# 1. A UTC offset PostgreSQL cannot store (it allows up to 15:59) in a datetime filter,
#    e.g. ?pulp_last_updated__gte=2020-01-01T00:00+21:33 (Python parses it).
_PG_UNSTORABLE_OFFSET = re.compile(r"[+-](1[6-9]|2[0-9]):?[0-5][0-9](?=$|[,&])")
# 2. An invalid PostgreSQL regular expression in a ``__regex`` / ``__iregex`` filter.
_REGEX_FILTER = re.compile(r"__i?regex$")
# 3. A NUL character in add_role / remove_role bodies (user, group or role names).
_ROLE_ACTION = re.compile(r"/(add|remove)_role/$")
# 4. A related field (href or PRN) given a number, list or object: the href/PRN field
#    calls str.startswith on it.
_RELATED = {"remote", "repository", "repository_version", "content_guard", "base_version"}
_RELATED_LISTS = {"add_content_units", "remove_content_units"}


def _storable(value):
    if isinstance(value, str):
        return _PG_UNSTORABLE_OFFSET.sub("+00:00", value)
    if isinstance(value, list):
        return [_storable(item) for item in value]
    return value


def _as_text(value):
    return value if value is None or isinstance(value, str) else str(value)


def _without_nul(value):
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, list):
        return [_without_nul(item) for item in value]
    return value


def _tame(case):
    """Keep generated requests local, and off the known pulpcore bugs above."""
    if isinstance(case.query, dict):
        for name in [name for name in case.query if _REGEX_FILTER.search(name)]:
            del case.query[name]
        for name, value in case.query.items():
            case.query[name] = _storable(value)
    if isinstance(case.body, dict):
        # Remote and proxy URLs go to a closed port: syncs fail at once, nothing leaves.
        for field in ("url", "proxy_url"):
            if isinstance(case.body.get(field), str):
                case.body[field] = CLOSED
        for field in _RELATED & set(case.body):
            case.body[field] = _as_text(case.body[field])
        for field in _RELATED_LISTS & set(case.body):
            value = case.body[field]
            case.body[field] = [_as_text(v) for v in value] if isinstance(value, list) else value
        if _ROLE_ACTION.search(case.path):
            for field in list(case.body):
                case.body[field] = _without_nul(case.body[field])
    number = case.path_parameters.get("number")
    if isinstance(number, int):
        # Versions 0 and 1 exist; keep most requests on them.
        case.path_parameters["number"] = number % 3


def _record(response, created):
    if response.status_code not in (201, 202):
        return
    try:
        data = response.json()
    except ValueError:
        return
    if isinstance(data, dict):
        if data.get("task"):
            created["tasks"].append(data["task"])
        elif data.get("pulp_href"):
            created["hrefs"].append(data["pulp_href"])


def _operations(schema):
    operations = [result.ok() for result in schema.get_all_operations()]
    # Deleting our objects last keeps them there for every other operation.
    return sorted(operations, key=lambda op: (op.method.upper() == "DELETE", op.label))


def _fuzz(schema, targets, created, auth, mode):
    session = requests.Session()
    failures = []
    operations = _operations(schema)
    assert len(operations) >= 50, [op.label for op in operations]
    for operation in operations:
        strategy = operation.as_strategy(
            generation_mode=mode, path_parameters=_path_parameters(operation.path, targets)
        )

        @settings(FUZZ_SETTINGS, max_examples=EXAMPLES[mode])
        @given(case=strategy)
        def run(case):
            _tame(case)
            response = case.call(session=session, auth=auth, timeout=120)
            _record(response, created)
            case.validate_response(response, checks=[not_a_server_error])

        try:
            run()
        except (Exception, BaseExceptionGroup) as error:  # every operation runs; report all
            failures.append(f"{operation.label}: {error}")
    assert not failures, "\n\n".join(failures)


def test_valid_requests_never_cause_a_server_error(schema, targets, created, auth):
    _fuzz(schema, targets, created, auth, GenerationMode.POSITIVE)


def test_invalid_requests_never_cause_a_server_error(schema, targets, created, auth):
    _fuzz(schema, targets, created, auth, GenerationMode.NEGATIVE)
