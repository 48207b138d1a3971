"""What an operator reads in the log: a failing backend is a warning (one line per 10 s,
with the count of the others), every revocation an audit line, and at debug level each
failed handshake with its peer and OpenSSL's reason. Secrets never appear (see
test_secrets.py)."""
import socket
import unittest

from harness import Server, client_context, free_port, https_get, wait_for


def garbage(port):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        try:
            s.recv(100)
        except OSError:
            pass


class Logging(unittest.TestCase):
    def test_a_dead_backend_is_one_warning_with_a_count(self):
        dead = free_port()  # nothing listens there
        with Server(args=("--backend", f"127.0.0.1:{dead}"), workers=1) as server:
            for _ in range(5):
                try:
                    https_get(server.port, client_context())
                except (OSError, ConnectionError):
                    pass  # the client's connection is closed: expected
            self.assertTrue(wait_for(lambda: "backend" in server.output()), server.output())
            lines = [l for l in server.output().splitlines() if f"backend 127.0.0.1:{dead}:" in l]
        self.assertEqual(len(lines), 1, lines)  # rate-limited: the other four are counted, later
        self.assertIn("warn", lines[0])
        self.assertIn("connect: Connection refused", lines[0])

    def test_every_revocation_is_logged(self):
        with Server(workers=1) as server:
            for query in ("id=00ff", "host=default", "before=now"):
                status, body = server.admin("POST", f"/revoke?{query}")
                self.assertEqual(status, 200, body)
            out = server.output()
        self.assertIn("revoked session or resumption id 00ff", out)
        self.assertIn("revoked every session and ticket of virtual host default", out)
        self.assertIn("revoked every session and ticket issued before", out)

    def test_failed_handshakes_are_logged_at_debug_level_only(self):
        with Server(args=("--log-level", "debug"), workers=1) as debug, Server(workers=1) as info:
            garbage(debug.port)
            garbage(info.port)
            self.assertTrue(wait_for(lambda: "handshake with 127.0.0.1:" in debug.output()), debug.output())
            self.assertIn("failed: ", debug.output())
            self.assertNotIn("handshake with", info.output())


if __name__ == "__main__":
    unittest.main()
