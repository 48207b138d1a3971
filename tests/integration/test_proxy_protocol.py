"""PROXY protocol v2 toward the backend (proxy_protocol = "v2") and ALPN per virtual host:
a test backend parses the header the way HAProxy's proxy-protocol.txt lays it out and checks
every address and TLV against what the client did; ALPN lists are the host's, in its order."""
import os
import socket
import ssl
import struct
import tempfile
import threading
import unittest

from harness import BIN, Server, client_context, free_port, make_cert, read_to_eof, run_bin

SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"


def parse_tlvs(data):
    out = {}
    while len(data) >= 3:
        t, n = data[0], struct.unpack(">H", data[1:3])[0]
        out[t] = data[3:3 + n]
        data = data[3 + n:]
    return out


class ProxyBackend:
    """Reads one PROXY v2 header per connection, keeps it parsed, answers one HTTP request."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.headers = []
        self.errors = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _read(self, conn, n):
        buf = b""
        while len(buf) < n:
            chunk = conn.recv(n - len(buf))
            if not chunk:
                raise EOFError(f"closed after {len(buf)} of {n} bytes")
            buf += chunk
        return buf

    def _serve(self, conn):
        with conn:
            try:
                first = conn.recv(16)
                if not first:
                    return  # the client left before sending a byte: nothing was forwarded
                head = first + self._read(conn, 16 - len(first))
                if head[:12] != SIGNATURE:
                    raise ValueError(f"no PROXY v2 signature: {head!r}")
                ver_cmd, fam, length = head[12], head[13], struct.unpack(">H", head[14:16])[0]
                body = self._read(conn, length)
                h = {"ver_cmd": ver_cmd, "family": fam}
                if fam == 0x11:
                    h["src"] = (socket.inet_ntoa(body[0:4]), struct.unpack(">H", body[8:10])[0])
                    h["dst"] = (socket.inet_ntoa(body[4:8]), struct.unpack(">H", body[10:12])[0])
                    rest = body[12:]
                else:
                    rest = body
                h["tlvs"] = parse_tlvs(rest)
                self.headers.append(h)
                request = b""
                while b"\r\n\r\n" not in request:
                    chunk = conn.recv(4096)
                    if not chunk:
                        return
                    request += chunk
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n")
            except Exception as e:  # noqa: BLE001 - recorded for the test to report
                self.errors.append(repr(e))

    def close(self):
        self.sock.close()


class ProxyProtocolV2(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="tlsresume-proxy-")
        cert, key = make_cert(cls.tmp.name, "shop", "shop.example")
        cls.backend = ProxyBackend()
        cls.server = Server(config=f'backend = "127.0.0.1:{cls.backend.port}"\nproxy_protocol = "v2"\n'
                                   f'[default_host]\nalpn = ["h2", "http/1.1"]\n'
                                   f'[[hosts]]\nname = "shop"\nserver_names = ["shop.example"]\n'
                                   f'cert = "{cert}"\nkey = "{key}"\nalpn = ["http/1.1"]\n')
        cls.server.start()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.backend.close()
        cls.tmp.cleanup()

    def request(self, ctx, server_hostname, session=None):
        raw = socket.create_connection(("127.0.0.1", self.server.port), timeout=10)
        local = raw.getsockname()
        with ctx.wrap_socket(raw, server_hostname=server_hostname, session=session) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            body = read_to_eof(s)
            facts = {"cipher": s.cipher()[0], "session": s.session, "reused": s.session_reused}
            return local, facts, body

    def last_header(self, count):
        for _ in range(100):
            if len(self.backend.headers) >= count:
                break
            threading.Event().wait(0.05)
        self.assertEqual(self.backend.errors, [])
        self.assertGreaterEqual(len(self.backend.headers), count)
        return self.backend.headers[count - 1]

    def test_every_address_and_tlv_is_what_the_client_did(self):
        ctx = client_context(ssl.TLSVersion.TLSv1_3)
        ctx.set_alpn_protocols(["http/1.1", "h2"])
        n = len(self.backend.headers)
        local, facts, body = self.request(ctx, "shop.example")
        self.assertIn(b"200 OK", body)
        h = self.last_header(n + 1)
        self.assertEqual(h["ver_cmd"], 0x21)
        self.assertEqual(h["family"], 0x11)
        self.assertEqual(h["src"], local)
        self.assertEqual(h["dst"], ("127.0.0.1", self.server.port))
        t = h["tlvs"]
        self.assertEqual(t[0x02], b"shop.example")          # PP2_TYPE_AUTHORITY
        self.assertEqual(t[0x01], b"http/1.1")              # PP2_TYPE_ALPN: shop offers only http/1.1
        ssl_tlv = t[0x20]
        self.assertEqual(ssl_tlv[0], 0x01)                  # PP2_CLIENT_SSL
        self.assertEqual(ssl_tlv[1:5], b"\0\0\0\0")         # verify
        sub = parse_tlvs(ssl_tlv[5:])
        self.assertEqual(sub[0x21], b"TLSv1.3")
        self.assertEqual(sub[0x23].decode(), facts["cipher"])
        self.assertEqual(t[0xE0], b"no")                    # a full handshake
        self.assertEqual(t[0xE1], b"shop")

    def test_the_resumption_kind_is_passed_on(self):
        ctx = client_context(ssl.TLSVersion.TLSv1_2)
        n = len(self.backend.headers)
        _, first, _ = self.request(ctx, "shop.example")
        _, second, _ = self.request(ctx, "shop.example", session=first["session"])
        self.assertTrue(second["reused"])
        self.assertEqual(self.last_header(n + 1)["tlvs"][0xE0], b"no")
        h = self.last_header(n + 2)
        self.assertEqual(h["tlvs"][0xE0], b"ticket")
        self.assertEqual(parse_tlvs(h["tlvs"][0x20][5:])[0x21], b"TLSv1.2")

    def test_alpn_follows_the_hosts_order(self):
        ctx = client_context()
        ctx.set_alpn_protocols(["http/1.1", "h2"])
        raw = socket.create_connection(("127.0.0.1", self.server.port), timeout=10)
        with ctx.wrap_socket(raw, server_hostname="localhost") as s:  # the default host: h2 first
            self.assertEqual(s.selected_alpn_protocol(), "h2")
        raw = socket.create_connection(("127.0.0.1", self.server.port), timeout=10)
        with ctx.wrap_socket(raw, server_hostname="shop.example") as s:
            self.assertEqual(s.selected_alpn_protocol(), "http/1.1")
        # Nothing in common: RFC 7301 §3.2's no_application_protocol alert.
        ctx.set_alpn_protocols(["spdy/3"])
        raw = socket.create_connection(("127.0.0.1", self.server.port), timeout=10)
        with self.assertRaises(ssl.SSLError) as e:
            ctx.wrap_socket(raw, server_hostname="shop.example").close()
        self.assertIn("NO_APPLICATION_PROTOCOL", str(e.exception).upper().replace(" ", "_"))
        raw.close()


class ProxyProtocolConfig(unittest.TestCase):
    def write(self, d, text):
        path = os.path.join(d, "t.toml")
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_bad_values_are_refused_naming_the_key(self):
        with tempfile.TemporaryDirectory() as d:
            for text, key in (('proxy_protocol = "v1"\nbackend = "127.0.0.1:1"\n', "proxy_protocol"),
                              ('proxy_protocol = "v2"\n', "proxy_protocol"),
                              ('[default_host]\nalpn = ["h2"]\n', "alpn"),
                              ('backend = "127.0.0.1:1"\n[default_host]\nalpn = ["h2", "h2"]\n', "alpn")):
                with self.subTest(text=text):
                    p = run_bin("serve", "--check-config", "-c", self.write(d, text))
                    self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
                    self.assertIn(key, p.stderr)


if __name__ == "__main__":
    unittest.main()
