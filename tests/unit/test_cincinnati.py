"""The update graph of netboot/cincinnati.py against the graph Fedora's service draws.

The worked example is coreos/fedora-coreos-cincinnati's builder on four releases: a
barrier, two rollouts; edges only to rollouts and barriers, none leaving a dead end,
node metadata all strings, ``age_index`` the position in the full release index.
"""

import json

import pytest

from pulp_kickstart_oci.app.netboot import cincinnati

P = "org.fedoraproject.coreos."
REPO = "quay.io/fedora/fedora-coreos"
VERSIONS = ["43.20260330.3.1", "43.20260413.3.2", "44.20260621.3.1", "44.20260707.3.1"]
BARRIER = "https://docs.fedoraproject.org/en-US/fedora-coreos/update-barrier-signing-keys/"


def _release(number, version, oci=True, commit=True):
    entry = {"version": version, "metadata": "https://example/release.json"}
    if commit:
        entry["commits"] = [{"architecture": "x86_64", "checksum": str(number) * 64}]
    if oci:
        entry["oci-images"] = [
            {
                "image": f"{REPO}:stable",
                "digest-ref": f"{REPO}@sha256:{str(number) * 64}",
                "architecture": "x86_64",
            }
        ]
    return entry


def _index(releases=None, stream="stable"):
    releases = releases or [_release(n, v) for n, v in enumerate(VERSIONS)]
    return json.dumps(
        {"note": "x", "releases": releases, "metadata": {}, "stream": stream}
    ).encode()


UPDATES = {
    "stream": "stable",
    "metadata": {"last-modified": "2026-07-21T14:07:12Z"},
    "releases": [
        {"version": VERSIONS[1], "metadata": {"barrier": {"reason": BARRIER}}},
        {"version": VERSIONS[2], "metadata": {"rollout": {"start_percentage": 1.0}}},
        {
            "version": VERSIONS[3],
            "metadata": {
                "rollout": {
                    "duration_minutes": 2880,
                    "start_epoch": 1784728800,
                    "start_percentage": 0.0,
                }
            },
        },
    ],
}


def _record(index=None, updates=UPDATES):
    raw = None if updates is None else json.dumps(updates).encode()
    return cincinnati.index_record(index or _index(), raw, "test", "stable")


@pytest.mark.parametrize("oci", [True, False])
def test_the_worked_example_is_fedoras_graph(oci):
    graph = cincinnati.graph(_record(), "x86_64", oci)
    assert graph["edges"] == [[1, 3], [2, 3], [1, 2], [0, 1]]
    assert [node["version"] for node in graph["nodes"]] == VERSIONS
    scheme = "oci" if oci else "checksum"
    for number, node in enumerate(graph["nodes"]):
        assert node["metadata"][P + "scheme"] == scheme
        assert node["metadata"][P + "releases.age_index"] == str(number)
        assert all(isinstance(value, str) for value in node["metadata"].values())
        expected = f"{REPO}@sha256:{str(number) * 64}" if oci else str(number) * 64
        assert node["payload"] == expected
    assert graph["nodes"][1]["metadata"][P + "updates.barrier"] == "true"
    assert graph["nodes"][1]["metadata"][P + "updates.barrier_reason"] == BARRIER
    assert graph["nodes"][2]["metadata"][P + "updates.start_value"] == "1"
    last = graph["nodes"][3]["metadata"]
    assert (last[P + "updates.start_epoch"], last[P + "updates.start_value"]) == ("1784728800", "0")
    assert last[P + "updates.duration_minutes"] == "2880"


def test_releases_without_a_payload_of_the_scheme_are_left_out_but_keep_their_age():
    releases = [_release(n, v) for n, v in enumerate(VERSIONS)]
    releases[0] = _release(0, VERSIONS[0], oci=False)
    releases[3] = _release(3, VERSIONS[3], commit=False)  # an OCI-only release
    record = _record(_index(releases))
    oci = cincinnati.graph(record, "x86_64", True)
    assert [n["metadata"][P + "releases.age_index"] for n in oci["nodes"]] == ["1", "2", "3"]
    assert oci["edges"] == [[0, 2], [1, 2], [0, 1]]
    checksum = cincinnati.graph(record, "x86_64", False)
    assert [n["version"] for n in checksum["nodes"]] == VERSIONS[:3]
    assert cincinnati.graph(record, "aarch64", True) == {"nodes": [], "edges": []}


def test_a_dead_end_keeps_its_node_and_loses_its_outgoing_edges():
    updates = json.loads(json.dumps(UPDATES))
    updates["releases"].append(
        {"version": VERSIONS[0], "metadata": {"deadend": {"reason": "https://x.example/215"}}}
    )
    graph = cincinnati.graph(_record(updates=updates), "x86_64", True)
    assert graph["nodes"][0]["metadata"][P + "updates.deadend"] == "true"
    assert [1, 3] in graph["edges"] and not [e for e in graph["edges"] if e[0] == 0]


def test_without_an_update_policy_there_are_nodes_and_no_edges():
    graph = cincinnati.graph(_record(updates=None), "x86_64", True)
    assert len(graph["nodes"]) == 4 and graph["edges"] == []


def test_payload_repository_renames_oci_payloads_only():
    graph = cincinnati.graph(_record(), "x86_64", True, payload_repository="mirror.example:5000/fc")
    assert graph["nodes"][0]["payload"] == "mirror.example:5000/fc@sha256:" + "0" * 64
    assert (
        cincinnati.graph(_record(), "x86_64", False, "mirror.example/fc")["nodes"][0]["payload"]
        == "0" * 64
    )
    with pytest.raises(cincinnati.CincinnatiError):
        cincinnati.payload_repository("Mirror.example/fc@sha256:x")


def _with(number, **changes):
    release = _release(number, VERSIONS[number])
    release.update(changes)
    return release


@pytest.mark.parametrize(
    "index,updates,problem",
    [
        (b'{"stream":"stable","stream":"next","releases":[]}', None, "twice"),
        (_index(stream="next"), None, "not stream"),
        (_index([_with(0, version="44.2026 0707")]), None, "not a CoreOS release"),
        (_index([_release(0, VERSIONS[0]), _release(1, VERSIONS[0])]), None, "twice"),
        (
            _index([_with(0, **{"oci-images": [{"architecture": "x86_64", "digest-ref": "q:1"}]})]),
            None,
            "pullspec by digest",
        ),
        (
            _index([_with(0, commits=[{"architecture": "x86_64", "checksum": "zz"}])]),
            None,
            "commit",
        ),
        (
            _index(),
            {
                "stream": "stable",
                "releases": [
                    {"version": VERSIONS[1], "metadata": {"barrier": {"reason": "javascript:x"}}}
                ],
            },
            "http(s) URL",
        ),
        (_index(), {"stream": "next", "releases": []}, "not stream"),
        (
            _index(),
            {
                "stream": "stable",
                "releases": [
                    {"version": VERSIONS[1], "metadata": {"rollout": {"start_percentage": 2}}}
                ],
            },
            "from 0 to 1",
        ),
    ],
)
def test_what_is_refused(index, updates, problem):
    raw = None if updates is None else json.dumps(updates).encode()
    with pytest.raises(cincinnati.CincinnatiError) as raised:
        cincinnati.index_record(index, raw, "test", "stable")
    assert problem in str(raised.value)


def test_too_many_releases_are_refused(monkeypatch):
    monkeypatch.setattr(cincinnati, "MAX_RELEASES", 3)
    with pytest.raises(cincinnati.CincinnatiError, match="more than 3"):
        _record()


def test_a_stored_record_is_checked_again():
    record = _record()
    assert cincinnati.from_record(record) == record
    record["releases"][0]["oci_images"]["x86_64"] = "evil payload"
    with pytest.raises(cincinnati.CincinnatiError):
        cincinnati.from_record(record)


@pytest.mark.parametrize(
    "params,expected",
    [
        ({"basearch": "x86_64", "stream": "stable"}, ("x86_64", "stable", False)),
        (
            {"basearch": "aarch64", "stream": "next", "oci": "true", "node_uuid": "x"},
            ("aarch64", "next", True),
        ),
    ],
)
def test_query(params, expected):
    assert cincinnati.query(params) == expected


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"basearch": "x86_64"},
        {"basearch": "X 86", "stream": "s"},
        {"basearch": "x86_64", "stream": "s", "oci": "yes"},
    ],
)
def test_a_bad_query_is_a_cincinnati_error(params):
    with pytest.raises(cincinnati.GraphQueryError) as raised:
        cincinnati.query(params)
    assert set(raised.value.body()) == {"kind", "value"}
