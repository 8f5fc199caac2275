"""The update graph of netboot/cincinnati.py against the graph Fedora's service serves.

The worked example is coreos/fedora-coreos-cincinnati's graph builder on four releases
(a barrier, two rollouts): edges only to rollouts and barriers, none leaving a dead
end, node metadata all strings, ``age_index`` the position in the whole release index.
Throttling and wariness are the policy engine's, checked against values Rust computes.
"""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pulp_kickstart_oci.app.netboot import cincinnati, grammar

P = "org.fedoraproject.coreos."
REPO = "quay.io/fedora/fedora-coreos"
VERSIONS = ["43.20260330.3.1", "43.20260413.3.2", "44.20260621.3.1", "44.20260707.3.1"]
BARRIER = "https://docs.fedoraproject.org/en-US/fedora-coreos/update-barrier-signing-keys/"
EPOCH = 1784728800


def _release(number, version=None, oci=True, commit=True, arch="x86_64"):
    version = version or VERSIONS[number]
    entry = {"version": version, "metadata": f"https://example/{version}/release.json"}
    if commit:
        entry["commits"] = [{"architecture": arch, "checksum": str(number) * 64}]
    if oci:
        entry["oci-images"] = [
            {
                "image": f"{REPO}:stable",
                "digest-ref": f"{REPO}@sha256:{str(number) * 64}",
                "architecture": arch,
            }
        ]
    return entry


def _index(releases=None, stream="stable"):
    releases = [_release(n) for n in range(4)] if releases is None else releases
    note = "For use only by Fedora CoreOS internal tooling."
    return json.dumps(
        {"note": note, "releases": releases, "metadata": {}, "stream": stream}
    ).encode()


def _updates(*entries, stream="stable"):
    """An update policy document: ``entries`` are (version number, metadata) pairs."""
    return {
        "stream": stream,
        "metadata": {"last-modified": "2026-07-21T14:07:12Z"},
        "releases": [
            {"version": VERSIONS[number], "metadata": metadata} for number, metadata in entries
        ],
    }


# Fedora's served updates/stable.json, cut to the worked example.
UPDATES = _updates(
    (1, {"barrier": {"reason": BARRIER}}),
    (2, {"rollout": {"start_percentage": 1.0}}),
    (3, {"rollout": {"duration_minutes": 2880, "start_epoch": EPOCH, "start_percentage": 0.0}}),
)


def _record(index=None, updates=UPDATES):
    raw = None if updates is None else json.dumps(updates).encode()
    return cincinnati.index_record(index or _index(), raw, "test", "stable")


def _worked_node(number, scheme, payload):
    """A node of the worked example as coreos-formats.md §4 shows Fedora serving it."""
    metadata = {P + "releases.age_index": str(number), P + "scheme": scheme}
    metadata.update(
        [
            {},
            {P + "updates.barrier": "true", P + "updates.barrier_reason": BARRIER},
            {P + "updates.rollout": "true", P + "updates.start_value": "1"},
            {
                P + "updates.rollout": "true",
                P + "updates.start_epoch": str(EPOCH),
                P + "updates.start_value": "0",
                P + "updates.duration_minutes": "2880",
            },
        ][number]
    )
    return {"version": VERSIONS[number], "metadata": metadata, "payload": payload}


@pytest.mark.parametrize("oci", [True, False])
def test_the_worked_example_is_fedoras_graph(oci):
    graph = cincinnati.graph(_record(), "x86_64", oci)
    scheme = "oci" if oci else "checksum"
    payloads = [f"{REPO}@sha256:{str(n) * 64}" if oci else str(n) * 64 for n in range(4)]
    assert graph == {
        "nodes": [_worked_node(n, scheme, payloads[n]) for n in range(4)],
        "edges": [[1, 3], [2, 3], [1, 2], [0, 1]],  # the builder's emission order
    }
    assert json.loads(json.dumps(graph)) == graph  # plain JSON, as the route sends it


def test_a_release_without_oci_images_leaves_the_oci_graph_and_keeps_the_others_ages():
    """coreos-formats.md §4: release 0 without oci-images, the OCI graph Fedora serves."""
    releases = [_release(0, oci=False)] + [_release(n) for n in range(1, 4)]
    record = _record(_index(releases))
    assert cincinnati.graph(record, "x86_64", True) == {
        "nodes": [_worked_node(n, "oci", f"{REPO}@sha256:{str(n) * 64}") for n in (1, 2, 3)],
        "edges": [[0, 2], [1, 2], [0, 1]],
    }
    checksum = cincinnati.graph(record, "x86_64", False)
    assert [node["version"] for node in checksum["nodes"]] == VERSIONS


def test_a_release_without_commits_leaves_the_checksum_graph():
    """Recent Fedora releases ship OCI images only: no ``commits`` key at all."""
    releases = [_release(n) for n in range(3)] + [_release(3, commit=False)]
    record = _record(_index(releases))
    assert record["releases"][3]["commits"] == {}
    checksum = cincinnati.graph(record, "x86_64", False)
    assert [node["version"] for node in checksum["nodes"]] == VERSIONS[:3]
    assert checksum["edges"] == [[1, 2], [0, 1]]  # the rollout at 3 has no node here
    assert len(cincinnati.graph(record, "x86_64", True)["nodes"]) == 4


def test_another_architecture_has_its_own_graph():
    releases = [_release(0), _release(1, arch="aarch64")]
    record = _record(_index(releases), updates=None)
    assert [n["version"] for n in cincinnati.graph(record, "aarch64", True)["nodes"]] == [
        VERSIONS[1]
    ]
    assert cincinnati.graph(record, "s390x", True) == {"nodes": [], "edges": []}


def test_without_an_update_policy_there_are_nodes_and_no_edges():
    graph = cincinnati.graph(_record(updates=None), "x86_64", True)
    assert len(graph["nodes"]) == 4 and graph["edges"] == []


def test_edges_reach_only_barriers_and_rollouts():
    """A release that is neither gets no incoming edge: hosts wait on it for a rollout."""
    graph = cincinnati.graph(
        _record(updates=_updates((1, {"barrier": {"reason": ""}}))), "x86_64", True
    )
    assert graph["edges"] == [[0, 1]]
    # An empty reason is Fedora's "generic".
    assert graph["nodes"][1]["metadata"][P + "updates.barrier_reason"] == "generic"


def test_a_barrier_fences_the_releases_before_it():
    """Older than a barrier: only the barrier; from it on, the later rollout."""
    updates = _updates((1, {"barrier": {"reason": BARRIER}}), (3, {"rollout": {}}))
    graph = cincinnati.graph(_record(updates=updates), "x86_64", False)
    assert graph["edges"] == [[1, 3], [2, 3], [0, 1]]
    assert graph["nodes"][3]["metadata"][P + "updates.rollout"] == "true"
    assert P + "updates.start_value" not in graph["nodes"][3]["metadata"]


def test_a_barrier_in_rollout_gets_the_rollout_s_edges_only():
    updates = _updates((2, {"barrier": {"reason": BARRIER}, "rollout": {"start_percentage": 1}}))
    graph = cincinnati.graph(_record(updates=updates), "x86_64", True)
    assert graph["edges"] == [[0, 2], [1, 2]]
    metadata = graph["nodes"][2]["metadata"]
    assert metadata[P + "updates.barrier"] == metadata[P + "updates.rollout"] == "true"


def test_a_dead_end_keeps_its_node_and_loses_its_outgoing_edges():
    updates = json.loads(json.dumps(UPDATES))
    updates["releases"][0]["metadata"]["deadend"] = {"reason": "https://x.example/215"}
    updates["releases"].append({"version": VERSIONS[0], "metadata": {"deadend": {"reason": ""}}})
    graph = cincinnati.graph(_record(updates=updates), "x86_64", True)
    assert graph["edges"] == [[2, 3]]  # [1,3], [1,2] and [0,1] left dead ends
    dead = graph["nodes"][1]["metadata"]
    assert (dead[P + "updates.deadend"], dead[P + "updates.deadend_reason"]) == (
        "true",
        "https://x.example/215",
    )
    assert dead[P + "updates.barrier"] == "true"  # a dead end is still a barrier
    assert graph["nodes"][0]["metadata"][P + "updates.deadend_reason"] == "generic"


def test_rollout_values_are_written_as_rust_writes_them():
    updates = _updates(
        (2, {"rollout": {"start_percentage": 0.00001, "start_epoch": -5}}),
        (3, {"rollout": {"start_percentage": 1, "duration_minutes": 0}}),
    )
    nodes = cincinnati.graph(_record(updates=updates), "x86_64", True)["nodes"]
    assert nodes[2]["metadata"][P + "updates.start_value"] == "0.00001"  # never 1e-05
    assert nodes[2]["metadata"][P + "updates.start_epoch"] == "-5"
    assert nodes[3]["metadata"][P + "updates.start_value"] == "1"
    assert nodes[3]["metadata"][P + "updates.duration_minutes"] == "0"


@pytest.mark.parametrize(
    "now,wariness,edges",
    [
        # Before the start: the rollout at 3 is at 0, every wary host waits (2's is at 1).
        (EPOCH - 1, 0.5, [[1, 2], [0, 1]]),
        (EPOCH - 1, 0.0, [[1, 3], [2, 3], [1, 2], [0, 1]]),  # a host that is not wary at all
        # Halfway through 2880 minutes: at 0.5, a host of wariness 0.5 is in, 0.51 is not.
        (EPOCH + 1440 * 60, 0.5, [[1, 3], [2, 3], [1, 2], [0, 1]]),
        (EPOCH + 1440 * 60, 0.51, [[1, 2], [0, 1]]),
        (EPOCH + 2880 * 60 + 1, 1.0, [[1, 3], [2, 3], [1, 2], [0, 1]]),  # complete
        (EPOCH + 1440 * 60 + 0.9, 0.5, [[1, 3], [2, 3], [1, 2], [0, 1]]),  # whole seconds
    ],
)
def test_the_policy_engine_throttles_rollouts_by_time_and_wariness(now, wariness, edges):
    graph = cincinnati.graph(_record(), "x86_64", True, now=now, wariness=wariness)
    assert graph["edges"] == edges
    assert len(graph["nodes"]) == 4  # throttling hides edges, never releases


def test_a_rollout_without_a_duration_stays_at_its_start_value():
    """Fedora pauses a rollout this way: only hosts less wary than the value update."""
    updates = _updates((3, {"rollout": {"start_percentage": 0.25}}))
    record = _record(updates=updates)
    assert cincinnati.graph(record, "x86_64", True, now=2**40, wariness=0.25)["edges"] == [
        [0, 3],
        [1, 3],
        [2, 3],
    ]
    assert cincinnati.graph(record, "x86_64", True, now=2**40, wariness=0.3)["edges"] == []


def test_throttling_takes_both_now_and_wariness():
    with pytest.raises(TypeError):
        cincinnati.graph(_record(), "x86_64", True, now=EPOCH)


@pytest.mark.parametrize(
    "params,expected",
    [
        # Rust's DefaultHasher over the node_uuid, scaled (values printed by rustc 1.x).
        ({"node_uuid": "e0f3745b108f471cbd4883c6fbed8cdd"}, 0.6533234000651716),
        ({"node_uuid": "0123456789abcdef0123456789abcdef"}, 0.7186934642229936),
        ({"node_uuid": "abcdefgh"}, 0.3626616894398233),
        ({}, 0.18848315746051456),  # no uuid: the hash of ""
        ({"rollout_wariness": "0.250000", "node_uuid": "a"}, 0.25),  # Zincati's {:.06}
        ({"rollout_wariness": "7"}, 1.0),
        ({"rollout_wariness": "-inf"}, 0.0),
        ({"rollout_wariness": ".5"}, 0.5),
        ({"rollout_wariness": "1E-1"}, 0.1),
        # Not a number as Rust reads one: the uuid decides.
        ({"rollout_wariness": " 0.5", "node_uuid": "a"}, 0.4437761738999516),
        ({"rollout_wariness": "1_0", "node_uuid": "a"}, 0.4437761738999516),
        ({"rollout_wariness": "0x1", "node_uuid": "a"}, 0.4437761738999516),
    ],
)
def test_wariness_is_the_policy_engine_s(params, expected):
    assert cincinnati.wariness(params) == expected


def test_a_nan_wariness_hides_nothing():
    wariness = cincinnati.wariness({"rollout_wariness": "NaN"})
    graph = cincinnati.graph(_record(), "x86_64", True, now=EPOCH - 1, wariness=wariness)
    assert graph["edges"] == [[1, 3], [2, 3], [1, 2], [0, 1]]


def test_payload_repository_renames_oci_payloads_only():
    site = "registry.example.com:5000/fedora/fedora-coreos"
    graph = cincinnati.graph(_record(), "x86_64", True, payload_repository=site)
    assert [node["payload"] for node in graph["nodes"]] == [
        f"{site}@sha256:{str(n) * 64}" for n in range(4)
    ]
    checksum = cincinnati.graph(_record(), "x86_64", False, payload_repository=site)
    assert checksum["nodes"][0]["payload"] == "0" * 64


@pytest.mark.parametrize(
    "value",
    [
        "registry.example.com/fedora/fedora-coreos",
        "localhost:5000/fcos",
        "localhost/fcos",
        "mirror:5000/a/b",
        "10.0.0.1:443/fedora/fedora-coreos",
    ],
)
def test_a_payload_repository_is_a_registry_and_a_path(value):
    assert cincinnati.payload_repository(value) == value


@pytest.mark.parametrize(
    "value",
    [
        "Registry.example.com/fcos",  # lower case only, as Zincati compares strings
        "fedora/fedora-coreos",  # a Docker Hub shorthand, no registry named
        "registry.example.com",  # no repository
        "registry.example.com/fcos@sha256:" + "0" * 64,
        "registry.example.com/fcos:stable",
        "registry.example.com:99999/fcos",
        "registry.example.com/fcos/",
        "registry.example.com/-fcos",
        "https://registry.example.com/fcos",
        "registry.example.com/fcos\n",
        "registry.example.com/" + "a" * 250,
        None,
    ],
)
def test_what_is_no_payload_repository(value):
    with pytest.raises(cincinnati.CincinnatiError, match="registry repository"):
        cincinnati.payload_repository(value)
    with pytest.raises(cincinnati.CincinnatiError):
        cincinnati.graph(_record(), "x86_64", True, payload_repository=value or "x")


def _with(number, **changes):
    release = _release(number)
    release.update(changes)
    return release


def _images(digest_ref):
    return {"oci-images": [{"architecture": "x86_64", "image": "x", "digest-ref": digest_ref}]}


@pytest.mark.parametrize(
    "index,problem",
    [
        (b'{"stream":"stable","stream":"next","releases":[]}', "appears twice"),
        (b'{"stream":"stable","releases":[{"version":"1","version":"2"}]}', "appears twice"),
        (b"[]", "not a JSON object"),
        (b'{"stream":"stable","releases":[],"x":NaN}', "not valid JSON"),
        (b"\xff", "not valid JSON"),
        (_index(stream="next"), "of stream 'next', not 'stable'"),
        (_index(stream="st able"), "'st able' is not a stream name"),
        (b'{"stream":"stable"}', "releases is not a list"),
        (_index(["x"]), "release entry 0 is not an object"),
        (_index([_with(0, version="44.2026 0707")]), "'44.2026 0707' is not a CoreOS release"),
        (_index([_with(0, version="44.20260707.3.1\n")]), "is not a CoreOS release"),
        (_index([_with(0, version="latest")]), "'latest' is not a CoreOS release"),
        (_index([_with(0, version="1." * 40 + "1")]), "is not a CoreOS release"),
        (_index([_with(0, version=44)]), "44 is not a CoreOS release"),
        (_index([_release(0), _release(1, VERSIONS[0])]), "43.20260330.3.1 is listed twice"),
        (_index([_with(0, **_images(f"{REPO}:stable"))]), "is not an image by digest"),
        (_index([_with(0, **_images(f"{REPO}@sha256:{'0' * 63}"))]), "image by digest"),
        (_index([_with(0, **_images(f"{REPO}@sha512:{'0' * 64}"))]), "image by digest"),
        (_index([_with(0, **_images(f"Quay.io/fedora@sha256:{'0' * 64}"))]), "image by digest"),
        (_index([_with(0, **_images(f"fedora/coreos@sha256:{'0' * 64}"))]), "image by digest"),
        (_index([_with(0, **_images(f"{REPO}@sha256:{'0' * 64} "))]), "image by digest"),
        (_index([_with(0, **_images(""))]), "image by digest"),
        (_index([_with(0, commits=[{"architecture": "x86_64", "checksum": "zz"}])]), "commit"),
        (_index([_with(0, commits=[{"architecture": "X86", "checksum": "0" * 64}])]), "'X86'"),
        (_index([_with(0, commits={"x86_64": "0" * 64})]), "commits is not a list"),
        (
            _index([_with(0, commits=[{"architecture": "x86_64", "checksum": "0" * 64}] * 2)]),
            "x86_64 is listed twice",
        ),
        (
            _index(
                [
                    _with(
                        0,
                        commits=[
                            {"architecture": f"a{n}", "checksum": "0" * 64}
                            for n in range(cincinnati.MAX_ARCHITECTURES + 1)
                        ],
                    )
                ]
            ),
            "more than 64 entries",
        ),
    ],
)
def test_what_a_release_index_may_not_be(index, problem):
    with pytest.raises(cincinnati.CincinnatiError) as raised:
        cincinnati.index_record(index, None, "remote fcos", "stable", "https://h/releases.json")
    assert problem in str(raised.value)
    assert str(raised.value).startswith("remote fcos: https://h/releases.json")


def _rollout(**fields):
    return _updates((3, {"rollout": fields}))


@pytest.mark.parametrize(
    "updates,problem",
    [
        (_updates(stream="next"), "of stream 'next', not 'stable'"),
        ({"releases": []}, "of stream None"),
        ({"stream": "stable"}, "releases is not a list"),
        (_updates((1, {"barrier": {"reason": "javascript:alert(1)"}})), "is not an http(s) URL"),
        (_updates((1, {"barrier": {"reason": "https://"}})), "'https://' is not an http(s) URL"),
        (_updates((1, {"barrier": {"reason": "https://x/a b"}})), "is not an http(s) URL"),
        (_updates((1, {"barrier": {"reason": "http://[::1/"}})), "is not an http(s) URL"),
        (_updates((1, {"deadend": {"reason": 5}})), "deadend reason 5 is not"),
        (_updates((1, {"deadend": {}})), "deadend reason None is not"),  # Fedora's needs one
        (_updates((1, {"barrier": "yes"})), "barrier is not an object"),
        ({"stream": "stable", "releases": [{"version": VERSIONS[1]}]}, "metadata is not an"),
        (
            {"stream": "stable", "releases": [{"version": "x y", "metadata": {}}]},
            "'x y' is not a CoreOS release",
        ),
        (_updates((1, {}), (1, {})), "43.20260413.3.2 is listed twice"),
        (_rollout(start_percentage=2), "start_percentage 2 is not a number from 0 to 1"),
        (_rollout(start_percentage=-0.1), "start_percentage -0.1 is not"),
        (_rollout(start_percentage=10**400), "start_percentage 1000"),  # no OverflowError
        (_rollout(start_percentage=True), "start_percentage True is not"),
        (_rollout(start_percentage="0.5"), "start_percentage '0.5' is not"),
        (_rollout(start_epoch=1.5), "start_epoch 1.5 is not a Unix time"),
        (_rollout(start_epoch=2**63), "start_epoch 9223372036854775808 is not"),
        (_rollout(start_epoch=False), "start_epoch False is not"),
        (_rollout(duration_minutes=-1), "duration_minutes -1 is not a whole number"),
        (_rollout(duration_minutes=2.5), "duration_minutes 2.5 is not"),
    ],
)
def test_what_an_update_policy_may_not_be(updates, problem):
    raw = json.dumps(updates).encode()
    with pytest.raises(cincinnati.CincinnatiError) as raised:
        cincinnati.index_record(
            _index(), raw, "remote fcos", "stable", updates_url="https://h/updates.json"
        )
    assert problem in str(raised.value)
    assert str(raised.value).startswith("remote fcos: https://h/updates.json")


def test_upstream_keys_the_graph_does_not_read_are_ignored():
    index = json.loads(_index())
    index["releases"][0]["future"] = {"anything": [1]}
    index["releases"][0]["oci-images"][0]["platform"] = "linux/amd64"
    index["later"] = True
    updates = json.loads(json.dumps(UPDATES))
    updates["releases"][0]["metadata"]["barrier"]["signed-by"] = "key"
    updates["releases"][0]["metadata"]["unknown"] = {}
    updates["releases"].append({"version": "99.1", "metadata": {"rollout": {}}})  # not indexed
    record = _record(json.dumps(index).encode(), updates)
    assert record == _record()


def test_a_null_policy_or_payload_list_is_absent():
    """Fedora's reader takes null as absent (Rust Option); so does this one."""
    releases = [_with(0, commits=None), _release(1)]
    updates = _updates((1, {"barrier": None, "rollout": None, "deadend": None}))
    record = _record(_index(releases), updates)
    assert record["releases"][0]["commits"] == {}
    assert record["releases"][1]["barrier"] is None


def test_the_record_keeps_upstream_s_order_and_policy():
    record = _record()
    assert [release["version"] for release in record["releases"]] == VERSIONS
    assert record["releases"][1] == {
        "version": VERSIONS[1],
        "commits": {"x86_64": "1" * 64},
        "oci_images": {"x86_64": f"{REPO}@sha256:{'1' * 64}"},
        "barrier": BARRIER,
        "deadend": None,
        "rollout": None,
    }
    assert record["releases"][3]["rollout"] == {
        "start_epoch": EPOCH,
        "start_percentage": 0.0,
        "duration_minutes": 2880,
    }
    assert cincinnati.parse_updates(json.dumps(UPDATES).encode(), "u", "stable")[VERSIONS[2]] == {
        "barrier": None,
        "deadend": None,
        "rollout": {"start_percentage": 1.0},
    }
    index = cincinnati.parse_release_index(_index(), "i")
    assert index["stream"] == "stable" and index["releases"][1]["barrier"] is None


def test_release_facts_give_a_tree_its_oci_image_and_commit():
    record = _record(_index([_release(0), _release(1, commit=False)]), updates=None)
    assert cincinnati.release_facts(record, VERSIONS[0], "x86_64") == {
        "oci_image": f"{REPO}@sha256:{'0' * 64}",
        "commit": "0" * 64,
    }
    assert cincinnati.release_facts(record, VERSIONS[1], "x86_64") == {
        "oci_image": f"{REPO}@sha256:{'1' * 64}"
    }
    assert cincinnati.release_facts(record, VERSIONS[1], "aarch64") == {}
    assert cincinnati.release_facts(None, VERSIONS[0], "x86_64") == {}


def test_too_many_releases_are_refused(monkeypatch):
    monkeypatch.setattr(cincinnati, "MAX_RELEASES", 3)
    with pytest.raises(cincinnati.CincinnatiError, match="releases has more than 3 entries"):
        _record()
    with pytest.raises(cincinnati.CincinnatiError, match="more than 3 entries"):
        cincinnati.from_record({"stream": "stable", "releases": [{}] * 4})


def test_rollouts_that_would_draw_too_many_edges_are_refused(monkeypatch):
    """Every release a rollout: n²/2 edges on each request. Refused where it enters."""
    count = 500
    releases = [_release(0, f"1.{n}") for n in range(count)]
    updates = {
        "stream": "stable",
        "releases": [{"version": f"1.{n}", "metadata": {"rollout": {}}} for n in range(count)],
    }
    monkeypatch.setattr(cincinnati, "MAX_EDGES", count * (count - 1) // 2 + count - 1)
    with pytest.raises(cincinnati.CincinnatiError, match="more than .* update edges"):
        _record(_index(releases), updates)
    monkeypatch.setattr(cincinnati, "MAX_EDGES", count * (count - 1) // 2 + count)
    record = _record(_index(releases), updates)
    assert len(cincinnati.graph(record, "x86_64", True)["edges"]) == count * (count - 1) // 2


def test_a_stored_record_is_checked_again():
    record = _record()
    assert cincinnati.from_record(json.loads(json.dumps(record))) == record
    assert cincinnati.from_record(record) is not record


def _tampered(change):
    record = json.loads(json.dumps(_record()))
    change(record)
    return record


@pytest.mark.parametrize(
    "change,problem",
    [
        (lambda r: r["releases"][0]["oci_images"].update(x86_64="evil payload"), "'evil payload'"),
        (lambda r: r["releases"][0]["commits"].update(x86_64="0" * 63), "OSTree commit"),
        (lambda r: r["releases"][0]["commits"].update({"x 86": "0" * 64}), "'x 86'"),
        (lambda r: r["releases"][0].update(version="9 9"), "'9 9' is not a CoreOS release"),
        (lambda r: r["releases"][1].update(version=VERSIONS[0]), "listed twice"),
        (lambda r: r["releases"][1].update(barrier="file:///etc/passwd"), "not an http(s) URL"),
        (lambda r: r["releases"][1].update(barrier=True), "not an http(s) URL"),
        (lambda r: r["releases"][3]["rollout"].update(start_percentage=3), "from 0 to 1"),
        (lambda r: r["releases"][3]["rollout"].update(extra=1), "unknown key 'extra'"),
        (lambda r: r["releases"][3].update(rollout=[]), "rollout is not an object"),
        (lambda r: r["releases"][0].update(payload="x"), "unknown key 'payload'"),
        (lambda r: r["releases"][0].pop("commits"), "commits is not an object"),
        (lambda r: r.update(extra=[]), "unknown key 'extra'"),
        (lambda r: r.update(stream="a b"), "'a b' is not a stream name"),
        (lambda r: r.update(releases={}), "is not a list"),
    ],
)
def test_a_tampered_record_is_refused(change, problem):
    with pytest.raises(cincinnati.CincinnatiError) as raised:
        cincinnati.from_record(_tampered(change), "release index of stream 'stable'")
    assert problem in str(raised.value)
    assert str(raised.value).startswith("release index of stream 'stable'")


@pytest.mark.parametrize(
    "params,expected",
    [
        ({"basearch": "x86_64", "stream": "stable"}, ("x86_64", "stable", False)),
        ({"basearch": "x86_64", "stream": "stable", "oci": "false"}, ("x86_64", "stable", False)),
        (
            # Zincati on an OCI-booted host: the rest of its query is not the graph's.
            {
                "basearch": "aarch64",
                "stream": "next",
                "oci": "true",
                "node_uuid": "e0f3745b108f471cbd4883c6fbed8cdd",
                "os_version": "44.20260707.3.1",
                "os_checksum": f"{REPO}@sha256:{'0' * 64}",
                "group": "default",
                "platform": "metal",
                "rollout_wariness": "0.500000",
            },
            ("aarch64", "next", True),
        ),
    ],
)
def test_query(params, expected):
    assert cincinnati.query(params) == expected


@pytest.mark.parametrize(
    "params,problem",
    [
        ({}, "basearch '' is not an architecture"),
        ({"basearch": "x86_64"}, "stream '' is not a stream name"),
        ({"basearch": "", "stream": "stable"}, "basearch '' is not"),
        ({"basearch": "X 86", "stream": "stable"}, "basearch 'X 86' is not"),
        ({"basearch": "x86_64", "stream": "st\nable"}, "stream 'st\\nable' is not"),
        ({"basearch": "x86_64", "stream": "stable", "oci": "yes"}, "oci 'yes' is not true"),
        ({"basearch": "x86_64", "stream": "stable", "oci": "True"}, "oci 'True' is not"),
        ({"basearch": "x86_64", "stream": "stable", "oci": ""}, "oci '' is not"),
    ],
)
def test_a_bad_query_is_a_cincinnati_error(params, problem):
    with pytest.raises(cincinnati.GraphQueryError) as raised:
        cincinnati.query(params)
    body = raised.value.body()
    assert body["kind"] == "invalid_params"
    assert problem in body["value"]
    assert set(body) == {"kind", "value"} and all(isinstance(v, str) for v in body.values())


def test_a_refused_value_is_quoted_short():
    with pytest.raises(cincinnati.CincinnatiError) as raised:
        cincinnati.query({"basearch": "x" * 10_000, "stream": "stable"})
    assert len(str(raised.value)) < 200


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


def _spots(document, path=()):
    """Every place of a JSON document a value sits, as a path of keys and indices."""
    yield path
    if isinstance(document, dict):
        for key, value in document.items():
            yield from _spots(value, (*path, key))
    elif isinstance(document, list):
        for number, value in enumerate(document):
            yield from _spots(value, (*path, number))


def _replaced(document, path, value):
    if not path:
        return value
    copy = json.loads(json.dumps(document))
    parent = copy
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = value
    return copy


@settings(
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=300,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(st.data())
def test_any_one_value_anywhere_is_refused_cleanly_or_graphed_in_grammar(data):
    """Near-valid documents with one hostile value: CincinnatiError or a record whose
    graph holds only strings in grammar, and which reads back unchanged."""
    documents = [json.loads(_index()), UPDATES]
    which = data.draw(st.sampled_from([0, 1]))
    path = data.draw(st.sampled_from(list(_spots(documents[which]))))
    documents[which] = _replaced(documents[which], path, data.draw(JSON))
    raw_index, raw_updates = (json.dumps(document).encode() for document in documents)
    try:
        record = cincinnati.index_record(raw_index, raw_updates, "test", "stable")
    except cincinnati.CincinnatiError:
        return
    assert cincinnati.from_record(json.loads(json.dumps(record))) == record
    for oci in (True, False):
        graph = cincinnati.graph(record, "x86_64", oci, "mirror.example/fcos")
        for node in graph["nodes"]:
            assert cincinnati.VERSION.fullmatch(node["version"])
            assert grammar.matches(grammar.REFERENCE, node["payload"])
            assert all(isinstance(v, str) for v in node["metadata"].values())
        assert all(
            0 <= a < len(graph["nodes"]) and 0 <= b < len(graph["nodes"]) for a, b in graph["edges"]
        )


@pytest.mark.parametrize("name", cincinnati.GRAPH_PARAMETERS)
def test_a_graph_parameter_given_twice_is_refused(name):
    from multidict import MultiDict

    params = MultiDict([("basearch", "x86_64"), ("stream", "stable"), (name, "x"), (name, "y")])
    with pytest.raises(cincinnati.GraphQueryError, match=f"{name} is given more than once"):
        cincinnati.query(params)
    assert cincinnati.query(MultiDict([("basearch", "x86_64"), ("stream", "stable")]))
