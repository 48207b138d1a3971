"""`tlsresume serve` on its embedded defaults (no config file): real clients connect,
the generated certificate is what the help text promises, the admin endpoint answers,
broken clients are counted as failed handshakes without hurting the next client, and
SIGTERM stops the process cleanly."""
import signal
import socket
import ssl
import subprocess
import time
import unittest

from harness import (Server, body_field, client_context, https_get, metric_sum, port_open, resumed_line, run_bin,
                     read_to_eof, s_client, tls_connect, wait_for)

EVERY_SERVE_FLAG = ["--listen", "--cert", "--key", "--backend", "--admin", "--workers", "--config"]


def client_hello_bytes():
    """A real TLS ClientHello made by Python's ssl, without any server."""
    ctx = client_context()
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing, server_hostname="localhost")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    data = outgoing.read()
    assert data and data[0] == 0x16, data[:8]
    return data


class ServeBasics(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server()
        cls.server.start()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def assertServing(self):
        """The server still completes a handshake and answers a request."""
        out = s_client(self.server.port, "-tls1_3")
        self.assertIn("HTTP/1.1 200 OK", out)
        self.assertTrue(self.server.alive(), self.server.output())

    def test_s_client_tls12(self):
        out = s_client(self.server.port, "-tls1_2")
        self.assertIn("HTTP/1.1 200 OK", out)
        self.assertRegex(out, r"(?m)^tlsresume: TLSv1\.2 ECDHE-ECDSA-\S+")
        self.assertIn("New, TLSv1.2", out)
        self.assertEqual(resumed_line(out), "no")
        self.assertEqual(body_field(out, "sni"), "localhost")
        self.assertEqual(body_field(out, "vhost"), "default")

    def test_s_client_tls13(self):
        out = s_client(self.server.port, "-tls1_3")
        self.assertIn("HTTP/1.1 200 OK", out)
        self.assertRegex(out, r"(?m)^tlsresume: TLSv1\.3 TLS_\S+")
        self.assertIn("New, TLSv1.3", out)
        self.assertEqual(resumed_line(out), "no")

    def test_s_client_without_sni(self):
        out = s_client(self.server.port, servername=None)
        self.assertIn("HTTP/1.1 200 OK", out)
        self.assertEqual(body_field(out, "sni"), "(none)")
        self.assertEqual(body_field(out, "vhost"), "default")

    def test_curl(self):
        port = self.server.port
        p = subprocess.run(["curl", "-sS", "-k", "--max-time", "10", "--resolve", f"localhost:{port}:127.0.0.1",
                            "-w", "\\nHTTP_CODE=%{http_code}\\n", f"https://localhost:{port}/"],
                           capture_output=True, text=True, timeout=15)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("HTTP_CODE=200", p.stdout)
        self.assertRegex(p.stdout, r"(?m)^tlsresume: TLSv1\.3 ")
        self.assertEqual(body_field(p.stdout, "sni"), "localhost")

    def test_curl_tls12(self):
        port = self.server.port
        p = subprocess.run(["curl", "-sS", "-k", "--max-time", "10", "--tlsv1.2", "--tls-max", "1.2",
                            "--resolve", f"localhost:{port}:127.0.0.1", f"https://localhost:{port}/"],
                           capture_output=True, text=True, timeout=15)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(p.stdout, r"(?m)^tlsresume: TLSv1\.2 ")

    def test_python_ssl(self):
        for version, label in ((ssl.TLSVersion.TLSv1_2, "TLSv1.2"), (ssl.TLSVersion.TLSv1_3, "TLSv1.3")):
            with self.subTest(version=label):
                body, _, reused = https_get(self.server.port, client_context(version))
                self.assertTrue(body.startswith("HTTP/1.1 200 OK"), body)
                self.assertIn(f"tlsresume: {label} ", body)
                self.assertFalse(reused)

    def test_keep_alive_two_requests_one_connection(self):
        req = (b"GET /one HTTP/1.1\r\nHost: localhost\r\n\r\n"
               b"GET /two HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        out = s_client(self.server.port, "-tls1_3", request=req)
        self.assertEqual(out.count("HTTP/1.1 200 OK"), 2, out)

    def test_generated_certificate_is_ecdsa_p256_for_localhost(self):
        out = s_client(self.server.port, "-showcerts")
        self.assertIn("-----BEGIN CERTIFICATE-----", out)
        p = subprocess.run(["openssl", "x509", "-noout", "-text"], input=out, capture_output=True, text=True,
                           timeout=10)
        self.assertEqual(p.returncode, 0, p.stderr)
        text = p.stdout
        self.assertIn("Public Key Algorithm: id-ecPublicKey", text)
        self.assertRegex(text, r"(ASN1 OID: prime256v1|NIST CURVE: P-256)")
        self.assertRegex(text, r"Subject: CN\s*=\s*localhost")
        self.assertIn("DNS:localhost", text)

    def test_healthz(self):
        status, body = self.server.admin("GET", "/healthz")
        self.assertEqual(status, 200)
        self.assertEqual(body.strip(), "ok")
        p = self.server.ctl("health")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout.strip(), "ok")

    def test_metrics_count_full_handshakes(self):
        before = self.server.handshakes("full", "TLSv1.2")
        s_client(self.server.port, "-tls1_2", "-no_ticket")
        self.assertTrue(wait_for(lambda: self.server.handshakes("full", "TLSv1.2") >= before + 1),
                        f"full TLSv1.2 handshakes stayed at {before}")
        status, body = self.server.admin("GET", "/metrics")
        self.assertEqual(status, 200)
        self.assertIn("# TYPE tlsresume_handshakes_total counter", body)
        self.assertRegex(body, r'(?m)^tlsresume_handshakes_total\{vhost="default",version="TLSv1\.2",kind="full"\} [1-9]')
        self.assertGreaterEqual(metric_sum(self.server, "tlsresume_connections_total"), 1)

    def test_garbage_instead_of_client_hello(self):
        before = self.server.handshakes("failed")
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=5) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n" + b"\x00garbage" * 64)
            # The server gives up on the connection: an alert, then EOF (bounded by the timeout).
            data = b""
            while True:
                try:
                    chunk = s.recv(4096)
                except ConnectionResetError:
                    break
                if not chunk:
                    break
                data += chunk
            self.assertNotIn(b"HTTP/1.1 200", data)
        self.assertTrue(wait_for(lambda: self.server.handshakes("failed") >= before + 1),
                        "garbage was not counted as a failed handshake")
        self.assertServing()

    def test_disconnect_mid_handshake(self):
        hello = client_hello_bytes()
        before = self.server.handshakes("failed")
        # 1) half a ClientHello, then gone.
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=5) as s:
            s.sendall(hello[: len(hello) // 2])
        # 2) a whole ClientHello, read the server's first flight, then gone before Finished.
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=5) as s:
            s.sendall(hello)
            first = s.recv(4096)
            self.assertTrue(first and first[0] == 0x16, first[:8])  # a handshake record: ServerHello
        self.assertTrue(wait_for(lambda: self.server.handshakes("failed") >= before + 2),
                        f"failed handshakes: before {before}, now {self.server.handshakes('failed')}")
        self.assertServing()

    def test_connect_and_close_without_bytes(self):
        for _ in range(5):
            with socket.create_connection(("127.0.0.1", self.server.port), timeout=5):
                pass
        self.assertServing()


    def test_a_request_whose_lines_end_in_a_lone_lf_is_answered(self):
        # RFC 9112 §2.2 lets a recipient take a lone LF for a line's end; nginx and HAProxy
        # answer such requests. Unanswered, it would wait for the idle timeout (minutes):
        # the socket's timeout turns that into an error here.
        for request in (b"GET / HTTP/1.0\n\n", b"GET / HTTP/1.1\nHost: localhost\nConnection: close\n\n"):
            with self.subTest(request=request), tls_connect(self.server.port) as s:
                s.settimeout(5)
                s.sendall(request)
                data = read_to_eof(s)
                self.assertTrue(data.startswith(b"HTTP/1.1 200 OK\r\n"), data[:80])
                self.assertIn(b"Connection: close\r\n", data)
                self.assertIn(b"\r\n\r\ntlsresume: TLSv1.3", data)
        self.assertServing()

    def test_bad_request_gets_400(self):
        out = s_client(self.server.port, "-tls1_3", request=b"NOT HTTP AT ALL\r\n\r\n")
        self.assertIn("HTTP/1.1 400 Bad Request", out)
        self.assertServing()

    def test_early_error_reply_reads_the_rest_instead_of_resetting(self):
        # 413 is decided from the head while the body is still coming. Closing with those
        # bytes unread would make the kernel reset the connection, failing the client's
        # upload and, off loopback, destroying the answer in flight: the server lingers,
        # reading and dropping the rest, after its answer and close_notify.
        for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
            with self.subTest(version=version.name):
                raw = socket.create_connection(("127.0.0.1", self.server.port), timeout=10)
                s = client_context(version).wrap_socket(raw, server_hostname="localhost", suppress_ragged_eofs=False)
                try:
                    s.sendall(b"POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3000000\r\n\r\n")
                    s.sendall(b"x" * 3_000_000)  # a reset would fail this send
                    answer = b""
                    while True:
                        chunk = s.recv(65536)  # b"" only on the server's close_notify
                        if not chunk:
                            break
                        answer += chunk
                finally:
                    s.close()
                self.assertTrue(answer.startswith(b"HTTP/1.1 413 "), answer[:80])
        self.assertServing()

    def test_admin_rejects_wrong_method_and_path(self):
        self.assertEqual(self.server.admin("POST", "/healthz")[0], 405)
        self.assertEqual(self.server.admin("GET", "/revoke?all=1")[0], 405)
        status, body = self.server.admin("GET", "/no-such-endpoint")
        self.assertEqual(status, 404)
        self.assertIn("/healthz", body)


class Timeouts(unittest.TestCase):
    def test_handshake_timeout(self):
        with Server(config="handshake_timeout = 1\n", workers=1) as srv:
            # (the harness's readiness probe, a connect-and-close, already counts as failed)
            failed = wait_for(lambda: srv.handshakes("failed"), timeout=2)
            with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as s:
                start = time.monotonic()
                s.sendall(client_hello_bytes()[:10])  # a ClientHello that never completes
                try:
                    self.assertEqual(s.recv(100), b"")
                except ConnectionResetError:
                    pass
                waited = time.monotonic() - start
            self.assertGreaterEqual(waited, 0.9)
            self.assertLess(waited, 4)
            self.assertTrue(wait_for(lambda: metric_sum(srv, "tlsresume_handshake_timeouts_total") == 1))
            self.assertEqual(srv.handshakes("failed"), failed + 1)
            self.assertIn("HTTP/1.1 200 OK", s_client(srv.port, "-tls1_3"))

    def test_idle_timeout_closes_with_close_notify(self):
        with Server(config="idle_timeout = 1\n", workers=1) as srv:
            raw = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
            with client_context().wrap_socket(raw, server_hostname="localhost") as s:
                start = time.monotonic()
                # Nothing sent after the handshake: the server closes cleanly (close_notify).
                self.assertEqual(s.recv(100), b"")
                waited = time.monotonic() - start
            self.assertGreaterEqual(waited, 0.9)
            self.assertLess(waited, 4)
            self.assertTrue(wait_for(lambda: metric_sum(srv, "tlsresume_connections_open") == 0))


class CommandLine(unittest.TestCase):
    def test_top_level_help(self):
        p = run_bin("--help")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("serve", p.stdout)
        self.assertIn("ctl", p.stdout)

    def test_serve_help_mentions_every_flag(self):
        p = run_bin("serve", "--help")
        self.assertEqual(p.returncode, 0, p.stderr)
        for flag in EVERY_SERVE_FLAG:
            self.assertIn(flag, p.stdout)

    def test_unknown_flag_is_a_usage_error(self):
        p = run_bin("serve", "--no-such-flag")
        self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
        self.assertIn("--no-such-flag", p.stdout + p.stderr)

    def test_sigterm_exits_zero(self):
        srv = Server()
        srv.start()
        try:
            self.assertIn("HTTP/1.1 200 OK", s_client(srv.port, "-tls1_3"))
            srv.proc.send_signal(signal.SIGTERM)
            rc = srv.proc.wait(timeout=15)
        finally:
            srv.stop()
        self.assertEqual(rc, 0, srv.output())
        self.assertIn("stopped", srv.output())

    def test_sigterm_drains_open_connection(self):
        # A connection open when SIGTERM arrives still gets its answer; new connections are
        # refused; the process exits 0 as soon as the last connection is done.
        srv = Server(workers=1)
        srv.start()
        try:
            s = tls_connect(srv.port)
            srv.proc.send_signal(signal.SIGTERM)
            self.assertTrue(wait_for(lambda: not port_open(srv.port), timeout=3), "still accepting after SIGTERM")
            s.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            data = read_to_eof(s)
            s.close()
            self.assertIn(b"HTTP/1.1 200 OK", data)
            start = time.monotonic()
            rc = srv.proc.wait(timeout=15)
            self.assertLess(time.monotonic() - start, 3)
        finally:
            srv.stop()
        self.assertEqual(rc, 0, srv.output())

    def test_sigint_exits_zero(self):
        srv = Server()
        srv.start()
        try:
            srv.proc.send_signal(signal.SIGINT)
            rc = srv.proc.wait(timeout=15)
        finally:
            srv.stop()
        self.assertEqual(rc, 0, srv.output())


if __name__ == "__main__":
    unittest.main()
