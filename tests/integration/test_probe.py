"""`tlsresume probe HOST:PORT`: findings against `tlsresume serve` in several
configurations (each finding flips with the setting behind it), against nginx and HAProxy
from Debian started here on loopback, and its one-line errors with exit code 2.

Every probe runs with --json; assertions are on findings' verdicts and the exit code."""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

NGINX = "/usr/sbin/nginx"
HAPROXY = "/usr/sbin/haproxy"


def probe(port, *args, host="localhost", timeout=90):
    """Runs the probe; returns (exit code, {finding: (verdict, reason)}, stderr)."""
    p = h.run_bin("probe", f"{host}:{port}", "--json", *args, timeout=timeout)
    findings = {}
    if p.stdout.strip():
        doc = json.loads(p.stdout)
        findings = {f["name"]: (f["verdict"], f["reason"]) for f in doc["findings"]}
        assert doc["exit_code"] == p.returncode, (doc, p.returncode)
    return p.returncode, findings, p.stderr


class ProbeCase(unittest.TestCase):
    def verdict(self, findings, name, expected, contains=None):
        self.assertIn(name, findings, findings)
        verdict, reason = findings[name]
        self.assertEqual(verdict, expected, f"{name}: {reason}")
        if contains:
            self.assertIn(contains, reason, name)


def key_name_bytes():
    """How many bytes name the key at the start of our TLS 1.2 tickets: RFC 5077's 16 on
    OpenSSL; on BoringSSL our own format names it in 4 and a random nonce follows
    (docs/tls-libraries.md). The probe finds either and follows the key's rotation."""
    return 16 if h.tls_library() == "openssl" else 4


class AgainstSelf(ProbeCase):
    def ticket_layout(self, f):
        if key_name_bytes() == 16:
            self.verdict(f, "tls12-ticket-layout", "ok", "RFC 5077 layout")
        else:
            self.verdict(f, "tls12-ticket-layout", "ok", f"share a {key_name_bytes()}-byte key name")

    def test_defaults_every_resumption_kind_and_no_weakness(self):
        with h.Server() as s:
            code, f, err = probe(s.port)
        self.assertEqual(code, 0, (f, err))
        for name in ("tls12-session-ids", "tls12-tickets", "tls13-tickets",
                     "tls12-session-cipher-change", "tls13-psk-ke-only", "tls12-ticket-tamper", "tls13-ticket-tamper"):
            self.verdict(f, name, "ok")
        self.ticket_layout(f)
        self.verdict(f, "tls13-tickets-per-connection", "info", "2 NewSessionTickets")
        self.verdict(f, "tls12-ticket-lifetime", "info", "3600 s")
        self.verdict(f, "tls13-ticket-size", "info", "stateless")
        self.verdict(f, "tls12-ticket-key", "info", "--watch")
        self.verdict(f, "sni-isolation", "info", "not measured")

    def test_tickets_off(self):
        with h.Server('[default_host]\ntls12_tickets = false\ntls13_tickets = "off"\n') as s:
            code, f, err = probe(s.port)
        self.assertEqual(code, 0, (f, err))
        self.verdict(f, "tls12-session-ids", "ok")
        self.verdict(f, "tls12-tickets", "info", "not issued")
        self.verdict(f, "tls13-tickets", "info", "not issued")
        self.verdict(f, "tls13-tickets-per-connection", "info", "0 NewSessionTickets")
        self.verdict(f, "tls12-ticket-key", "ok", "no TLS 1.2 tickets")
        self.verdict(f, "tls12-ticket-tamper", "info", "not measured")
        self.verdict(f, "tls13-psk-ke-only", "info", "not measured")

    def test_stateful_tls13_tickets_are_references(self):
        with h.Server('[default_host]\ntls13_tickets = "stateful"\ntickets_per_connection = 3\n') as s:
            code, f, err = probe(s.port)
        self.assertEqual(code, 0, (f, err))
        self.verdict(f, "tls13-tickets", "ok")
        self.verdict(f, "tls13-ticket-size", "info", "(stateful)")
        self.verdict(f, "tls13-tickets-per-connection", "info", "3 NewSessionTickets")
        self.verdict(f, "tls13-ticket-tamper", "ok")

    @h.only_on("openssl", 'BoringSSL resumes TLS 1.3 only with (EC)DHE and refuses tls13_psk_modes = "any" at '
                          "start (test_check_config.LibraryLimits)")
    @unittest.skipUnless(shutil.which("gnutls-cli"), "gnutls-cli not installed (apt-get install gnutls-bin)")
    def test_psk_modes_any_resumes_psk_ke_only(self):
        with h.Server('[default_host]\ntls13_psk_modes = "any"\n') as s:
            code, f, err = probe(s.port)
        self.assertEqual(code, 1, (f, err))
        self.verdict(f, "tls13-psk-ke-only", "warn", "no forward secrecy")

    def test_psk_ke_not_measured_without_gnutls_cli(self):
        with h.Server() as s:
            code, f, err = probe(s.port, "--gnutls-cli", "/nonexistent/gnutls-cli")
        self.assertEqual(code, 0, (f, err))
        self.verdict(f, "tls13-psk-ke-only", "info", "not measured (/nonexistent/gnutls-cli not found")

    def test_watch_sees_the_key_rotate(self):
        with h.Server('[tickets]\nkey_rotation = "3s"\n') as s:
            code, f, err = probe(s.port, "--watch", "8s", "--interval", "2s", "--max-age-probe")
        self.assertEqual(code, 0, (f, err))
        self.verdict(f, "tls12-ticket-key-rotation", "ok", "the key name changed")
        self.verdict(f, "ticket-past-lifetime", "info", "not measured")
        self.verdict(f, "ticket-max-age", "info", "still resumes")
        self.assertNotIn("tls12-ticket-key", f)

    def test_watch_warns_on_a_key_that_does_not_change(self):
        with h.Server() as s:
            code, f, err = probe(s.port, "--watch", "3s", "--interval", "1s")
        self.assertEqual(code, 1, (f, err))
        self.verdict(f, "tls12-ticket-key-rotation", "warn", "did not change in")

    def test_tickets_stop_resuming_at_their_lifetime(self):
        with h.Server('[default_host]\nsession_lifetime = "2s"\n') as s:
            code, f, err = probe(s.port, "--watch", "4s", "--interval", "1s", "--max-age-probe")
        # The key does not rotate in 4 s: a warning.
        self.assertEqual(code, 1, (f, err))
        self.verdict(f, "tls12-ticket-lifetime", "info", "2 s")
        self.verdict(f, "ticket-past-lifetime", "ok", "past its hint of 2 s: full handshake")
        self.verdict(f, "ticket-max-age", "info", "the oldest TLS 1.2 ticket that still resumes is")

    def test_two_virtual_hosts_are_isolated(self):
        with tempfile.TemporaryDirectory() as tmp:
            a_cert, a_key = h.make_cert(tmp, "a", "a.example")
            b_cert, b_key = h.make_cert(tmp, "b", "b.example")
            config = (f'[[hosts]]\nserver_names = ["a.example"]\ncert = "{a_cert}"\nkey = "{a_key}"\n'
                      f'[[hosts]]\nserver_names = ["b.example"]\ncert = "{b_cert}"\nkey = "{b_key}"\n')
            with h.Server(config) as s:
                code, f, err = probe(s.port, "--sni", "a.example,b.example")
        self.assertEqual(code, 0, (f, err))
        for name in ("sni-isolation-session-id", "sni-isolation-tls12-ticket", "sni-isolation-tls13-ticket"):
            self.verdict(f, name, "ok", "full handshake")

    def test_two_names_of_one_host(self):
        # TLS 1.2 sessions stay with their name (RFC 6066 §3); a TLS 1.3 ticket may resume
        # under another name covered by the same certificate (RFC 8446 §4.6.1).
        config = '[[hosts]]\nname = "both"\nserver_names = ["a.example", "b.example"]\n'
        with h.Server(config) as s:
            code, f, err = probe(s.port, "--sni", "a.example,b.example")
        self.assertEqual(code, 0, (f, err))
        self.verdict(f, "sni-isolation-session-id", "ok")
        self.verdict(f, "sni-isolation-tls12-ticket", "ok")
        self.verdict(f, "sni-isolation-tls13-ticket", "info", "same certificate")

    def test_connect_and_server_name_split(self):
        with h.Server() as s:
            code, f, err = probe(s.port, "--connect", f"127.0.0.1:{s.port}", "--server-name", "localhost",
                                 host="shop.does-not-resolve.invalid")
        self.assertEqual(code, 0, (f, err))
        self.verdict(f, "tls13-tickets", "ok")

    def test_table_output(self):
        with h.Server() as s:
            p = h.run_bin("probe", f"localhost:{s.port}", timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(p.stdout, r"(?m)^tls12-tickets\s+ok\s+issued and resumed")
        self.assertNotIn("\033[", p.stdout)  # no colour when stdout is not a terminal


class Errors(ProbeCase):
    def test_unreachable_port(self):
        port = h.free_port()
        p = h.run_bin("probe", f"127.0.0.1:{port}")
        self.assertEqual(p.returncode, 2)
        self.assertEqual(p.stdout, "")
        self.assertEqual(p.stderr.strip(), f"tlsresume probe: cannot connect to 127.0.0.1:{port}: Connection refused")

    def test_plain_tcp_port_is_not_tls(self):
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]

        def answer():
            try:
                conn, _ = listener.accept()
                with conn:
                    conn.recv(4096)
                    conn.sendall(b"SSH-2.0-OpenSSH_9.2\r\n")
            except OSError:
                pass

        t = threading.Thread(target=answer, daemon=True)
        t.start()
        try:
            p = h.run_bin("probe", f"127.0.0.1:{port}")
        finally:
            listener.close()
        self.assertEqual(p.returncode, 2)
        self.assertIn("not TLS", p.stderr)
        self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)

    def test_silent_port_times_out(self):
        with socket.socket() as listener:
            listener.bind(("127.0.0.1", 0))
            listener.listen()
            started = time.time()
            p = h.run_bin("probe", f"127.0.0.1:{listener.getsockname()[1]}", "--timeout", "1s")
        self.assertEqual(p.returncode, 2)
        self.assertIn("timed out after 1.0 s", p.stderr)
        self.assertLess(time.time() - started, 10)

    def test_bad_arguments(self):
        for args, message in ((["localhost"], "HOST:PORT"),
                              (["localhost:1", "--sni", "a.example"], "--sni: give two server names"),
                              (["localhost:1", "--max-age-probe"], "--max-age-probe needs --watch"),
                              (["localhost:1", "--watch", "soon"], "--watch")):
            p = h.run_bin("probe", *args)
            self.assertEqual(p.returncode, 2, args)
            self.assertIn(message, p.stderr, args)


# --- nginx and HAProxy from Debian -----------------------------------------------

class Peer:
    def __init__(self, argv, port, tmp):
        self.port = port
        self.log = open(os.path.join(tmp, "peer.log"), "w+")
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT)
        if not h.wait_port(port):
            self.stop()
            self.log.seek(0)
            raise RuntimeError("peer did not start: " + self.log.read())

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


class AgainstPeers(ProbeCase):
    """Debian 12's nginx 1.22 and HAProxy 2.6 with tickets on and no ticket key file: both
    use keys OpenSSL made at start and never rotate them (nginx 1.23.2 and later rotate
    keys kept in a shared session cache); neither allows psk_ke; both are OpenSSL 3.0
    servers, which end the handshake with illegal_parameter when a TLS 1.2 session's suite
    is no longer offered, and resume a TLS 1.2 session under another server name."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="tlsresume-probe-")
        self.cert, self.key = h.make_cert(self.tmp.name, "peer", "a.example")

    def tearDown(self):
        self.tmp.cleanup()

    def start_nginx(self):
        if not os.access(NGINX, os.X_OK):
            self.skipTest(f"nginx not installed at {NGINX} (apt-get install nginx-light)")
        port, d = h.free_port(), self.tmp.name
        conf = os.path.join(d, "nginx.conf")
        with open(conf, "w") as f:
            f.write(f"""daemon off; master_process on; worker_processes 1; pid {d}/nginx.pid;
error_log stderr warn;
events {{ worker_connections 256; }}
http {{
  access_log off;
  client_body_temp_path {d}/body; proxy_temp_path {d}/proxy; fastcgi_temp_path {d}/fastcgi;
  uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;
  server {{
    listen 127.0.0.1:{port} ssl;
    server_name a.example b.example;
    ssl_certificate {self.cert}; ssl_certificate_key {self.key};
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_cache shared:probe:1m; ssl_session_timeout 3600s; ssl_session_tickets on;
    location / {{ return 200 "ok\\n"; }}
  }}
}}
""")
        return Peer([NGINX, "-p", d + "/", "-e", "stderr", "-c", conf], port, d)

    def start_haproxy(self):
        if not os.access(HAPROXY, os.X_OK):
            self.skipTest(f"haproxy not installed at {HAPROXY} (apt-get install haproxy)")
        port, d = h.free_port(), self.tmp.name
        pem = os.path.join(d, "combined.pem")
        with open(pem, "w") as out:
            out.write(open(self.cert).read() + open(self.key).read())
        conf = os.path.join(d, "haproxy.cfg")
        with open(conf, "w") as f:
            f.write(f"""global
  nbthread 1
  tune.ssl.lifetime 3600
  ssl-default-bind-options ssl-min-ver TLSv1.2
defaults
  mode http
  timeout connect 5s
  timeout client 10s
  timeout server 10s
frontend probe
  bind 127.0.0.1:{port} ssl crt {pem}
  http-request return status 200 content-type text/plain string "ok"
""")
        return Peer([HAPROXY, "-db", "-f", conf], port, d)

    def check_common(self, f):
        self.verdict(f, "tls12-session-ids", "ok")
        self.verdict(f, "tls12-tickets", "ok")
        self.verdict(f, "tls12-ticket-layout", "ok")
        self.verdict(f, "tls13-tickets", "ok")
        self.verdict(f, "tls12-ticket-tamper", "ok")
        self.verdict(f, "tls13-ticket-tamper", "ok")
        if shutil.which("gnutls-cli"):
            self.verdict(f, "tls13-psk-ke-only", "ok")
        self.verdict(f, "tls12-ticket-key-rotation", "warn", "did not change")
        self.verdict(f, "tls12-session-cipher-change", "warn", "illegal parameter")

    def test_nginx(self):
        peer = self.start_nginx()
        try:
            code, f, err = probe(peer.port, "--connect", f"127.0.0.1:{peer.port}", "--watch", "3s", "--interval",
                                 "1s", "--sni", "a.example,b.example", host="a.example")
        finally:
            peer.stop()
        self.assertEqual(code, 2, (f, err))
        self.check_common(f)
        self.verdict(f, "tls13-tickets-per-connection", "info", "2 NewSessionTickets")
        # One server block for both names: OpenSSL 3.0 resumes a TLS 1.2 session under the
        # other name, which RFC 6066 §3 forbids; nginx does not check.
        self.verdict(f, "sni-isolation-session-id", "fail", "RFC 6066")
        self.verdict(f, "sni-isolation-tls13-ticket", "info", "same certificate")

    def test_haproxy(self):
        peer = self.start_haproxy()
        try:
            code, f, err = probe(peer.port, "--connect", f"127.0.0.1:{peer.port}", "--watch", "3s",
                                 "--interval", "1s", "--sni", "a.example,b.example", host="a.example")
        finally:
            peer.stop()
        self.assertEqual(code, 2, (f, err))
        self.check_common(f)
        # One certificate for every name: the same as nginx's one server block.
        self.verdict(f, "sni-isolation-tls12-ticket", "fail", "RFC 6066")
        self.verdict(f, "sni-isolation-tls13-ticket", "info", "same certificate")


if __name__ == "__main__":
    unittest.main()
