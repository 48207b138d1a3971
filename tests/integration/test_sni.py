"""Virtual hosts chosen by SNI: each [[hosts]] entry presents its own certificate and the
built-in responder names it; unknown or absent SNI lands on the default host."""
import os
import re
import socket
import ssl
import subprocess
import tempfile
import unittest

from harness import Server, body_field, client_context, https_get, make_cert, metric_sum, s_client, wait_for


def subject_cn(s_client_output):
    m = re.search(r"(?m)^subject=.*?CN\s*=\s*([^,\n]+)", s_client_output)
    return m.group(1).strip() if m else None


def peer_cert_text(port, server_hostname):
    """The server's certificate as Python's ssl received it, decoded by `openssl x509`."""
    ctx = client_context()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname=server_hostname) as s:
            der = s.getpeercert(binary_form=True)
    p = subprocess.run(["openssl", "x509", "-inform", "DER", "-noout", "-subject", "-ext", "subjectAltName"],
                       input=der, capture_output=True, timeout=10)
    assert p.returncode == 0, p.stderr
    return p.stdout.decode()


def tls12_context(tickets):
    """Python's TLS 1.2 client, hostname checks off (the names here are not all the
    certificate's), with or without ticket support."""
    ctx = client_context(ssl.TLSVersion.TLSv1_2)
    ctx.check_hostname = False
    if not tickets:
        ctx.options |= ssl.OP_NO_TICKET
    return ctx


class Sni(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.certs = tempfile.TemporaryDirectory(prefix="tlsresume-sni-")
        a_cert, a_key = make_cert(cls.certs.name, "a", "a.test")
        b_cert, b_key = make_cert(cls.certs.name, "b", "b.test", key_type="rsa")
        config = f"""
[[hosts]]
name = "alpha"
server_names = ["a.test", "www.a.test"]
cert = "{a_cert}"
key = "{a_key}"

[[hosts]]
server_names = ["b.test"]
cert = "{b_cert}"
key = "{b_key}"

[[hosts]]
name = "wild"
server_names = ["*.wild.test"]
"""
        cls.server = Server(config=config)
        cls.server.start()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.certs.cleanup()

    def check(self, servername, cn, vhost, sni=None, version="-tls1_3"):
        out = s_client(self.server.port, version, servername=servername)
        self.assertIn("HTTP/1.1 200 OK", out)
        self.assertEqual(subject_cn(out), cn, out)
        self.assertEqual(body_field(out, "vhost"), vhost)
        self.assertEqual(body_field(out, "sni"), sni if sni is not None else (servername or "(none)"))

    def test_host_a(self):
        for version in ("-tls1_2", "-tls1_3"):
            with self.subTest(version=version):
                self.check("a.test", "a.test", "alpha", version=version)

    def test_second_name_of_host_a(self):
        self.check("www.a.test", "a.test", "alpha")

    def test_host_b_named_after_its_first_server_name(self):
        for version in ("-tls1_2", "-tls1_3"):
            with self.subTest(version=version):
                self.check("b.test", "b.test", "b.test", version=version)

    def test_unknown_sni_gets_default(self):
        self.check("c.test", "localhost", "default")

    def test_no_sni_gets_default(self):
        self.check(None, "localhost", "default")

    def test_sni_is_case_insensitive(self):
        self.check("A.TEST", "a.test", "alpha", sni="a.test")

    def test_wildcard_matches_one_label(self):
        # A host without cert/key gets a generated certificate named after its first name.
        self.check("x.wild.test", "wild.test", "wild")
        self.check("a.b.wild.test", "localhost", "default")
        self.check("wild.test", "localhost", "default")

    def test_python_ssl_sees_each_certificate(self):
        self.assertRegex(peer_cert_text(self.server.port, "a.test"), r"subject=CN\s*=\s*a\.test")
        self.assertIn("DNS:a.test", peer_cert_text(self.server.port, "a.test"))
        self.assertRegex(peer_cert_text(self.server.port, "b.test"), r"subject=CN\s*=\s*b\.test")
        self.assertRegex(peer_cert_text(self.server.port, "unknown.test"), r"subject=CN\s*=\s*localhost")

    def test_python_ssl_verifies_host_a_against_its_own_cert(self):
        # With verification on and only a.test's certificate trusted, the handshake to
        # a.test must succeed (and one to b.test must fail): the right chain is served.
        ctx = ssl.create_default_context(cafile=os.path.join(self.certs.name, "a.crt"))
        body, _, _ = https_get(self.server.port, ctx, server_hostname="a.test")
        self.assertIn("vhost: alpha", body)
        with self.assertRaises(ssl.SSLCertVerificationError):
            https_get(self.server.port, ctx, server_hostname="b.test")

    def test_metrics_per_vhost(self):
        before = self.server.handshakes("full", vhost="b.test")
        s_client(self.server.port, "-tls1_3", servername="b.test")
        s_client(self.server.port, "-tls1_3", servername="b.test")
        self.assertTrue(wait_for(lambda: self.server.handshakes("full", vhost="b.test") >= before + 2))

    # --- a session belongs to the name it was made for (TLS 1.2) or its host (TLS 1.3) ---
    def test_a_tls12_session_resumes_only_under_its_own_server_name(self):
        # RFC 6066 §3: the server "MUST NOT accept the request to resume the session if the
        # server_name extension contains a different name" (OpenSSL 3.0 would resume it).
        # By session id and by ticket; www.a.test is a second name of the same host.
        mismatches = metric_sum(self.server, "tlsresume_ticket_decrypt_total", result="server_name_mismatch")
        for tickets in (False, True):
            with self.subTest(tickets=tickets):
                ctx = tls12_context(tickets)
                body, session, _ = https_get(self.server.port, ctx, server_hostname="a.test")
                self.assertIn("vhost: alpha", body)
                body, _, reused = https_get(self.server.port, ctx, session=session, server_hostname="www.a.test")
                self.assertFalse(reused, body)
                self.assertIn("vhost: alpha", body)
                self.assertIn("resumed: no", body)
                body, _, reused = https_get(self.server.port, ctx, session=session, server_hostname="A.test")
                self.assertTrue(reused, body)  # the same name, in other letters: resumes
        self.assertEqual(metric_sum(self.server, "tlsresume_ticket_decrypt_total", result="server_name_mismatch"),
                         mismatches + 1)

    def test_a_tls12_session_under_a_name_we_do_not_route_still_resumes(self):
        # "localhost." (trailing dot) is not a name we route by (default host), but OpenSSL
        # stores it in the session as sent: the same bytes next time must resume.
        for tickets in (False, True):
            with self.subTest(tickets=tickets):
                ctx = tls12_context(tickets)
                body, session, _ = https_get(self.server.port, ctx, server_hostname="localhost.")
                self.assertIn("vhost: default", body)
                body, _, reused = https_get(self.server.port, ctx, session=session, server_hostname="localhost.")
                self.assertTrue(reused, body)
                body, _, reused = https_get(self.server.port, ctx, session=session, server_hostname="localhost")
                self.assertFalse(reused, body)  # another name

    def test_a_tls12_session_without_a_server_name_does_not_resume_with_one(self):
        ctx = tls12_context(tickets=False)
        body, session, _ = https_get(self.server.port, ctx, server_hostname=None)
        self.assertIn("vhost: default", body)
        _, _, reused = https_get(self.server.port, ctx, session=session, server_hostname=None)
        self.assertTrue(reused)
        body, _, reused = https_get(self.server.port, ctx, session=session, server_hostname="c.test")
        self.assertFalse(reused, body)  # c.test lands on the default host too, but is another name

    def test_a_tls13_ticket_resumes_under_another_name_of_its_host(self):
        # RFC 8446 §4.6.1 lets a client resume under any name the certificate covers; the
        # host binding (a ticket of one host never resumes on another) still holds.
        ctx = client_context(ssl.TLSVersion.TLSv1_3)
        ctx.check_hostname = False
        body, session, _ = https_get(self.server.port, ctx, server_hostname="a.test")
        body, _, reused = https_get(self.server.port, ctx, session=session, server_hostname="www.a.test")
        self.assertTrue(reused, body)
        self.assertIn("resumed: ticket", body)


if __name__ == "__main__":
    unittest.main()
