"""The status-callback POST over TLS: it connects to the address that was checked, yet speaks to the host by name
(SNI, certificate checked against the name, Host header), and follows no redirect. A throwaway CA and a TLS
receiver on 127.0.0.1 stand in for a public receiver; nothing leaves the machine."""

from __future__ import annotations

import datetime
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from textgate import webhook_transport
from textgate.webhook_url import Destination

NAME = "hooks.example.test"


def _certificate(subject: str, issuer_key: Any, issuer: x509.Name | None, key: Any, *, ca: bool) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer or name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        # Python 3.13 verifies strictly (VERIFY_X509_STRICT): a certificate names the key that signed it.
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
    else:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(subject)]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    folder: Path = tmp_path_factory.mktemp("tls")
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _certificate("textgate test CA", ca_key, None, ca_key, ca=True)
    server_key = ec.generate_private_key(ec.SECP256R1())
    server = _certificate(NAME, ca_key, ca.subject, server_key, ca=False)
    (folder / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (folder / "server.pem").write_bytes(
        server.public_bytes(serialization.Encoding.PEM)
        + server_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    seen: dict[str, Any] = {"sni": [], "requests": []}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            seen["requests"].append((self.path, self.headers.get("Host"), body))
            self.send_response(int(self.path.rsplit("/", 1)[-1]))
            self.send_header("Location", "https://elsewhere.example.test/")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(folder / "server.pem")
    context.sni_callback = lambda sock, name, ctx: seen["sni"].append(name)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    seen["port"] = httpd.server_address[1]
    seen["ca"] = str(folder / "ca.pem")
    try:
        yield seen
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def trusting_test_ca(tls: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(webhook_transport, "_tls_context", lambda: ssl.create_default_context(cafile=tls["ca"]))


def destination(host: str, port: int, target: str) -> Destination:
    return Destination(scheme="https", host=host, port=port, target=target, allowed_host=False)


def test_https_goes_to_the_checked_address_and_checks_the_certificate_against_the_name(
    tls: dict[str, Any], trusting_test_ca: None
) -> None:
    answer = webhook_transport.post(
        destination(NAME, tls["port"], "/in/204"), ["127.0.0.1"], b'{"a":1}', {"X-Test": "1"}, timeout=5
    )
    assert (answer.status_code, answer.error) == (204, None)
    assert tls["sni"][-1] == NAME  # the name, not the address, as SNI
    assert tls["requests"][-1] == ("/in/204", f"{NAME}:{tls['port']}", b'{"a":1}')


def test_a_certificate_for_another_name_is_refused(tls: dict[str, Any], trusting_test_ca: None) -> None:
    before = len(tls["requests"])
    answer = webhook_transport.post(
        destination("other.example.test", tls["port"], "/in/200"), ["127.0.0.1"], b"{}", {}, timeout=5
    )
    assert (answer.status_code, answer.error) == (None, "tls_error")
    assert len(tls["requests"]) == before  # nothing was sent


def test_an_unknown_authority_is_refused(tls: dict[str, Any]) -> None:
    answer = webhook_transport.post(destination(NAME, tls["port"], "/in/200"), ["127.0.0.1"], b"{}", {}, timeout=5)
    assert (answer.status_code, answer.error) == (None, "tls_error")


def test_a_redirect_is_an_answer_not_a_new_request(tls: dict[str, Any], trusting_test_ca: None) -> None:
    answer = webhook_transport.post(destination(NAME, tls["port"], "/in/302"), ["127.0.0.1"], b"{}", {}, timeout=5)
    assert answer.status_code == 302
    assert tls["requests"][-1][0] == "/in/302"


def test_a_refused_connection_is_no_answer() -> None:
    answer = webhook_transport.post(destination(NAME, 9, "/"), ["127.0.0.1"], b"{}", {}, timeout=2)
    assert (answer.status_code, answer.error) == (None, "connection_error")


def test_the_next_checked_address_is_tried_when_one_refuses(tls: dict[str, Any], trusting_test_ca: None) -> None:
    # The receiver listens on 127.0.0.1 only: 127.0.0.2 refuses the connection, and no other address is tried.
    addresses = ["127.0.0.2", "127.0.0.1"]
    answer = webhook_transport.post(destination(NAME, tls["port"], "/in/200"), addresses, b"{}", {}, timeout=5)
    assert answer.status_code == 200
