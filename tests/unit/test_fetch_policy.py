"""FetchPolicy: the one decision every request and redirect hop of a remote goes through."""

import pytest
import yarl

from pulp_kickstart_oci.app.fetch_policy import (
    TOKEN,
    FetchPolicy,
    FetchRefused,
    OriginPattern,
    is_pinned,
    normalized,
    shown,
)

TREE = "https://mirror.example/pub/fedora/42/os/"


def _admitted(policy, url, **options):
    try:
        return policy.admit(url, **options)
    except FetchRefused:
        return None


@pytest.mark.parametrize(
    "url",
    [
        "https://mirror.example/pub/fedora/42/os/.treeinfo",
        "https://MIRROR.example:443/pub/fedora/42/os/images/pxeboot/vmlinuz",
        "https://mirror.example/pub/fedora/42/os/./repodata/repomd.xml",
        "https://mirror.example/pub/fedora/42/os/a/../repodata/repomd.xml",
        "https://mirror.example/pub/fedora/42/os/%72epodata/repomd.xml",  # %72 is "r"
        "https://mirror.example/pub/fedora/42/os/x#fragment",
    ],
)
def test_urls_under_the_remote_url_after_normalisation_are_admitted(url):
    hop = FetchPolicy(TREE).admit(url)
    assert hop.credentialed
    assert str(hop.url).startswith(TREE)


@pytest.mark.parametrize(
    "url",
    [
        "https://mirror.example/pub/fedora/42/.treeinfo",  # the parent directory
        "https://mirror.example/pub/fedora/42/os/../../41/os/.treeinfo",
        "https://mirror.example/pub/fedora/42/os/%2e%2e/%2E%2E/41/os/.treeinfo",
        "https://mirror.example/pub/fedora/42/os/..%2f..%2f41/os/.treeinfo",
        "https://mirror.example/pub/fedora/42/os/%5c..%5c/x",
        "https://mirror.example/pub/fedora/42/os/a%00b",
        "https://mirror.example/pub/fedora/42/osx/.treeinfo",  # a sibling with the prefix
        "http://mirror.example/pub/fedora/42/os/.treeinfo",  # another scheme
        "https://mirror.example:8443/pub/fedora/42/os/.treeinfo",  # another port
        "https://mirror.example./pub/fedora/42/os/.treeinfo",  # another host spelling
        "https://user:pw@mirror.example/pub/fedora/42/os/.treeinfo",  # credentials in it
        "https://other.example/pub/fedora/42/os/.treeinfo",
        "file:///etc/passwd",
        "ftp://mirror.example/pub/fedora/42/os/.treeinfo",
        "https:///pub/fedora/42/os/.treeinfo",
    ],
)
def test_urls_outside_the_remote_url_are_refused(url):
    assert _admitted(FetchPolicy(TREE), url) is None
    assert _admitted(FetchPolicy(TREE), url, pinned=True) is None  # no origin allowed


def test_idna_hosts_are_compared_as_sent():
    policy = FetchPolicy("https://bücher.example/tree/")
    hop = policy.admit("https://xn--bcher-kva.example/tree/.treeinfo")
    assert hop.credentialed and hop.url.raw_host == "xn--bcher-kva.example"
    assert _admitted(policy, "https://bucher.example/tree/.treeinfo") is None


def test_pinned_reads_may_go_to_redirect_origins_without_credentials():
    policy = FetchPolicy(TREE, redirect_origins=["https://*.cdn.example", "http://m.example:8080"])
    for url in ("https://eu.cdn.example/any/path", "http://m.example:8080/x"):
        assert _admitted(policy, url) is None  # not pinned: never elsewhere
        hop = policy.admit(url, pinned=True)
        assert not hop.credentialed
    for url in (
        "https://cdn.example/x",  # "*." needs a subdomain
        "https://evilcdn.example/x",
        "https://eu.cdn.example.evil/x",
        "http://eu.cdn.example/x",
        "http://m.example/x",
    ):
        assert _admitted(policy, url, pinned=True) is None, url


def test_a_scope_confines_a_read_to_another_admin_given_base():
    policy = FetchPolicy("https://registry.example")
    store = "https://sigs.example/store"
    hop = policy.admit(store + "/fedora@sha256=ab/signature-1", scope=store)
    assert not hop.credentialed
    assert _admitted(policy, "https://sigs.example/elsewhere/x", scope=store) is None
    assert _admitted(policy, "https://sigs.example/store/../x", scope=store) is None


def test_token_requests_go_to_the_remote_origin_or_token_origins_only():
    policy = FetchPolicy("https://registry.example", token_origins=["https://auth.example"])
    assert policy.admit("https://registry.example/token?x", purpose=TOKEN).credentialed
    assert not policy.admit("https://auth.example/token", purpose=TOKEN).credentialed
    with pytest.raises(FetchRefused, match="token_origins") as refused:
        policy.admit("https://evil.example/token", purpose=TOKEN)
    assert "https://evil.example" in str(refused.value)


def test_redirects_are_resolved_against_the_hop_and_checked_again():
    policy = FetchPolicy(TREE, redirect_origins=["https://cdn.example"])
    hop = policy.admit(TREE + "images/pxeboot/vmlinuz")
    assert str(policy.redirect(hop, "initrd.img").url) == TREE + "images/pxeboot/initrd.img"
    assert _admitted(policy, policy.redirect(hop, "../../x").url) is not None
    with pytest.raises(FetchRefused):
        policy.redirect(hop, "../../../x")
    with pytest.raises(FetchRefused):
        policy.redirect(hop, "//cdn.example/x")  # not pinned
    assert not policy.redirect(hop, "//cdn.example/x", pinned=True).credentialed
    with pytest.raises(FetchRefused, match="Location"):
        policy.redirect(hop, "")


@pytest.mark.parametrize(
    "text",
    [
        "cdn.example",
        "https://cdn.example/path",
        "ftp://cdn.example",
        "https://*",
        "https://a.*.b",
        "https://cdn.example:0",
        "https://cdn.example:99999",
        "",
        "https://cdn.example?x",
    ],
)
def test_origin_patterns_are_strict(text):
    with pytest.raises(ValueError):
        OriginPattern.parse(text)


def test_origin_patterns_spell_hosts_as_yarl_does():
    assert str(OriginPattern.parse("HTTPS://CDN.Example:443")) == "https://cdn.example"
    assert OriginPattern.parse("http://[::1]:8080").matches(
        ("http", yarl.URL("http://[::1]:8080/").raw_host, 8080)
    )


def test_only_strong_digests_pin_a_read():
    assert is_pinned({"sha256": "ab"}) and is_pinned({"sha512": "ab", "md5": "cd"})
    assert not is_pinned({"md5": "ab"}) and not is_pinned({"sha1": "ab"}) and not is_pinned(None)


def test_shown_urls_carry_no_userinfo_or_query():
    assert shown("https://u:secret@h.example:8443/a/b?token=secret#f") == (
        "https://h.example:8443/a/b"
    )
    assert "secret" not in shown("https://h.example/?secret")


def test_normalized_is_what_aiohttp_sends():
    url = normalized("HTTP://Host.Example:80/a/./b/../c")
    assert str(url) == "http://host.example/a/c"


def test_shown_keeps_ipv6_brackets():
    assert shown("http://[::ffff:127.0.0.1]:25102/x") == "http://[::ffff:7f00:1]:25102/x"
