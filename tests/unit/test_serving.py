"""Where generated documents point: boot_origin never lets a request header choose freely."""

import pytest
from django.test import override_settings

from pulp_kickstart_oci.app.serving import boot_origin


class _Request:
    """What boot_origin reads of an aiohttp request."""

    def __init__(self, host, scheme="http", headers=None):
        self.host = host
        self.scheme = scheme
        self.headers = headers or {}


ORIGIN = "https://pulp.example.com"


@pytest.mark.parametrize(
    "allowed,host,expected",
    [
        (["10.0.2.2:24816"], "10.0.2.2:24816", "http://10.0.2.2:24816"),
        # GRUB's HTTP client sends Host without the port it connected to.
        (["10.0.2.2:24816"], "10.0.2.2", "http://10.0.2.2:24816"),
        (["[fd00::1]:8080"], "[fd00::1]", "http://[fd00::1]:8080"),
        (["boot.lab:8080"], "BOOT.lab", "http://boot.lab:8080"),
        # A name listed with two ports is ambiguous: CONTENT_ORIGIN.
        (["10.0.2.2:24816", "10.0.2.2:8080"], "10.0.2.2", ORIGIN),
        # The name listed bare is an exact match, whatever else is listed.
        (["10.0.2.2", "10.0.2.2:8080"], "10.0.2.2", "http://10.0.2.2"),
        # Another port than the listed one is not the listed entry.
        (["10.0.2.2:24816"], "10.0.2.2:1", ORIGIN),
        (["10.0.2.2:24816"], "evil.example", ORIGIN),
        (["10.0.2.2:24816"], "10.0.2.20", ORIGIN),
        (["10.0.2.2:24816"], "10.0.2.2:24816@evil", ORIGIN),
        ([], "10.0.2.2", ORIGIN),
    ],
)
def test_boot_origin(allowed, host, expected):
    with override_settings(
        CONTENT_ORIGIN=ORIGIN,
        KICKSTART_BOOT_HOSTS=allowed,
        KICKSTART_TRUST_FORWARDED_HEADERS=False,
    ):
        assert boot_origin(_Request(host)) == expected


def test_forwarded_headers_count_only_when_trusted_and_listed():
    headers = {"X-Forwarded-Host": "boot.lab", "X-Forwarded-Proto": "https"}
    request = _Request("10.0.0.5:24816", headers=headers)
    with override_settings(CONTENT_ORIGIN=ORIGIN, KICKSTART_BOOT_HOSTS=["boot.lab:443"]):
        with override_settings(KICKSTART_TRUST_FORWARDED_HEADERS=False):
            assert boot_origin(request) == ORIGIN
        with override_settings(KICKSTART_TRUST_FORWARDED_HEADERS=True):
            assert boot_origin(request) == "https://boot.lab:443"
