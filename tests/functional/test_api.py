"""The REST surface: validation errors name the field, every endpoint is in the OpenAPI schema."""

import json

import pytest
import requests

from pulp_kickstart_oci.pytest_plugin import unique


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
@pytest.mark.filterwarnings("ignore:Pydantic serializer warnings")
def test_remote_validation_names_the_field(kickstart_bindings, fields, field):
    body = {
        "name": unique("remote"),
        "url": "https://registry.example",
        "upstream_name": "fedora/kickstart-artifacts",
        **fields,
    }
    # model_construct skips the client's own checks (the policy enum): the server judges.
    remote = kickstart_bindings.KickstartKickstartOciRemote.model_construct(**body)
    with pytest.raises(kickstart_bindings.ApiException) as raised:
        kickstart_bindings.RemotesOciApi.create(remote)
    assert raised.value.status == 400
    assert field in json.loads(raised.value.body)


def test_remote_round_trip_hides_the_password(kickstart_oci_remote_factory):
    remote = kickstart_oci_remote_factory(
        url="https://registry.example/",
        upstream_name="/fedora/kickstart-artifacts/",
        include_tags=["4*"],
        exclude_tags=["*-s390x"],
        architectures=["x86_64", "arm64"],
        policy="on_demand",
        username="someone",
        password="hunter2",
    )
    assert remote.url == "https://registry.example"
    assert remote.upstream_name == "fedora/kickstart-artifacts"
    assert remote.include_tags == ["4*"] and remote.exclude_tags == ["*-s390x"]
    assert remote.architectures == ["x86_64", "arm64"]
    assert remote.policy == "on_demand"
    assert "hunter2" not in remote.to_json()
    hidden = {item.name: item.is_set for item in remote.hidden_fields}
    assert hidden["password"] is True


def test_sync_requires_a_kickstart_remote(
    kickstart_bindings, kickstart_repository_factory, bindings_cfg, pulp_api_v3_url
):
    repository = kickstart_repository_factory()
    # A remote of another plugin (pulp_file's; no bindings of it are installed here).
    auth = (bindings_cfg.username, bindings_cfg.password)
    file_remote = requests.post(
        f"{pulp_api_v3_url}remotes/file/file/",
        json={"name": unique("file"), "url": "http://127.0.0.1:1/PULP_MANIFEST"},
        auth=auth,
        timeout=60,
    )
    assert file_remote.status_code == 201, file_remote.text
    try:
        for body in ({"remote": file_remote.json()["pulp_href"]}, {}):
            with pytest.raises(kickstart_bindings.ApiException) as raised:
                kickstart_bindings.RepositoriesKickstartApi.sync(repository.pulp_href, body)
            assert raised.value.status == 400
            assert "remote" in json.loads(raised.value.body)
    finally:
        deleted = requests.delete(
            f"{bindings_cfg.host}{file_remote.json()['pulp_href']}", auth=auth, timeout=60
        )
        assert deleted.status_code in (202, 204)


def test_every_endpoint_is_in_the_openapi_schema(pulp_openapi_schema):
    paths = pulp_openapi_schema["paths"]
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
    schemas = pulp_openapi_schema["components"]["schemas"]
    assert {"remote", "mirror"} <= set(schemas["KickstartRepositorySync"]["properties"])
    tree = schemas["kickstart.KickstartTreeResponse"]
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


def test_the_bindings_cover_every_kickstart_endpoint(kickstart_bindings):
    """The generated client has an API class per endpoint family the tests use."""
    for name in (
        "ContentTreesApi",
        "ContentTagsApi",
        "RemotesOciApi",
        "RemotesDnfApi",
        "RepositoriesKickstartApi",
        "RepositoriesKickstartVersionsApi",
        "DistributionsKickstartApi",
    ):
        assert getattr(kickstart_bindings, name) is not None, name
    assert callable(kickstart_bindings.RepositoriesKickstartApi.sync)
