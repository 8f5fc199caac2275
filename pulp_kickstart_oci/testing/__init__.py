"""Upstreams for tests: the servers and builders behind the pytest plugin's fixtures.

A real docker-registry runner (``registry``), an OCI pusher (``oci``), Fedora-like
boot files (``fedora``), a dnf tree builder and static server (``dnf``), a bearer-token
issuer (``token_issuer``), a throwaway CA (``tls``) and a fault-injecting proxy
(``fault_proxy``). They ship with the plugin because ``pulp_kickstart_oci.pytest_plugin``
drives them; they are never imported by Pulp's server processes. Their third-party
needs beyond the plugin's (PyJWT, cryptography, requests) come with pulpcore's test
requirements, and each module is imported only by the fixture that uses it.
"""
