"""The REST surface: validation errors name the field, every endpoint is in the OpenAPI schema."""

import pytest

from tests.support.pulp import unique


@pytest.mark.parametrize(
    "fields, field",
    [
        ({"url": "ftp://registry.example"}, "url"),
        ({"url": "https://user:pw@registry.example"}, "url"),
        ({"url": "https://registry.example/v2/fedora"}, "url"),
        ({"upstream_name": "../etc"}, "upstream_name"),
        ({"architectures": ["x86_64", "sparc"]}, "architectures"),
        ({"policy": "sometimes"}, "policy"),
    ],
)
def test_remote_validation_names_the_field(api, fields, field):
    body = {
        "name": unique("remote"),
        "url": "https://registry.example",
        "upstream_name": "fedora/kickstart-artifacts",
        **fields,
    }
    response = api.request("POST", "remotes/kickstart/oci/", expect=(400,), json=body)
    assert field in response.json()


def test_remote_round_trip_hides_the_password(api, cleanup):
    body = {
        "name": unique("remote"),
        "url": "https://registry.example/",
        "upstream_name": "/fedora/kickstart-artifacts/",
        "include_tags": ["4*"],
        "exclude_tags": ["*-s390x"],
        "architectures": ["x86_64", "arm64"],
        "policy": "on_demand",
        "username": "someone",
        "password": "hunter2",
    }
    remote = api.create("remotes/kickstart/oci/", body)
    cleanup(remote["pulp_href"])
    assert remote["url"] == "https://registry.example"
    assert remote["upstream_name"] == "fedora/kickstart-artifacts"
    assert remote["include_tags"] == ["4*"] and remote["exclude_tags"] == ["*-s390x"]
    assert remote["architectures"] == ["x86_64", "arm64"]
    assert remote["policy"] == "on_demand"
    assert "hunter2" not in str(remote)
    assert {"name": "password", "is_set": True} in remote["hidden_fields"]


def test_sync_requires_a_kickstart_remote(api, repository, cleanup):
    file_remote = api.create(
        "remotes/file/file/", {"name": unique("file"), "url": "http://127.0.0.1:1/PULP_MANIFEST"}
    )
    cleanup(file_remote["pulp_href"])
    response = api.request(
        "POST",
        f"{repository['pulp_href']}sync/",
        expect=(400,),
        json={"remote": file_remote["pulp_href"]},
    )
    assert "remote" in response.json()
    response = api.request("POST", f"{repository['pulp_href']}sync/", expect=(400,), json={})
    assert "remote" in response.json()


def test_every_endpoint_is_in_the_openapi_schema(api):
    schema = api.get("/pulp/api/v3/docs/api.json")
    paths = schema["paths"]
    for path in (
        "/pulp/api/v3/content/kickstart/trees/",
        "/pulp/api/v3/remotes/kickstart/oci/",
        "/pulp/api/v3/repositories/kickstart/kickstart/",
        "/pulp/api/v3/distributions/kickstart/kickstart/",
    ):
        assert path in paths, path
    for path in (
        "{kickstart_kickstart_repository_href}sync/",
        "{kickstart_kickstart_repository_href}modify/",
        "{kickstart_kickstart_tree_href}",
        "{kickstart_kickstart_oci_remote_href}",
        "{kickstart_kickstart_distribution_href}",
    ):
        assert path in paths, path
    sync_body = schema["components"]["schemas"]["KickstartRepositorySync"]["properties"]
    assert {"remote", "mirror"} <= set(sync_body)
    tree = schema["components"]["schemas"]["kickstart.KickstartTreeResponse"]
    for field in (
        "version",
        "arch",
        "oci_arch",
        "digest",
        "source",
        "annotations",
        "files",
        "warnings",
    ):
        assert field in tree["properties"], field
    list_params = {
        p["name"] for p in paths["/pulp/api/v3/content/kickstart/trees/"]["get"]["parameters"]
    }
    assert {"version", "arch", "digest", "repository_version"} <= list_params
