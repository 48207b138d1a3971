"""`--backend HOST:PORT`: bytes are spliced to a real TCP backend and back, large bodies
arrive intact, the client's half-close reaches the backend, and a backend that is down
or resets is a clean close for that client only, never a hang or a dead server."""
import hashlib
import os
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest

from harness import (Server, client_context, free_port, metric_sum, read_to_eof, s_client, tls_connect, wait_for,
                     wait_port)


def curl(port, path, out_file=None, timeout=30):
    cmd = ["curl", "-sS", "-k", "--max-time", str(timeout - 5), "--resolve", f"localhost:{port}:127.0.0.1",
           "-w", "%{http_code}"]
    if out_file:
        cmd += ["-o", out_file]
    cmd.append(f"https://localhost:{port}{path}")
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


class ThreadServer:
    """A tiny TCP backend on 127.0.0.1: `handler(conn)` runs in a thread per connection."""

    def __init__(self, handler, port=0):
        self.handler = handler
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self.errors = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.accepted += 1
            conn.settimeout(10)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        try:
            self.handler(conn)
        except Exception as e:  # recorded, asserted on by the tests that care
            self.errors.append(repr(e))
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def close(self):
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()


def tls_read_until_eof(s, timeout=5.0):
    """Reads until EOF (close_notify or TCP EOF) or a reset; fails the caller on a hang."""
    s.settimeout(timeout)
    data = b""
    while True:
        try:
            chunk = s.recv(65536)
        except (ConnectionResetError, ssl.SSLEOFError, ssl.SSLZeroReturnError):
            return data
        except ssl.SSLError as e:
            if "UNEXPECTED_EOF" in str(e) or "EOF" in str(e):
                return data
            raise
        if not chunk:
            return data
        data += chunk


class HttpServerBackend(unittest.TestCase):
    """Through a real backend: `python3 -m http.server`."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.TemporaryDirectory(prefix="tlsresume-www-")
        with open(os.path.join(cls.dir.name, "hello.txt"), "w") as f:
            f.write("hello from the backend\n")
        cls.big = os.urandom(5 * 1024 * 1024)
        with open(os.path.join(cls.dir.name, "big.bin"), "wb") as f:
            f.write(cls.big)
        cls.backend_port = free_port()
        cls.backend = subprocess.Popen([sys.executable, "-m", "http.server", str(cls.backend_port), "--bind", "127.0.0.1"],
                                       cwd=cls.dir.name, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not wait_port(cls.backend_port):
            cls.backend.kill()
            raise RuntimeError("http.server did not start")
        cls.server = Server(args=["--backend", f"127.0.0.1:{cls.backend_port}"])
        cls.server.start()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.backend.terminate()
        try:
            cls.backend.wait(timeout=5)
        except subprocess.TimeoutExpired:
            cls.backend.kill()
            cls.backend.wait()
        cls.dir.cleanup()

    def test_small_file(self):
        p = curl(self.server.port, "/hello.txt")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, "hello from the backend\n200")

    def test_a_request_whose_lines_end_in_a_lone_lf_reaches_the_backend(self):
        # The proxy passes the request's bytes through as they are; the backend answers.
        with tls_connect(self.server.port) as s:
            s.settimeout(10)
            s.sendall(b"GET /hello.txt HTTP/1.0\nHost: localhost\n\n")
            data = read_to_eof(s)
        self.assertTrue(data.startswith(b"HTTP/1.0 200"), data[:80])
        self.assertTrue(data.endswith(b"\r\n\r\nhello from the backend\n"), data[-80:])

    def test_missing_file_is_the_backends_404(self):
        p = curl(self.server.port, "/nope.txt")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(p.stdout.endswith("404"), p.stdout)

    def test_large_file_arrives_intact(self):
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "big.out")
            p = curl(self.server.port, "/big.bin", out_file=out)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(p.stdout, "200")
            with open(out, "rb") as f:
                got = f.read()
        self.assertEqual(len(got), len(self.big))
        self.assertEqual(hashlib.sha256(got).hexdigest(), hashlib.sha256(self.big).hexdigest())

    def test_large_file_with_tls12_and_s_client(self):
        req = b"GET /big.bin HTTP/1.0\r\nHost: localhost\r\n\r\n"
        cmd = ["openssl", "s_client", "-quiet", "-tls1_2", "-connect", f"127.0.0.1:{self.server.port}",
               "-servername", "localhost", "-ign_eof"]
        p = subprocess.run(cmd, input=req, capture_output=True, timeout=30)
        head, _, body = p.stdout.partition(b"\r\n\r\n")
        self.assertIn(b" 200 ", head.split(b"\r\n")[0])
        self.assertEqual(hashlib.sha256(body).hexdigest(), hashlib.sha256(self.big).hexdigest())

    def test_parallel_clients(self):
        results = []

        def one():
            results.append(curl(self.server.port, "/hello.txt"))

        threads = [threading.Thread(target=one) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        self.assertEqual(len(results), 8)
        for p in results:
            self.assertEqual(p.stdout, "hello from the backend\n200", p.stderr)


class RawBackends(unittest.TestCase):
    def test_client_half_close_reaches_backend(self):
        # The backend answers only once it has seen EOF: so the answer arriving proves the
        # client's half-close was forwarded and the other direction stayed open.
        def handler(conn):
            data = read_to_eof(conn)
            conn.sendall(b"got %d bytes sha256=%s\n" % (len(data), hashlib.sha256(data).hexdigest().encode()))

        backend = ThreadServer(handler)
        try:
            with Server(args=["--backend", f"127.0.0.1:{backend.port}"]) as srv:
                payload = os.urandom(200_000)
                for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
                    with self.subTest(version=version.name):
                        s = tls_connect(srv.port, client_context(version))
                        try:
                            s.sendall(payload)
                            # TCP half-close under the TLS layer (SSLSocket.shutdown would
                            # drop the TLS object): the server reads EOF from the client.
                            socket.socket.shutdown(s, socket.SHUT_WR)
                            answer = tls_read_until_eof(s, timeout=10)
                        finally:
                            s.close()
                        expected = b"got %d bytes sha256=%s\n" % (len(payload),
                                                                  hashlib.sha256(payload).hexdigest().encode())
                        self.assertEqual(answer, expected)
                self.assertEqual(backend.errors, [])
        finally:
            backend.close()

    def test_backend_eof_after_response_closes_client(self):
        def handler(conn):
            conn.recv(65536)
            conn.sendall(b"response-then-eof\n")
            # close right away: EOF toward the proxy

        backend = ThreadServer(handler)
        try:
            with Server(args=["--backend", f"127.0.0.1:{backend.port}"]) as srv:
                s = tls_connect(srv.port)
                try:
                    s.sendall(b"hello\n")
                    start = time.monotonic()
                    data = tls_read_until_eof(s, timeout=5)
                    self.assertLess(time.monotonic() - start, 5)
                finally:
                    s.close()
                self.assertEqual(data, b"response-then-eof\n")
                wait_for(lambda: metric_sum(srv, "tlsresume_connections_open") == 0, timeout=5)
                self.assertEqual(metric_sum(srv, "tlsresume_connections_open"), 0)
        finally:
            backend.close()

    def test_backend_speaks_first(self):
        def handler(conn):
            conn.sendall(b"220 banner\n")
            line = conn.recv(100)
            conn.sendall(b"echo " + line)

        backend = ThreadServer(handler)
        try:
            with Server(args=["--backend", f"127.0.0.1:{backend.port}"]) as srv:
                s = tls_connect(srv.port)
                try:
                    s.settimeout(5)
                    self.assertEqual(s.recv(100), b"220 banner\n")
                    s.sendall(b"ping\n")
                    self.assertEqual(tls_read_until_eof(s), b"echo ping\n")
                finally:
                    s.close()
        finally:
            backend.close()

    def test_backend_refused_then_back(self):
        backend_port = free_port()  # nothing listens there
        with Server(args=["--backend", f"127.0.0.1:{backend_port}"]) as srv:
            failures = metric_sum(srv, "tlsresume_backend_failures_total")
            for _ in range(2):
                s = tls_connect(srv.port)
                try:
                    s.sendall(b"GET / HTTP/1.0\r\n\r\n")
                    start = time.monotonic()
                    data = tls_read_until_eof(s, timeout=5)
                    self.assertLess(time.monotonic() - start, 5)
                except (BrokenPipeError, ConnectionResetError):
                    data = b""
                finally:
                    s.close()
                self.assertEqual(data, b"")
            self.assertTrue(wait_for(lambda: metric_sum(srv, "tlsresume_backend_failures_total") >= failures + 2),
                            "backend failures were not counted")
            # s_client sees a clean close too, not a hang.
            out = s_client(srv.port, "-tls1_3", timeout=10)
            self.assertIn("CONNECTED", out)
            self.assertTrue(srv.alive(), srv.output())

            # The backend comes back on the same port: the next client is served.
            backend = ThreadServer(lambda conn: (conn.recv(65536), conn.sendall(b"back again\n")), port=backend_port)
            try:
                s = tls_connect(srv.port)
                try:
                    s.sendall(b"hi\n")
                    self.assertEqual(tls_read_until_eof(s), b"back again\n")
                finally:
                    s.close()
            finally:
                backend.close()

    def test_backend_reset_mid_stream(self):
        def handler(conn):
            conn.recv(65536)
            conn.sendall(b"partial answer")
            time.sleep(0.3)  # let the proxy read and forward it before the reset
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            # conn.close() in ThreadServer._serve sends an RST

        backend = ThreadServer(handler)
        try:
            with Server(args=["--backend", f"127.0.0.1:{backend.port}"]) as srv:
                failures = metric_sum(srv, "tlsresume_backend_failures_total")
                s = tls_connect(srv.port)
                try:
                    s.sendall(b"request\n")
                    start = time.monotonic()
                    data = tls_read_until_eof(s, timeout=5)
                    self.assertLess(time.monotonic() - start, 5)
                finally:
                    s.close()
                # What arrived before the reset is delivered, then the connection closes.
                self.assertEqual(data, b"partial answer")
                self.assertTrue(wait_for(lambda: metric_sum(srv, "tlsresume_backend_failures_total") >= failures + 1),
                                "the reset was not counted as a backend failure")
                self.assertTrue(srv.alive(), srv.output())
                # The server still serves the next client (same misbehaving backend: it gets
                # the partial answer, which proves a full round trip).
                s = tls_connect(srv.port)
                try:
                    s.sendall(b"again\n")
                    self.assertEqual(tls_read_until_eof(s), b"partial answer")
                finally:
                    s.close()
        finally:
            backend.close()

    def test_client_gone_while_backend_streams(self):
        # The backend streams a lot; the client reads a little and disappears. The server
        # must drop the connection (no leak of the open-connection gauge) and keep serving.
        def handler(conn):
            conn.recv(65536)
            chunk = b"x" * 65536
            try:
                for _ in range(400):  # 25 MiB
                    conn.sendall(chunk)
            except OSError:
                pass

        backend = ThreadServer(handler)
        try:
            with Server(args=["--backend", f"127.0.0.1:{backend.port}"]) as srv:
                s = tls_connect(srv.port)
                s.sendall(b"go\n")
                s.settimeout(5)
                self.assertTrue(s.recv(1000))
                s.close()
                self.assertTrue(wait_for(lambda: metric_sum(srv, "tlsresume_connections_open") == 0, timeout=10),
                                "connection stayed open after the client left")
                out = s_client(srv.port, "-tls1_3", timeout=10)
                self.assertIn("CONNECTED", out)
                self.assertTrue(srv.alive(), srv.output())
        finally:
            backend.close()

    def test_slow_reader_gets_every_byte_and_close_notify_after_backend_eof(self):
        # Once the backend has finished, the last records and our close_notify are batched
        # into one write; with a client that reads slowly the socket is often full when
        # that batch goes out, and the server must wait for room instead of dropping it.
        payload = os.urandom(1_500_000)

        def handler(conn):
            conn.recv(65536)
            conn.sendall(payload)  # then EOF toward the proxy

        backend = ThreadServer(handler)
        try:
            with Server(args=["--backend", f"127.0.0.1:{backend.port}"]) as srv:
                for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
                    with self.subTest(version=version.name):
                        raw = socket.socket()
                        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                        raw.connect(("127.0.0.1", srv.port))
                        # Without ragged EOFs allowed, only a close_notify ends the read loop.
                        s = client_context(version).wrap_socket(raw, server_hostname="localhost",
                                                                suppress_ragged_eofs=False)
                        try:
                            s.sendall(b"go\n")
                            time.sleep(1.0)  # the server fills the socket and waits
                            got = bytearray()
                            s.settimeout(10)
                            while True:
                                chunk = s.recv(16384)  # b"" only after close_notify
                                if not chunk:
                                    break
                                got += chunk
                                time.sleep(0.002)  # slower than the server: its socket stays full
                        finally:
                            s.close()
                        self.assertEqual(hashlib.sha256(got).hexdigest(), hashlib.sha256(payload).hexdigest())
                self.assertTrue(wait_for(lambda: metric_sum(srv, "tlsresume_connections_open") == 0, timeout=10))
                self.assertEqual(backend.errors, [])
        finally:
            backend.close()


if __name__ == "__main__":
    unittest.main()
