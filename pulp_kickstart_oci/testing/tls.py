"""A throwaway certificate authority for tests that need real TLS on 127.0.0.1."""

import datetime
import ipaddress
import os
import ssl

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def _name(common_name):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


class ThrowawayCA:
    """Signs server and client certificates; ``pem`` is what a remote's ca_cert holds."""

    def __init__(self, directory, name="kickstart test CA"):
        self.directory = directory
        self._key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc)
        self._cert = (
            x509.CertificateBuilder()
            .subject_name(_name(name))
            .issuer_name(_name(name))
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .sign(self._key, hashes.SHA256())
        )
        self.pem = self._cert.public_bytes(serialization.Encoding.PEM).decode()
        self.path = os.path.join(directory, f"ca-{self._cert.serial_number}.pem")
        with open(self.path, "w") as out:
            out.write(self.pem)

    def _issue(self, subject, names, usage, stem):
        """Sign a leaf certificate; write ``<stem>.pem`` and ``<stem>.key``; return both paths."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc)
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(subject))
            .issuer_name(self._cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        )
        if names:
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        cert = builder.sign(self._key, hashes.SHA256())
        stem = os.path.join(self.directory, f"{stem}-{x509.random_serial_number()}")
        with open(f"{stem}.pem", "wb") as out:
            out.write(cert.public_bytes(serialization.Encoding.PEM))
        with open(f"{stem}.key", "wb") as out:
            out.write(
                key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            )
        return f"{stem}.pem", f"{stem}.key"

    def server_files(self, hosts=("127.0.0.1", "localhost")):
        """(certificate path, key path) of a fresh server certificate for ``hosts``.

        PEM files, as servers configured by path want them (docker-registry's
        ``http.tls.certificate`` and ``key``).
        """
        names = []
        for host in hosts:
            try:
                names.append(x509.IPAddress(ipaddress.ip_address(host)))
            except ValueError:
                names.append(x509.DNSName(host))
        return self._issue(hosts[0], names, ExtendedKeyUsageOID.SERVER_AUTH, "server")

    def client_files(self, name="kickstart test client"):
        """(certificate path, key path) of a fresh client certificate signed by this CA."""
        return self._issue(name, [], ExtendedKeyUsageOID.CLIENT_AUTH, "client")

    def client_pems(self, name="kickstart test client"):
        """(certificate PEM, key PEM) of a fresh client certificate: a remote's
        ``client_cert`` and ``client_key``."""
        cert_path, key_path = self.client_files(name)
        with open(cert_path) as cert, open(key_path) as key:
            return cert.read(), key.read()

    def server_context(self, hosts=("127.0.0.1", "localhost"), require_client_cert=None):
        """An ssl.SSLContext serving a fresh certificate for ``hosts``, signed by this CA.

        ``require_client_cert``: a ThrowawayCA; clients must then present a
        certificate it signed (the handshake fails otherwise).
        """
        cert_path, key_path = self.server_files(hosts)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_path, key_path)
        if require_client_cert is not None:
            context.verify_mode = ssl.CERT_REQUIRED
            context.load_verify_locations(cafile=require_client_cert.path)
        return context
