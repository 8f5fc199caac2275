"""A minimal registry token service (the Docker token protocol) for bearer-auth tests.

It signs RS256 JWTs with a throwaway key whose self-signed certificate the
registry trusts, optionally demands basic credentials, and counts what it issued.
"""

import base64
import datetime
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

SERVICE = "kickstart-test-registry"
ISSUER = "kickstart-test-issuer"


class TokenIssuer:
    """``tls``: a ThrowawayCA to serve https with; a realm on another origin than the
    registry gets the remote's credentials only over https."""

    def __init__(self, directory, credentials=None, expires_in=300, tls=None):
        self.directory = directory
        self.authorizations = []  # every Authorization header received (None when absent)
        self.credentials = credentials
        self.expires_in = expires_in
        self.issued = []  # (scope, user)
        self.refused = 0
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, ISSUER)])
        now = datetime.datetime.now(datetime.timezone.utc)
        self._cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .sign(self._key, hashes.SHA256())
        )
        self.cert_path = f"{directory}/token-cert.pem"
        with open(self.cert_path, "wb") as pem:
            pem.write(self._cert.public_bytes(serialization.Encoding.PEM))
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        scheme = "http"
        if tls is not None:
            context = tls.server_context()
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
            scheme = "https"
        self.url = f"{scheme}://127.0.0.1:{self._server.server_address[1]}/token"

    def registry_config(self):
        return {
            "realm": self.url,
            "service": SERVICE,
            "issuer": ISSUER,
            "rootcertbundle": self.cert_path,
        }

    def _token(self, scope, subject):
        now = int(time.time())
        access = []
        if scope:
            kind, name, actions = scope.split(":")
            access.append({"type": kind, "name": name, "actions": actions.split(",")})
        x5c = base64.b64encode(self._cert.public_bytes(serialization.Encoding.DER)).decode()
        claims = {
            "iss": ISSUER,
            "sub": subject,
            "aud": SERVICE,
            "exp": now + self.expires_in,
            "nbf": now - 5,
            "iat": now,
            "jti": uuid.uuid4().hex,
            "access": access,
        }
        return jwt.encode(claims, self._key, algorithm="RS256", headers={"x5c": [x5c]})

    def _handler(self):
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                query = parse_qs(urlparse(self.path).query)
                issuer.authorizations.append(self.headers.get("Authorization"))
                user = "anonymous"
                if issuer.credentials:
                    expected = (
                        "Basic " + base64.b64encode(":".join(issuer.credentials).encode()).decode()
                    )
                    if self.headers.get("Authorization") != expected:
                        issuer.refused += 1
                        self.send_response(401)
                        self.send_header("WWW-Authenticate", 'Basic realm="tokens"')
                        self.end_headers()
                        return
                    user = issuer.credentials[0]
                scope = (query.get("scope") or [""])[0]
                issuer.issued.append((scope, user))
                body = json.dumps(
                    {"token": issuer._token(scope, user), "expires_in": issuer.expires_in}
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler

    def start(self):
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        self._server.shutdown()
        self._server.server_close()
