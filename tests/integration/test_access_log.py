"""access_log and log_format: one line per connection when it closes (client, SNI, virtual
host, TLS version, cipher, ALPN, how it resumed, handshake time, bytes each way, duration,
why it closed), as text or JSON; the file reopened on SIGUSR1 (logrotate); every JSON log
line parses."""
import json
import os
import re
import signal
import socket
import ssl
import tempfile
import time
import unittest

from harness import Server, client_context, https_get, s_client, resumed_line, wait_for

CONFIG = '[[hosts]]\nserver_names = ["stateful.test"]\ntls13_tickets = "stateful"\n'
TEXT_LINE = re.compile(
    r"^(?P<time>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) (?P<client>127\.0\.0\.1):(?P<port>\d+) "
    r"sni=(?P<sni>\S+) vhost=(?P<vhost>\S+) tls=(?P<tls_version>\S+) cipher=(?P<cipher>\S+) alpn=(?P<alpn>\S+) "
    r"resumed=(?P<resumed>\S+) handshake_ms=(?P<handshake_ms>\S+) in=(?P<bytes_in>\d+) out=(?P<bytes_out>\d+) "
    r"duration_ms=(?P<duration_ms>[\d.]+) close=\"(?P<close>[^\"]+)\"$")


def parse_lines(text, fmt):
    records = []
    for line in text.splitlines():
        if fmt == "json":
            records.append(json.loads(line))
        else:
            m = TEXT_LINE.match(line)
            assert m, f"not an access-log line: {line!r}"
            r = m.groupdict()
            for k in ("sni", "alpn", "tls_version", "cipher", "resumed", "handshake_ms", "vhost"):
                if r[k] == "-":
                    r[k] = "" if k != "handshake_ms" else None
            r["client_port"] = int(r.pop("port"))
            for k in ("bytes_in", "bytes_out"):
                r[k] = int(r[k])
            r["duration_ms"] = float(r["duration_ms"])
            if r["handshake_ms"] is not None:
                r["handshake_ms"] = float(r["handshake_ms"])
            records.append(r)
    return records


class AccessLogFormats:
    fmt = None

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="tlsresume-access-")
        cls.path = os.path.join(cls.tmp.name, "access.log")
        cls.server = Server(config=CONFIG, workers=2,
                            args=["--access-log", cls.path, "--log-format", cls.fmt])
        cls.server.start()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.tmp.cleanup()

    def setUp(self):
        # A line is written when the server closes its side, which can come just after the
        # client of the previous test saw the end: start once the file has stopped growing.
        last, stable_since = -1, time.time()
        deadline = time.time() + 5
        while time.time() < deadline:
            size = len(self.read())
            if size != last:
                last, stable_since = size, time.time()
            elif time.time() - stable_since >= 0.3:
                break
            time.sleep(0.05)

    def read(self):
        try:
            with open(self.path) as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def lines_after(self, before, count):
        """The access-log records written after `before` characters, once `count` are there."""
        text = wait_for(lambda: (lambda t: t if t.count("\n") >= count else "")(self.read()[before:]), timeout=5)
        self.assertTrue(text, self.read())
        return parse_lines(text, self.fmt)

    def check_common(self, r, sni, vhost, version, resumed):
        self.assertEqual(r["client"], "127.0.0.1")
        self.assertGreater(r["client_port"], 0)
        self.assertEqual(r["sni"], sni)
        self.assertEqual(r["vhost"], vhost)
        self.assertEqual(r["tls_version"], version)
        self.assertTrue(r["cipher"], r)
        self.assertEqual(r["alpn"], "")
        self.assertEqual(r["resumed"], resumed)
        self.assertIsNotNone(r["handshake_ms"])
        self.assertGreaterEqual(r["handshake_ms"], 0)
        self.assertGreaterEqual(r["duration_ms"], r["handshake_ms"])
        self.assertGreater(r["bytes_in"], 100)
        self.assertGreater(r["bytes_out"], 100)
        self.assertEqual(r["close"], "done")

    def test_full_and_session_id(self):
        sess = os.path.join(self.tmp.name, f"sid-{self.fmt}.pem")
        before = len(self.read())
        first = s_client(self.server.port, "-tls1_2", "-no_ticket", "-sess_out", sess)
        self.assertEqual(resumed_line(first), "no")
        again = s_client(self.server.port, "-tls1_2", "-no_ticket", "-sess_in", sess)
        self.assertEqual(resumed_line(again), "session-id")
        full, resumed = self.lines_after(before, 2)
        self.check_common(full, "localhost", "default", "TLSv1.2", "no")
        self.check_common(resumed, "localhost", "default", "TLSv1.2", "session-id")
        self.assertLess(resumed["bytes_out"], full["bytes_out"])  # no certificate sent

    def test_ticket_and_stateful_ticket(self):
        ctx = client_context(ssl.TLSVersion.TLSv1_3)
        for name, vhost, kind in (("localhost", "default", "ticket"), ("stateful.test", "stateful.test", "stateful-ticket")):
            before = len(self.read())
            _, session, reused = https_get(self.server.port, ctx, server_hostname=name)
            self.assertFalse(reused)
            body, _, reused = https_get(self.server.port, ctx, session=session, server_hostname=name)
            self.assertTrue(reused, body)
            full, resumed = self.lines_after(before, 2)
            self.check_common(full, name, vhost, "TLSv1.3", "no")
            self.check_common(resumed, name, vhost, "TLSv1.3", kind)

    def test_failed_handshake_and_client_reset(self):
        before = len(self.read())
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=5) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")  # plain HTTP on the TLS port
            try:
                s.recv(100)
            except OSError:
                pass
        (r,) = self.lines_after(before, 1)
        self.assertEqual(r["close"], "handshake failed")
        self.assertIsNone(r["handshake_ms"])
        self.assertEqual(r["resumed"], "")
        self.assertEqual(r["tls_version"], "")
        self.assertGreater(r["bytes_in"], 0)

    def test_no_secret_in_the_line(self):
        before = len(self.read())
        out = s_client(self.server.port, "-tls1_2", "-no_ticket")
        m = re.search(r"Session-ID: ([0-9A-F]+)", out)
        master = re.search(r"Master-Key: ([0-9A-F]+)", out)
        (r,) = self.lines_after(before, 1)
        text = json.dumps(r).upper()
        if m:
            self.assertNotIn(m.group(1), text)
        if master:
            self.assertNotIn(master.group(1), text)


class AccessLogText(AccessLogFormats, unittest.TestCase):
    fmt = "text"


class AccessLogJson(AccessLogFormats, unittest.TestCase):
    fmt = "json"

    def test_log_lines_parse(self):
        # The process log (stderr) in json: every line one object with time, level, msg.
        out = self.server.output()
        lines = [l for l in out.splitlines() if l.strip()]
        self.assertTrue(lines)
        for line in lines:
            obj = json.loads(line)
            self.assertRegex(obj["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
            self.assertIn(obj["level"], ("debug", "info", "warn", "error"))
            self.assertIsInstance(obj["msg"], str)
        self.assertTrue(any(json.loads(l)["msg"].startswith("serving TLS on") for l in lines))


def done(path):
    with open(path) as f:
        return f.read().count('close="done"')


class Reopen(unittest.TestCase):
    def test_sigusr1_reopens_the_file(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "access.log")
            with Server(args=["--access-log", path], workers=1) as server:
                self.assertIn("HTTP/1.1 200 OK", s_client(server.port, "-tls1_3"))
                # (The harness's probe of the port is a line too: close="empty".)
                self.assertTrue(wait_for(lambda: os.path.exists(path) and done(path) == 1))
                os.rename(path, path + ".1")
                server.proc.send_signal(signal.SIGUSR1)
                self.assertTrue(wait_for(lambda: "reopened" in server.output()), server.output())
                self.assertTrue(os.path.exists(path))
                self.assertIn("HTTP/1.1 200 OK", s_client(server.port, "-tls1_3"))
                self.assertTrue(wait_for(lambda: done(path) == 1), server.output())
                self.assertEqual(done(path + ".1"), 1)  # the old file got nothing more
                # The file's directory gone: the old file stays in use, an error says why.
                os.rename(path, path + ".2")
                os.rename(d, d + "-moved")
                try:
                    server.proc.send_signal(signal.SIGUSR1)
                    self.assertTrue(wait_for(lambda: "cannot reopen access log" in server.output()), server.output())
                    self.assertIn("HTTP/1.1 200 OK", s_client(server.port, "-tls1_3"))
                    moved = os.path.join(d + "-moved", "access.log.2")
                    self.assertTrue(wait_for(lambda: done(moved) == 2), server.output())
                    self.assertTrue(server.alive())
                finally:
                    os.rename(d + "-moved", d)

    def test_stderr_and_bad_path(self):
        with Server(args=["--access-log", "stderr"], workers=1) as server:
            self.assertIn("HTTP/1.1 200 OK", s_client(server.port, "-tls1_3"))
            self.assertTrue(wait_for(lambda: re.search(r"resumed=no .* close=\"done\"", server.output())),
                            server.output())
        from harness import run_bin
        p = run_bin("serve", "--check-config", "--access-log", "/nonexistent-dir/access.log")
        self.assertEqual(p.returncode, 2)
        self.assertIn("access_log: cannot open /nonexistent-dir/access.log", p.stderr)


if __name__ == "__main__":
    unittest.main()
