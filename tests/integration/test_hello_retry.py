"""A HelloRetryRequest on a named virtual host: a resumption is counted once, and a second
ClientHello that names another server never moves the connection to another host. On
OpenSSL the second ClientHello is seen by our ClientHello callback too (OpenSSL asks the
host's context by then) and refused (RFC 8446 section 4.1.2, illegal_parameter); on
BoringSSL it reaches none of our hooks (BoringSSL negotiates on the first ClientHello and
checks only the second's PSK binder), so the first's host serves it."""
import os
import socket
import struct
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
from test_tickets import delta, full_handshake, resume, sessfile, ticket_results  # noqa: E402

CONFIG = """
[[hosts]]
name = "alpha"
server_names = ["a.test"]

[[hosts]]
name = "beta"
server_names = ["b.test"]
"""

X25519, P521 = 0x001D, 0x0019
VHOSTS = {"a.test": "alpha", "b.test": "beta", "localhost": "default"}  # server name -> metrics label


def ext(kind, body):
    return struct.pack("!HH", kind, len(body)) + body


def client_hello(server_name, key_share_group, random, session_id):
    """A TLS 1.3 ClientHello that supports P-521 and X25519 but may share a key for P-521
    only, which this server does not take: it then asks again for X25519."""
    name = server_name.encode()
    share_len = 133 if key_share_group == P521 else 32
    share = struct.pack("!HH", key_share_group, share_len) + os.urandom(share_len)
    extensions = (ext(0, struct.pack("!HBH", len(name) + 3, 0, len(name)) + name)
                  + ext(10, struct.pack("!HHH", 4, P521, X25519))
                  + ext(13, struct.pack("!HHH", 4, 0x0403, 0x0804))
                  + ext(43, b"\x02\x03\x04")
                  + ext(51, struct.pack("!H", len(share)) + share))
    body = (b"\x03\x03" + random + bytes([len(session_id)]) + session_id
            + struct.pack("!HH", 2, 0x1301) + b"\x01\x00"
            + struct.pack("!H", len(extensions)) + extensions)
    hs = b"\x01" + struct.pack("!I", len(body))[1:] + body
    return b"\x16\x03\x01" + struct.pack("!H", len(hs)) + hs


# ServerHello.random of a HelloRetryRequest (RFC 8446 section 4.1.3).
HRR_RANDOM = bytes.fromhex("CF21AD74E59A6111BE1D8C021E65B891C2A211167ABB8C5E079E09E2C8A8339C")


def read_record(sock):
    header = b""
    while len(header) < 5:
        chunk = sock.recv(5 - len(header))
        if not chunk:
            return None
        header += chunk
    length = struct.unpack("!H", header[3:5])[0]
    body = b""
    while len(body) < length:
        chunk = sock.recv(length - len(body))
        if not chunk:
            return None
        body += chunk
    return header[0], body


def second_hello_answer(port, first_name, second_name):
    """Sends a ClientHello that draws a HelloRetryRequest, then a second one naming
    `second_name`; returns the first record the server sends after it."""
    random, session_id = os.urandom(32), os.urandom(32)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(client_hello(first_name, P521, random, session_id))
        kind, body = read_record(s)
        assert kind == 22 and body[6:38] == HRR_RANDOM, "no HelloRetryRequest: the test proves nothing"
        s.sendall(client_hello(second_name, X25519, random, session_id))
        while True:
            record = read_record(s)
            if record is None or record[0] != 20:  # skip the compatibility ChangeCipherSpec
                return record


class HelloRetryOnANamedHost(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = h.Server(CONFIG)
        cls.srv.start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def test_a_resumption_after_a_hello_retry_request_is_counted_once(self):
        s = self.srv
        path = sessfile(s, "alpha-hrr.pem")
        full_handshake(self, s, path, "-tls1_3", servername="a.test")
        before = ticket_results(s)
        ages = h.metric_sum(s, "tlsresume_resumption_age_seconds_count")
        text = resume(s, path, "-tls1_3", "-groups", "P-521:X25519", "-msg", servername="a.test")
        self.assertEqual(text.count("ServerHello"), 2, "no HelloRetryRequest: the test proves nothing")
        self.assertEqual(h.resumed_line(text), "ticket", text[-2000:])
        self.assertEqual(delta(before, ticket_results(s)), {"ok": 1})
        self.assertEqual(h.metric_sum(s, "tlsresume_resumption_age_seconds_count"), ages + 1)

    def test_a_second_client_hello_with_the_same_name_goes_on(self):
        kind, body = second_hello_answer(self.srv.port, "a.test", "a.test")
        self.assertEqual(kind, 22, "expected a ServerHello")
        self.assertEqual(body[0], 2)

    def failed_by_vhost(self):
        return {vhost: h.metric_sum(self.srv, "tlsresume_handshakes_total", vhost=vhost, kind="failed")
                for vhost in VHOSTS.values()}

    def test_a_second_client_hello_that_names_another_server_is_refused(self):
        for first, second in (("a.test", "b.test"), ("a.test", "localhost"), ("b.test", "a.test")):
            with self.subTest(first=first, second=second):
                before = self.failed_by_vhost()
                kind, body = second_hello_answer(self.srv.port, first, second)
                if h.tls_library() == "openssl":
                    self.assertEqual((kind, body), (21, b"\x02\x2f"), "expected a fatal illegal_parameter alert")
                else:
                    # BoringSSL: a ServerHello, on the first ClientHello's host.
                    self.assertEqual((kind, body[0]), (22, 2), "expected a ServerHello")
                # Whichever the library, the connection (which the client leaves unfinished)
                # ends on the first ClientHello's host, never the second's.
                expected = dict(before)
                expected[VHOSTS[first]] += 1
                self.assertTrue(h.wait_for(lambda: self.failed_by_vhost() == expected, timeout=5),
                                (before, self.failed_by_vhost()))
        self.assertTrue(self.srv.alive())


if __name__ == "__main__":
    unittest.main()
