"""The graph route's answer (documents/update_graph.respond), without the content app."""

from types import SimpleNamespace

from pulp_kickstart_oci.app.documents import update_graph
from pulp_kickstart_oci.app.netboot import cincinnati

RECORD = {
    "stream": "stable",
    "releases": [
        {
            "version": "44.20260707.3.1",
            "commits": {"x86_64": "d" * 64},
            "oci_images": {},
            "barrier": None,
            "deadend": None,
            "rollout": None,
        }
    ],
}


class _Distribution:
    graph_payload_repository = None

    def __init__(self, record):
        self.index = SimpleNamespace(
            pk=id(record), identity=cincinnati.identity(record), record=record
        )

    def served_release_index(self, stream):
        return self.index if stream == self.index.record["stream"] else None


def test_a_graph_is_answered_and_answered_again_from_the_checked_record():
    distribution = _Distribution(RECORD)
    query = {"basearch": "x86_64", "stream": "stable"}
    for _ in range(2):  # the second answer comes from the checked-record cache
        status, body = update_graph.respond(distribution, query)
        assert status == 200
        assert [node["version"] for node in body["nodes"]] == ["44.20260707.3.1"]


def test_a_record_that_fails_its_check_is_a_500_in_cincinnatis_shape():
    broken = {**RECORD, "releases": [{**RECORD["releases"][0], "version": "44;reboot"}]}
    status, body = update_graph.respond(
        _Distribution(broken), {"basearch": "x86_64", "stream": "stable"}
    )
    assert status == 500 and body["kind"] == "invalid_release_index"
