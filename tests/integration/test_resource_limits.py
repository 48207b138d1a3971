"""The server under pressure that is not load: a peer that resets while we hold it back,
running out of file descriptors, a drain with idle keep-alive clients, a trickling admin
client, a backend that answers early and stops reading. Each must end in bounded time
and bounded CPU, and lose no answer it could deliver.

CPU is judged only to tell "idle" from "spinning a core" (a spin burns ~100% of the
measured interval; the bound is 25%), never as a performance figure."""
import os
import resource
import signal
import socket
import ssl
import struct
import subprocess
import threading
import time
import unittest

from harness import (BIN, Server, client_context, free_port, https_get, read_http_head, read_to_eof, tls_connect,
                     wait_for, wait_port)

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def cpu_share_over(pid, seconds):
    before = cpu_seconds(pid)
    time.sleep(seconds)
    return (cpu_seconds(pid) - before) / seconds


class StalledBackend:
    """Accepts and holds connections without reading a byte."""

    def __init__(self):
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.held = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        try:
            while True:
                conn, _ = self.listener.accept()
                self.held.append(conn)
        except OSError:
            pass

    @property
    def address(self):
        return f"127.0.0.1:{self.listener.getsockname()[1]}"

    def close(self):
        self.listener.close()
        for c in self.held:
            c.close()


class ResetWhileHeldBack(unittest.TestCase):
    def test_a_client_that_resets_while_its_upload_is_held_back_costs_no_cpu(self):
        # The backend reads nothing, so the upload fills every buffer on the way and the
        # server stops reading the client; the client then resets. epoll reports
        # EPOLLERR|EPOLLHUP whatever the interest mask: a level-triggered mask nobody acts
        # on woke the loop on every wait (a core at 99%).
        backend = StalledBackend()
        try:
            with Server(config='idle_timeout = "30s"\n', args=["--backend", backend.address], workers=1) as server:
                tls = tls_connect(server.port)
                tls.setblocking(False)
                chunk = b"x" * 65536
                sent, stalled_since = 0, None
                deadline = time.monotonic() + 20
                while time.monotonic() < deadline:
                    try:
                        sent += tls.send(chunk)
                        stalled_since = None
                    except (ssl.SSLWantWriteError, BlockingIOError):
                        stalled_since = stalled_since or time.monotonic()
                        if time.monotonic() - stalled_since > 1.0:
                            break
                        time.sleep(0.01)
                self.assertIsNotNone(stalled_since, f"the upload never stalled after {sent} bytes")
                tls.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                tls.close()  # a reset, not a FIN (and no close_notify)
                time.sleep(0.3)
                share = cpu_share_over(server.proc.pid, 2.0)
                self.assertLess(share, 0.25, f"server used {share:.0%} of a core with one reset, held-back client")
                # ... and the reset client is let go at once, not at the 30 s idle timeout.
                self.assertTrue(wait_for(lambda: server.metrics().get("tlsresume_connections_open") == 0, timeout=3),
                                "a client that reset while held back is still held")
                self.assertTrue(server.alive(), server.output())
        finally:
            backend.close()


class OutOfDescriptors(unittest.TestCase):
    def test_running_out_of_descriptors_pauses_accepting_instead_of_spinning(self):
        if "undefined" in os.environ.get("TLSRESUME_SANITIZE", ""):
            # UBSan checks a vptr it has not cached by probing the vtable's memory through a
            # pipe() (sanitizer_common's IsAccessibleMemoryRange): with every descriptor taken
            # the probe fails and UBSan reports a live object as "invalid vptr" and halts.
            # The plain build (make test) runs this test.
            self.skipTest("UBSan's vptr check probes memory with pipe(), which fails while every descriptor is taken")
        port = free_port()
        log = open(os.devnull, "w")
        out_path = f"/tmp/tlsresume-emfile-{os.getpid()}.log"
        limit = 64

        def low_limit():
            resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))

        with open(out_path, "w+") as out:
            proc = subprocess.Popen([BIN, "serve", "--listen", f"127.0.0.1:{port}", "--admin", "off", "--workers", "1",
                                     "--log-level", "warn"], stdout=out, stderr=subprocess.STDOUT,
                                    preexec_fn=low_limit)
            held = []
            try:
                self.assertTrue(wait_port(port), "server did not start")
                # Silent clients sit in the handshake (10 s timeout) holding a descriptor each.
                for _ in range(limit + 16):
                    held.append(socket.create_connection(("127.0.0.1", port), timeout=5))
                    held[-1].send(b"\x16")  # past TCP_DEFER_ACCEPT: the server accepts it
                time.sleep(0.5)
                share = cpu_share_over(proc.pid, 2.0)
                self.assertLess(share, 0.25, f"server used {share:.0%} of a core while out of descriptors")
                for s in held:
                    s.close()
                held.clear()
                # Descriptors are back: accepting resumes by itself.
                def serves():
                    try:
                        return "200 OK" in https_get(port, client_context())[0]
                    except OSError:
                        return False
                if not wait_for(serves, timeout=15):
                    out.flush()
                    out.seek(0)
                    self.fail("accepting did not resume; the server said: " + out.read()[-3000:]
                              + f"; open descriptors: {len(os.listdir(f'/proc/{proc.pid}/fd'))} of {limit}")
                self.assertIsNone(proc.poll())
                out.flush()
                out.seek(0)
                text = out.read()
                self.assertIn("out of file descriptors", text)
                self.assertLess(text.count("accepting paused"), 3, "the warning is not rate-limited")
            finally:
                for s in held:
                    s.close()
                proc.terminate()
                proc.wait(timeout=15)
                log.close()
                os.unlink(out_path)


class Drain(unittest.TestCase):
    def test_sigterm_closes_idle_keep_alive_connections_at_once(self):
        server = Server(workers=1)
        server.start()
        try:
            tls = tls_connect(server.port)
            tls.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")  # keep-alive
            first = tls.recv(65536)
            self.assertIn(b"Connection: keep-alive", first)
            start = time.monotonic()
            server.proc.send_signal(signal.SIGTERM)
            # The idle connection is closed cleanly (close_notify: recv returns b"", no
            # error), long before the 10 s grace.
            tls.settimeout(8)
            self.assertEqual(tls.recv(65536), b"")
            self.assertEqual(server.proc.wait(timeout=8), 0)
            self.assertLess(time.monotonic() - start, 3.0, "the drain waited for an idle keep-alive client")
            tls.close()
        finally:
            server.stop()

    def test_a_request_under_way_when_draining_is_answered_with_connection_close(self):
        server = Server(workers=1)
        server.start()
        try:
            tls = tls_connect(server.port)
            tls.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n")  # half a request head
            server.proc.send_signal(signal.SIGTERM)
            time.sleep(0.6)  # the drain has begun (the sweep runs every 250 ms)
            tls.sendall(b"\r\n")
            tls.settimeout(8)
            data = read_to_eof(tls)
            self.assertIn(b"200 OK", data)
            self.assertIn(b"Connection: close", data)
            self.assertEqual(server.proc.wait(timeout=8), 0)
            tls.close()
        finally:
            server.stop()


class TricklingAdminClient(unittest.TestCase):
    def test_an_admin_request_gets_five_seconds_in_all(self):
        with Server(workers=1) as server:
            s = socket.create_connection(("127.0.0.1", server.admin_port), timeout=10)
            s.settimeout(None)  # blocking: recv(MSG_DONTWAIT) below only peeks, never waits
            start = time.monotonic()
            closed = False
            request = b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"X: " + b"y" * 200
            for byte in request:
                try:
                    s.send(bytes([byte]))
                    if s.recv(1, socket.MSG_DONTWAIT) == b"":
                        closed = True
                        break
                except BlockingIOError:
                    pass
                except OSError:
                    closed = True
                    break
                if time.monotonic() - start > 12:
                    break
                time.sleep(0.1)
            elapsed = time.monotonic() - start
            s.close()
            self.assertTrue(closed, "the admin endpoint kept a trickling client for 12 s")
            self.assertLess(elapsed, 8.0)
            self.assertEqual(server.admin("GET", "/healthz")[0], 200)


class BackendThatAnswersEarly(unittest.TestCase):
    def test_an_early_answer_reaches_a_client_still_uploading(self):
        # The backend reads the head, answers 413 and closes without reading the body (as
        # servers do with uploads they refuse). Sending the rest fails; the answer must
        # still reach the client, and the client's unread bytes must not turn our close
        # into a reset that destroys it. (Whether our failing send comes before or after we
        # read the answer is up to the scheduler; the server handles both orders, this test
        # cannot force the first one.)
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        answer = b"HTTP/1.1 413 Payload Too Large\r\nContent-Length: 9\r\nConnection: close\r\n\r\ntoo large"

        def backend():
            conn, _ = listener.accept()
            read_http_head(conn)
            time.sleep(1.0)  # meanwhile the upload fills our receive buffer: the server waits to send
            conn.sendall(answer)
            # Unread body: the kernel resets (at once here, as a crashing backend's would),
            # and our sends fail while the answer still waits in our receive buffer.
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.close()

        t = threading.Thread(target=backend, daemon=True)
        t.start()
        try:
            with Server(args=["--backend", f"127.0.0.1:{listener.getsockname()[1]}"], workers=1) as server:
                tls = tls_connect(server.port)
                tls.sendall(b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 8000000\r\n\r\n")
                received = b""
                tls.setblocking(False)
                body = b"z" * 16384
                deadline = time.monotonic() + 15
                done = False
                while time.monotonic() < deadline and not done:
                    try:
                        tls.send(body)
                    except (ssl.SSLWantWriteError, ssl.SSLWantReadError, BlockingIOError):
                        pass
                    except (ssl.SSLError, OSError):
                        pass
                    try:
                        while True:
                            chunk = tls.recv(65536)
                            if not chunk:
                                done = True
                                break
                            received += chunk
                    except (ssl.SSLWantReadError, BlockingIOError):
                        time.sleep(0.005)
                    except (ssl.SSLError, OSError) as e:
                        self.fail(f"connection failed after {received!r}: {e}")
                tls.close()
                self.assertTrue(received.startswith(b"HTTP/1.1 413"), received[:200])
                self.assertTrue(server.alive(), server.output())
        finally:
            listener.close()


if __name__ == "__main__":
    unittest.main()
