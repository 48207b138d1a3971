"""Fault injection against the real binary: hostile or broken clients cost one counted
failure each and nothing else; the server keeps serving. Loopback only, bounded waits."""
import os
import resource
import socket
import ssl
import struct
import time
import unittest

from harness import Server, body_field, client_context, https_get, resumed_line, s_client, wait_for

CONFIG = """
handshake_timeout = "2s"
idle_timeout = "5s"
"""


def client_hello_bytes(version=None, server_name="localhost"):
    """A real ClientHello from Python's ssl, made without a socket (memory BIOs)."""
    ctx = client_context(version)
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing, server_hostname=server_name)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outgoing.read()


def ext(kind, body):
    return struct.pack("!HH", kind, len(body)) + body


def raw_client_hello(session_id=b"", extensions=b"", sid_len=None, ext_len=None):
    """A hand-built TLS 1.2/1.3 ClientHello whose length fields can lie."""
    ciphers = struct.pack("!HHHH", 6, 0x1301, 0xC02B, 0xC02F)
    body = b"\x03\x03" + os.urandom(32)
    body += bytes([len(session_id) if sid_len is None else sid_len]) + session_id
    body += ciphers + b"\x01\x00"
    body += struct.pack("!H", len(extensions) if ext_len is None else ext_len) + extensions
    hs = b"\x01" + struct.pack("!I", len(body))[1:] + body
    return b"\x16\x03\x01" + struct.pack("!H", len(hs)) + hs


def base_extensions(tls13=True):
    # x25519 for the key share, P-256 for the certificate's curve (which TLS 1.2 checks
    # against this list: without it a TLS 1.2 hello shares no cipher with the server).
    groups = ext(10, struct.pack("!HHH", 4, 0x001D, 0x0017))
    sigalgs = ext(13, struct.pack("!HHH", 4, 0x0403, 0x0804))
    sni = ext(0, struct.pack("!HBH", 12, 0, 9) + b"localhost")
    out = sni + groups + sigalgs
    if tls13:
        out += ext(43, b"\x02\x03\x04")  # supported_versions: TLS 1.3
        out += ext(51, struct.pack("!HHH", 36, 0x001D, 32) + os.urandom(32))  # key_share x25519
    return out


def exchange(port, data, wait=3.0):
    """Sends bytes, returns what the server answered before closing (bounded)."""
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as s:
        s.sendall(data)
        got = b""
        deadline = time.time() + wait
        try:
            while time.time() < deadline:
                chunk = s.recv(65536)
                if not chunk:
                    break
                got += chunk
        except (socket.timeout, ConnectionResetError):
            pass
        return got


class FaultTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server(config=CONFIG)
        cls.server.start()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def assertStillServes(self):
        self.assertTrue(self.server.alive(), self.server.output())
        body, _, _ = https_get(self.server.port, client_context())
        self.assertIn("200 OK", body)

    def failed(self):
        return sum(v for k, v in self.server.metrics().items()
                   if k.startswith("tlsresume_handshakes_total{") and 'kind="failed"' in k)

    def test_garbage_instead_of_a_client_hello_is_one_counted_failure(self):
        before = self.failed()
        # Each is refused at its first record header, at once: plain HTTP, bytes that are no
        # TLS record (fixed, not random: random bytes can begin a plausible record header
        # and wait for the rest), and a handshake record longer than TLS allows.
        for junk in (b"GET / HTTP/1.1\r\n\r\n", b"\x01\x02junk" + bytes(range(256)),
                     b"\x16\x03\x01\xff\xff" + b"\x00" * 64):
            exchange(self.server.port, junk, wait=1.0)
        wait_for(lambda: self.failed() - before >= 3)
        self.assertEqual(self.failed() - before, 3)
        self.assertStillServes()

    def test_a_failure_before_the_version_is_chosen_is_not_labelled_with_one(self):
        versions = ("TLSv1.2", "TLSv1.3", "unknown")
        before = {v: self.server.handshakes("failed", v) for v in versions}
        exchange(self.server.port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", wait=1.0)  # plain HTTP to the TLS port
        after = {v: self.server.handshakes("failed", v) for v in versions}
        self.assertEqual({v: after[v] - before[v] for v in versions}, {"TLSv1.2": 0, "TLSv1.3": 0, "unknown": 1})
        # After the version was chosen, a failure keeps it: no TLS 1.3 suite in common.
        s_client(self.server.port, "-tls1_3", "-ciphersuites", "TLS_AES_128_CCM_8_SHA256")
        self.assertTrue(wait_for(lambda: self.server.handshakes("failed", "TLSv1.3") == after["TLSv1.3"] + 1))
        self.assertEqual(self.server.handshakes("failed", "unknown"), after["unknown"])

    def test_a_connection_that_sends_nothing_is_a_probe_not_a_failed_handshake(self):
        failed = self.failed()
        probes = self.server.metrics().get("tlsresume_connections_without_hello_total", 0)
        for _ in range(3):
            socket.create_connection(("127.0.0.1", self.server.port), timeout=3).close()
        deadline = time.time() + 5
        while time.time() < deadline and self.server.metrics().get("tlsresume_connections_without_hello_total", 0) < probes + 3:
            time.sleep(0.05)
        self.assertEqual(self.server.metrics()["tlsresume_connections_without_hello_total"], probes + 3)
        self.assertEqual(self.failed(), failed)

    def test_clients_that_disconnect_at_every_stage_cost_nothing(self):
        for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
            hello = client_hello_bytes(version)
            for cut in (0, 5, len(hello) // 2, len(hello)):
                with socket.create_connection(("127.0.0.1", self.server.port), timeout=3) as s:
                    if cut:
                        s.sendall(hello[:cut])
                    if cut == len(hello):
                        s.recv(4096)  # read part of the server's flight, then vanish
        # a client that finishes the handshake and resets instead of closing
        raw = socket.create_connection(("127.0.0.1", self.server.port), timeout=3)
        tls = client_context().wrap_socket(raw, server_hostname="localhost")
        tls.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        tls.close()
        self.assertStillServes()

    def test_a_slowloris_client_is_cut_off_by_the_handshake_timeout(self):
        hello = client_hello_bytes()
        start = time.time()
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=10) as s:
            closed = False
            for b in hello[:40]:
                try:
                    s.sendall(bytes([b]))
                except (BrokenPipeError, ConnectionResetError):
                    closed = True
                    break
                s.settimeout(0.25)
                try:
                    if s.recv(1) == b"":
                        closed = True
                        break
                except socket.timeout:
                    pass
                except ConnectionResetError:
                    closed = True
                    break
        elapsed = time.time() - start
        self.assertTrue(closed, "the server never closed a client that trickles its ClientHello")
        self.assertLess(elapsed, 6.0)
        self.assertGreaterEqual(self.server.metrics().get("tlsresume_handshake_timeouts_total", 0), 1)
        self.assertStillServes()

    def test_malformed_session_id_psk_and_ticket_extensions_never_crash_or_hang(self):
        psk_modes = ext(45, b"\x01\x01")
        identity = os.urandom(100)
        good_psk_body = struct.pack("!H", 2 + len(identity) + 4) + struct.pack("!H", len(identity)) + identity + b"\x00\x00\x00\x00"
        good_psk_body += struct.pack("!H", 33) + b"\x20" + os.urandom(32)
        # Well-formed hellos whose ticket or PSK is garbage: a ticket and a PSK identity are
        # opaque to the parser, and a bad one means a full handshake, never an alert.
        well_formed = {
            "ticket extension with garbage": raw_client_hello(os.urandom(32), base_extensions(False) + ext(35, os.urandom(200))),
            "ticket extension shorter than name+iv+mac": raw_client_hello(os.urandom(32), base_extensions(False) + ext(35, os.urandom(20))),
            "psk with garbage identity": raw_client_hello(os.urandom(32), base_extensions() + psk_modes + ext(41, good_psk_body)),
        }
        # Hellos that break the encoding or RFC 8446's rules: refused with an alert or a
        # close; a ServerHello would be a parser accepting garbage.
        malformed = {
            "session id of 33 bytes": raw_client_hello(os.urandom(33), base_extensions()),
            "session id length beyond the message": raw_client_hello(os.urandom(8), base_extensions(), sid_len=200),
            "extensions length beyond the message": raw_client_hello(b"", base_extensions(), ext_len=4000),
            "extensions length short": raw_client_hello(b"", base_extensions(), ext_len=3),
            "ticket extension length lying": raw_client_hello(os.urandom(32), base_extensions(False) + struct.pack("!HH", 35, 5000) + os.urandom(10)),
            "psk identities length lying": raw_client_hello(os.urandom(32), base_extensions() + psk_modes + ext(41, b"\xff\xff" + good_psk_body[2:])),
            "psk binder length lying": raw_client_hello(os.urandom(32), base_extensions() + psk_modes + ext(41, good_psk_body[:-33] + b"\x00\xff\x20")),
            "psk not the last extension": raw_client_hello(os.urandom(32), base_extensions() + psk_modes + ext(41, good_psk_body) + ext(23, b"")),
            # RFC 8446 §4.2.9: servers MUST abort the handshake.
            "psk without psk_key_exchange_modes": raw_client_hello(os.urandom(32), base_extensions() + ext(41, good_psk_body)),
            "server_name length lying": raw_client_hello(b"", ext(0, struct.pack("!HBH", 200, 0, 9) + b"localhost") + base_extensions()),
        }
        for name, hello in well_formed.items():
            with self.subTest(name):
                answer = exchange(self.server.port, hello, wait=3.0)
                # A handshake record (0x16) that starts with a ServerHello (type 2).
                self.assertEqual(answer[:1] + answer[5:6], b"\x16\x02", f"{name}: no ServerHello: {answer[:8]!r}")
                self.assertTrue(self.server.alive(), self.server.output())
        for name, hello in malformed.items():
            with self.subTest(name):
                answer = exchange(self.server.port, hello, wait=3.0)
                if answer:
                    self.assertEqual(answer[0], 0x15, f"{name}: answered {answer[:8]!r}, not an alert")
                self.assertTrue(self.server.alive(), self.server.output())
        self.assertStillServes()


class PipeliningClientThatNeverReads(unittest.TestCase):
    def test_answers_are_bounded_by_back_pressure(self):
        # Tiny pipelined requests, answers never read: without back-pressure on the answers
        # the server would buffer them all (each answer is several times its request).
        request = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"
        with Server(workers=1) as server:
            def rss_kib():
                with open(f"/proc/{server.proc.pid}/status") as f:
                    return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))

            raw = socket.create_connection(("127.0.0.1", server.port), timeout=10)
            s = client_context().wrap_socket(raw, server_hostname="localhost")
            before = rss_kib()
            s.setblocking(False)
            sent = 0
            batch = request * 2000

            def send_for(seconds):
                nonlocal sent
                deadline = time.monotonic() + seconds
                while time.monotonic() < deadline and sent < 150_000_000:
                    try:
                        sent += s.send(batch)
                    except (ssl.SSLWantWriteError, BlockingIOError):
                        time.sleep(0.01)  # the server stopped reading: that is the point

            send_for(2.0)  # enough to fill the kernel's buffers on both sides
            plateau = sent
            send_for(1.0)
            grown = rss_kib() - before
            s.close()
            # Once the server stops reading, nothing more gets through: the amount sent
            # stops growing. (A server that answers everything it reads keeps reading.)
            self.assertLess(sent - plateau, 256 * 1024,
                            f"the server kept reading requests nobody reads answers to: {plateau} then {sent} bytes")
            if not os.environ.get("TLSRESUME_SANITIZE"):  # ASan's quarantine holds freed memory
                answers_if_unbounded = sent // len(request) * 200 // 1024  # KiB, at ~200 bytes an answer
                self.assertLess(grown, 32 * 1024, f"server RSS grew {grown} KiB after {sent} bytes of pipelined "
                                                  f"requests (unbounded answers would be ~{answers_if_unbounded} KiB)")
            self.assertTrue(server.alive(), server.output())


class IdleConnectionsTest(unittest.TestCase):
    """Many idle TLS connections: report memory per connection; everything still works."""
    COUNT = int(os.environ.get("TLSRESUME_IDLE_CONNECTIONS", "10000"))

    def test_ten_thousand_idle_tls_connections(self):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        need = self.COUNT + 512  # per process: the client and the server each hold COUNT sockets
        if hard < need and os.geteuid() == 0:
            # Root may raise its own hard limit (up to fs.nr_open): CI, which is root, does
            # not skip for a container's default.
            try:
                resource.setrlimit(resource.RLIMIT_NOFILE, (need, need))
                hard = need
            except (ValueError, OSError):
                pass
        if hard < need:
            self.skipTest(f"RLIMIT_NOFILE hard limit {hard} < {need}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))
        with Server(config='idle_timeout = "10m"\n', workers=2) as server:
            def rss_kib():
                with open(f"/proc/{server.proc.pid}/status") as f:
                    for line in f:
                        if line.startswith("VmRSS:"):
                            return int(line.split()[1])
            https_get(server.port, client_context())
            base = rss_kib()
            ctx = client_context()
            conns = []
            start = time.time()
            try:
                for i in range(self.COUNT):
                    raw = socket.create_connection(("127.0.0.1", server.port), timeout=10)
                    conns.append(ctx.wrap_socket(raw, server_hostname="localhost"))
                took = time.time() - start
                time.sleep(0.5)
                peak = rss_kib()
                open_metric = server.metrics().get("tlsresume_connections_open", 0)
                per_conn = (peak - base) * 1024 / self.COUNT
                print(f"\nidle connections: {self.COUNT} in {took:.1f}s; server RSS {base} KiB -> {peak} KiB; "
                      f"{per_conn:.0f} bytes per idle TLS connection")
                self.assertEqual(int(open_metric), self.COUNT)
                body, _, _ = https_get(server.port, client_context())
                self.assertIn("200 OK", body)
            finally:
                for c in conns:
                    c.close()



class StallingBackendTest(unittest.TestCase):
    """A backend that accepts and never answers: the idle timeout frees the client."""

    def test_a_stalled_backend_is_cut_off_by_the_idle_timeout(self):
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        held = []

        def accept_and_stall():
            listener.settimeout(15)
            try:
                while True:
                    conn, _ = listener.accept()
                    held.append(conn)  # read nothing, answer nothing
            except OSError:
                pass

        import threading
        t = threading.Thread(target=accept_and_stall, daemon=True)
        t.start()
        backend = f"127.0.0.1:{listener.getsockname()[1]}"
        try:
            with Server(config='idle_timeout = "2s"\n', args=["--backend", backend]) as server:
                start = time.time()
                raw = socket.create_connection(("127.0.0.1", server.port), timeout=10)
                tls = client_context().wrap_socket(raw, server_hostname="localhost")
                tls.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                try:
                    data = tls.recv(4096)
                except (ConnectionResetError, ssl.SSLError):
                    data = b""
                elapsed = time.time() - start
                tls.close()
                self.assertEqual(data, b"", "a stalled backend produced bytes?")
                self.assertGreater(elapsed, 1.5)
                self.assertLess(elapsed, 8.0, "the idle timeout did not free the client")
                self.assertTrue(server.alive())
        finally:
            listener.close()
            for c in held:
                c.close()


if __name__ == "__main__":
    unittest.main()
