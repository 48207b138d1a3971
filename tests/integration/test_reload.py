"""Reload (SIGHUP, `ctl reload`, POST /reload): the configuration and certificates are read
again and new TLS contexts swapped in, while connections under way keep theirs and every
session, ticket key and revocation survives. A broken or restart-only change is refused with
one log line and the old configuration keeps serving."""
import os
import shutil
import signal
import socket
import ssl
import tempfile
import threading
import unittest

from harness import Server, client_context, free_port, https_get, make_cert, tls_connect, tls_library, wait_for


class EchoBackend:
    """A TCP backend on a thread of its own: it answers an HTTP request with a short answer
    and closes, and echoes every byte of anything else back (a stream)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stopped:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._echo, args=(conn,), daemon=True).start()

    @staticmethod
    def _echo(conn):
        with conn:
            first = True
            while True:
                data = conn.recv(65536)
                if not data:
                    return
                if first and data.startswith(b"GET "):
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n")
                    return
                first = False
                conn.sendall(data)

    def close(self):
        self.stopped = True
        self.sock.close()


def certificate_of(port, server_hostname="localhost"):
    with tls_connect(port, client_context(), server_hostname) as s:
        return s.getpeercert(binary_form=True)


def recv_exactly(sock, n):
    out = b""
    while len(out) < n:
        chunk = sock.recv(n - len(out))
        if not chunk:
            raise AssertionError(f"stream ended after {len(out)} of {n} bytes")
        out += chunk
    return out


class ReloadCase(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="tlsresume-reload-")
        self.dir = self.tmp.name
        self.cert, self.key = make_cert(self.dir, "site", "localhost")
        self.backend = EchoBackend()
        self.config_path = os.path.join(self.dir, "tlsresume.toml")
        self.write_config()
        self.server = Server(args=["--config", self.config_path], workers=2)
        self.server.start()

    def tearDown(self):
        self.server.stop()
        self.backend.close()
        self.tmp.cleanup()

    def write_config(self, extra="", text=None):
        with open(self.config_path, "w") as f:
            f.write(text if text is not None else
                    f'backend = "127.0.0.1:{self.backend.port}"\n{extra}\n'
                    f'[default_host]\ncert = "{self.cert}"\nkey = "{self.key}"\n')

    def renew_certificate(self):
        """The operator's renewal: new files in place of the old ones, then a reload."""
        new_cert, new_key = make_cert(self.dir, "renewed", "localhost")
        shutil.move(new_cert, self.cert)
        shutil.move(new_key, self.key)

    def reloads(self, result):
        return int(self.server.metrics().get(f'tlsresume_reloads_total{{result="{result}"}}', 0))

    def log_count(self, text):
        return self.server.output().count(text)


class RenewedCertificate(ReloadCase):
    def test_a_renewed_certificate_is_served_and_nothing_in_flight_or_stored_is_lost(self):
        port = self.server.port
        old_cert = certificate_of(port)
        # Stored state from before: a TLS 1.2 session id, a TLS 1.2 ticket, a TLS 1.3 ticket.
        ctx12_id = client_context(ssl.TLSVersion.TLSv1_2)
        ctx12_id.options |= ssl.OP_NO_TICKET
        ctx12 = client_context(ssl.TLSVersion.TLSv1_2)
        ctx13 = client_context(ssl.TLSVersion.TLSv1_3)
        _, s_id, _ = https_get(port, ctx12_id)
        _, s_t12, _ = https_get(port, ctx12)
        _, s_t13, _ = https_get(port, ctx13)
        # A client streaming through the proxy while the reload happens.
        stream = tls_connect(port, client_context())
        stream.sendall(b"before reload\n")
        self.assertEqual(recv_exactly(stream, 14), b"before reload\n")

        self.renew_certificate()
        self.server.proc.send_signal(signal.SIGHUP)
        self.assertTrue(wait_for(lambda: self.reloads("ok") == 1, timeout=10), self.server.output())

        # The connection under way goes on, on the contexts it began with.
        payload = os.urandom(256 * 1024)
        stream.sendall(payload)
        self.assertEqual(recv_exactly(stream, len(payload)), payload)
        stream.close()
        # New handshakes see the new certificate.
        new_cert = certificate_of(port)
        self.assertNotEqual(new_cert, old_cert)
        # Everything issued before the reload still resumes after it.
        for name, ctx, session in (("session id", ctx12_id, s_id), ("TLS 1.2 ticket", ctx12, s_t12),
                                   ("TLS 1.3 ticket", ctx13, s_t13)):
            with self.subTest(name):
                _, _, reused = https_get(port, ctx, session)
                self.assertTrue(reused, f"{name} issued before the reload did not resume after it")
        self.assertEqual(self.log_count("reloaded (SIGHUP)"), 1)
        self.assertEqual(self.server.handshakes("failed"), 0)

    def test_ctl_reload_answers_and_is_counted(self):
        self.renew_certificate()
        r = self.server.ctl("reload")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn('"reloaded":true', r.stdout)
        self.assertEqual(self.reloads("ok"), 1)
        self.assertEqual(self.log_count("reloaded (POST /reload)"), 1)


class RefusedReload(ReloadCase):
    def old_certificate_still_served(self, old_cert):
        self.assertEqual(certificate_of(self.server.port), old_cert)
        self.assertTrue(self.server.alive())

    def test_a_broken_config_is_refused_and_the_old_one_keeps_serving(self):
        old_cert = certificate_of(self.server.port)
        self.write_config(text="listen = [\n")  # not TOML
        self.server.proc.send_signal(signal.SIGHUP)
        self.assertTrue(wait_for(lambda: self.reloads("refused") == 1, timeout=10), self.server.output())
        lines = [l for l in self.server.output().splitlines() if "reload (SIGHUP) refused" in l]
        self.assertEqual(len(lines), 1, self.server.output())
        self.assertIn("invalid TOML", lines[0])
        self.old_certificate_still_served(old_cert)
        r = self.server.ctl("reload")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("invalid TOML", r.stderr)

    def test_a_broken_certificate_is_refused(self):
        old_cert = certificate_of(self.server.port)
        with open(self.cert, "w") as f:
            f.write("-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n")
        r = self.server.ctl("reload")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(self.cert, r.stderr)
        self.old_certificate_still_served(old_cert)

    def test_a_change_that_needs_a_restart_is_named_and_nothing_changes(self):
        old_cert = certificate_of(self.server.port)
        self.renew_certificate()
        self.write_config(extra='handshake_timeout = "7s"\nidle_timeout = "99s"')
        r = self.server.ctl("reload")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("need a restart", r.stderr)
        self.assertIn("handshake_timeout", r.stderr)
        self.assertIn("idle_timeout", r.stderr)
        # Refused whole: not even the renewed certificate was taken.
        self.old_certificate_still_served(old_cert)
        self.assertEqual(self.reloads("refused"), 1)

    def test_what_the_tls_library_cannot_serve_is_judged_on_reload(self):
        # A host's TLS 1.3 ticket count changed away from the default host's: BoringSSL
        # issues one number per listener, so the reload is refused naming the host and the
        # old configuration keeps serving; OpenSSL serves it.
        cert_b, key_b = make_cert(self.dir, "b", "b.example")

        def with_host_b(extra):
            self.write_config(extra="")
            with open(self.config_path, "a") as f:
                f.write(f'[[hosts]]\nname = "b"\nserver_names = ["b.example"]\ncert = "{cert_b}"\n'
                        f'key = "{key_b}"\n{extra}')

        self.server.stop()
        with_host_b("")
        self.server = Server(args=["--config", self.config_path], workers=2)
        self.server.start()
        old_cert = certificate_of(self.server.port)
        with_host_b("tickets_per_connection = 3\n")
        r = self.server.ctl("reload")
        if tls_library() == "boringssl":
            self.assertNotEqual(r.returncode, 0)
            self.assertIn('host \\"b\\"', r.stdout + r.stderr)
            self.assertIn("tickets_per_connection = 3", r.stdout + r.stderr)
            self.assertEqual(self.reloads("refused"), 1)
            self.old_certificate_still_served(old_cert)
        else:
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertEqual(self.reloads("ok"), 1)
        self.assertTrue(self.server.alive())

if __name__ == "__main__":
    unittest.main()
