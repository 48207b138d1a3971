"""Session tickets end to end: real clients (openssl s_client, gnutls-cli, curl, Python
ssl) against the real `tlsresume serve` binary.

Every assertion is on observable behaviour: the built-in responder's `resumed:` line,
s_client's "New"/"Reused", and deltas of the server's metrics
(tlsresume_ticket_decrypt_total{result=...}). Every wait is bounded.

Run: cd tests/integration && TLSRESUME_BIN=/path/to/tlsresume python3 -m unittest -v test_tickets
"""
import base64
import json
import os
import re
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

HTTP_REQUEST = b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
RESULTS = ("ok", "renewed", "unknown_key", "bad_mac", "expired", "revoked", "foreign_host", "malformed")
GNUTLS_RESUMED = "*** This is a resumed session"


# --------------------------------------------------------------------------- helpers

def ticket_results(srv):
    """tlsresume_ticket_decrypt_total by result."""
    out = dict.fromkeys(RESULTS, 0)
    for k, v in srv.metrics().items():
        m = re.fullmatch(r'tlsresume_ticket_decrypt_total\{result="(\w+)"\}', k)
        if m:
            out[m.group(1)] = int(v)
    return out


def delta(before, after):
    return {k: after.get(k, 0) - before.get(k, 0) for k in after if after.get(k, 0) != before.get(k, 0)}


def metric(srv, name):
    return srv.metrics().get(name, 0.0)


def reused(text):
    """s_client's verdict: True for "Reused, ...", False for "New, ..."."""
    if re.search(r"^Reused, ", text, re.M):
        return True
    if re.search(r"^New, ", text, re.M):
        return False
    raise AssertionError("s_client printed neither 'New,' nor 'Reused,' (handshake failed?):\n" + text[-3000:])


def sessfile(srv, name):
    return os.path.join(srv.tmp.name, name)


def full_handshake(test, srv, out_path, *args, servername="localhost"):
    """A first connection that must be a full handshake; saves the session to out_path."""
    text = h.s_client(srv.port, "-sess_out", out_path, *args, servername=servername)
    test.assertFalse(reused(text), text[-2000:])
    test.assertEqual(h.resumed_line(text), "no", text[-2000:])
    test.assertTrue(os.path.exists(out_path), "s_client wrote no session file (no ticket/session?):\n" + text[-2000:])
    return text


def resume(srv, in_path, *args, out_path=None, servername="localhost"):
    extra = ["-sess_out", out_path] if out_path else []
    return h.s_client(srv.port, "-sess_in", in_path, *extra, *args, servername=servername)


# --- SSL_SESSION DER (PEM "SSL SESSION PARAMETERS") ---------------------------------
# SSL_SESSION ::= SEQUENCE { ..., [9] EXPLICIT INTEGER tlsext_tick_lifetime_hint,
#                            [10] EXPLICIT OCTET STRING tlsext_tick, ... }
TAG_LIFETIME_HINT = 0xA9
TAG_TICKET = 0xAA


def read_pem(path):
    with open(path) as f:
        text = f.read()
    m = re.search(r"-----BEGIN SSL SESSION PARAMETERS-----(.*?)-----END SSL SESSION PARAMETERS-----", text, re.S)
    assert m, f"{path} is not an SSL SESSION PARAMETERS PEM file"
    return base64.b64decode("".join(m.group(1).split()))


def write_pem(path, der):
    b64 = base64.b64encode(der).decode()
    body = "\n".join(b64[i:i + 64] for i in range(0, len(b64), 64))
    with open(path, "w") as f:
        f.write(f"-----BEGIN SSL SESSION PARAMETERS-----\n{body}\n-----END SSL SESSION PARAMETERS-----\n")


def _tlv(buf, i):
    tag, length = buf[i], buf[i + 1]
    hdr = 2
    if length & 0x80:
        n = length & 0x7F
        length = int.from_bytes(buf[i + 2:i + 2 + n], "big")
        hdr = 2 + n
    return tag, buf[i + hdr:i + hdr + length], i + hdr + length


def _enc(tag, content):
    n = len(content)
    if n < 0x80:
        ln = bytes([n])
    else:
        b = n.to_bytes((n.bit_length() + 7) // 8, "big")
        ln = bytes([0x80 | len(b)]) + b
    return bytes([tag]) + ln + content


def session_fields(der):
    tag, content, end = _tlv(der, 0)
    assert tag == 0x30 and end == len(der), "not a DER SEQUENCE"
    fields, i = [], 0
    while i < len(content):
        t, c, i = _tlv(content, i)
        fields.append((t, c))
    return fields


def session_build(fields):
    return _enc(0x30, b"".join(_enc(t, c) for t, c in fields))


def ticket_of(path):
    """The ticket bytes of a saved session (None if the session has no ticket)."""
    for t, c in session_fields(read_pem(path)):
        if t == TAG_TICKET:
            inner_tag, inner, _ = _tlv(c, 0)
            assert inner_tag == 0x04
            return bytes(inner)
    return None


def with_field(src, dst, tag, inner_der):
    fields = session_fields(read_pem(src))
    assert any(t == tag for t, _ in fields), f"session has no field {tag:#x}"
    write_pem(dst, session_build([(t, inner_der if t == tag else c) for t, c in fields]))


def with_ticket(src, dst, ticket):
    with_field(src, dst, TAG_TICKET, _enc(0x04, ticket))


def with_lifetime_hint(src, dst, seconds):
    """Make the CLIENT believe the ticket lives longer, so it still offers it and the
    server's own age check is what gets tested (OpenSSL clients drop TLS 1.3 tickets
    older than the lifetime the server announced)."""
    b = seconds.to_bytes((seconds.bit_length() + 8) // 8, "big")
    with_field(src, dst, TAG_LIFETIME_HINT, _enc(0x02, b))


def ticket_from_sess_id_text(path):
    """The same ticket, read the other way: `openssl sess_id -text` hex dump."""
    text = subprocess.run(["openssl", "sess_id", "-in", path, "-noout", "-text"],
                          capture_output=True, text=True, timeout=15, check=True).stdout
    lines = text.splitlines()
    start = next(i for i, l in enumerate(lines) if "TLS session ticket:" in l)
    out = bytearray()
    for line in lines[start + 1:]:
        m = re.match(r"^\s*[0-9a-f]{4} - ", line)
        if not m:
            break
        hexpart = line[m.end():m.end() + 47]
        out += bytes.fromhex(hexpart.replace("-", " ").replace(" ", ""))
    return bytes(out)


def gnutls(port, priority, *extra, timeout=20):
    """gnutls-cli --resume: two connections, the second resuming the first."""
    p = subprocess.run(["gnutls-cli", "--insecure", "--resume", "-p", str(port), "127.0.0.1",
                        "--priority", priority, *extra],
                       input=HTTP_REQUEST, capture_output=True, timeout=timeout)
    return p.stdout.decode(errors="replace") + p.stderr.decode(errors="replace")


def gnutls_descriptions(text):
    return re.findall(r"^- Description: (.*)$", text, re.M)


def client_hellos(trace_bytes):
    """Parse a raw client->server TLS byte stream: list of ClientHello extension dicts."""
    hellos, i = [], 0
    while i + 5 <= len(trace_bytes):
        rtype, rlen = trace_bytes[i], int.from_bytes(trace_bytes[i + 3:i + 5], "big")
        frag = trace_bytes[i + 5:i + 5 + rlen]
        i += 5 + rlen
        if rtype != 22 or not frag or frag[0] != 1:
            continue
        body = frag[4:]
        p = 2 + 32
        p += 1 + body[p]                                        # session id
        p += 2 + int.from_bytes(body[p:p + 2], "big")           # cipher suites
        p += 1 + body[p]                                        # compression
        end = p + 2 + int.from_bytes(body[p:p + 2], "big")
        p += 2
        exts = {}
        while p + 4 <= end:
            et, el = int.from_bytes(body[p:p + 2], "big"), int.from_bytes(body[p + 2:p + 4], "big")
            exts[et] = body[p + 4:p + 4 + el]
            p += 4 + el
        hellos.append(exts)
    return hellos


def curl(port, *args):
    url = f"https://127.0.0.1:{port}/"
    p = subprocess.run(["curl", "-sS", "-k", "-H", "Connection: close", *args, url, url],
                       capture_output=True, text=True, timeout=30)
    return p.stdout + p.stderr


def received_handshake_messages(text, name):
    """Handshake messages of type `name` the client received, from `s_client -msg`."""
    lines = text.splitlines()
    out = []
    for i, line in enumerate(lines):
        if line.startswith("<<< ") and line.endswith(", " + name):
            data = bytearray()
            for more in lines[i + 1:]:
                if not re.fullmatch(r"    [0-9a-f]{2}( [0-9a-f]{2})*\s*", more):
                    break
                data += bytes.fromhex(more.strip())
            out.append(bytes(data))
    return out


def new_session_tickets(text, tls13):
    """The ticket bytes of every NewSessionTicket in `s_client -msg` output."""
    tickets = []
    for msg in received_handshake_messages(text, "NewSessionTicket"):
        body = msg[4:]
        p = 4                      # ticket_lifetime(_hint)
        if tls13:
            p += 4                 # ticket_age_add
            p += 1 + body[p]       # ticket_nonce
        n = int.from_bytes(body[p:p + 2], "big")
        tickets.append(bytes(body[p + 2:p + 2 + n]))
    return tickets


def close_server(srv):
    """Stop a harness.Server and release its log file and temporary directory."""
    srv.stop()
    try:
        srv.log.close()
    except Exception:
        pass
    srv.tmp.cleanup()


class TicketLayout:
    """Where the parts of one of our stateless tickets lie, in the build's TLS library's
    format (docs/tls-libraries.md): OpenSSL's RFC 5077 §4 construction, key name(16) |
    IV(16) | AES-256-CBC blocks | HMAC-SHA256(32); on BoringSSL our own (see
    src/boringssl/ticket_format.hpp), key name(4) | nonce(12) | AES-256-GCM | tag(16),
    the sealed part starting with a 25-byte chain record."""

    def __init__(self, library):
        self.library = library
        if library == "openssl":
            self.name, self.iv, self.mac, self.block, self.record = 16, 16, 32, 16, 0
        else:
            self.name, self.iv, self.mac, self.block, self.record = 4, 12, 16, 1, 25

    @property
    def shortest(self):
        """The shortest ticket the format can hold: header, one block (or the record), MAC."""
        return self.name + self.iv + max(self.block, self.record) + self.mac


def ticket_layout():
    return TicketLayout(h.tls_library())


def fresh_tickets_after_tls13_resumption(tickets_per_connection=2):
    """How many NewSessionTickets a resumed TLS 1.3 client gets (RFC 8446 C.4: at least
    one): OpenSSL sends one; BoringSSL sends num_tickets after every handshake, resumed
    ones included, which is the hosts' tickets_per_connection."""
    return 1 if h.tls_library() == "openssl" else tickets_per_connection


class running:
    """`with running(config) as srv:` like harness.Server, but also cleans up."""

    def __init__(self, config=None, **kw):
        self.srv = h.Server(config, **kw)

    def __enter__(self):
        self.srv.start()
        return self.srv

    def __exit__(self, *exc):
        close_server(self.srv)


def sleep_until(t):
    """Sleep until time.time() >= t (bounded by the caller's choice of t)."""
    while True:
        left = t - time.time()
        if left <= 0:
            return
        time.sleep(min(left, 0.2))


# --------------------------------------------------------------------------- tests

class ClientsResumeWithTickets(unittest.TestCase):
    """Default configuration: every common client resumes with a ticket."""

    @classmethod
    def setUpClass(cls):
        cls.srv = h.Server("")
        cls.srv.start()

    @classmethod
    def tearDownClass(cls):
        close_server(cls.srv)

    def _openssl(self, version, label):
        s = self.srv
        path = sessfile(s, f"openssl-{version}.pem")
        before, hs = ticket_results(s), s.handshakes("ticket", label)
        full_handshake(self, s, path, version)
        self.assertIsNotNone(ticket_of(path), "no ticket in the saved session")
        text = resume(s, path, version)
        self.assertTrue(reused(text), text[-2000:])
        self.assertEqual(h.resumed_line(text), "ticket", text[-2000:])
        self.assertEqual(delta(before, ticket_results(s)), {"ok": 1})
        self.assertEqual(s.handshakes("ticket", label), hs + 1)
        return text

    def test_openssl_tls12(self):
        self._openssl("-tls1_2", "TLSv1.2")

    def test_openssl_tls13(self):
        self._openssl("-tls1_3", "TLSv1.3")

    def test_a_resumption_after_a_hello_retry_request_is_counted_once(self):
        # The client's key share is for a group the server does not take (P-521): the
        # server asks again (HelloRetryRequest) and OpenSSL opens the same ticket twice.
        s = self.srv
        path = sessfile(s, "hrr.pem")
        full_handshake(self, s, path, "-tls1_3")
        before, ages = ticket_results(s), h.metric_sum(s, "tlsresume_resumption_age_seconds_count")
        text = resume(s, path, "-tls1_3", "-groups", "P-521:X25519", "-msg")
        self.assertEqual(h.resumed_line(text), "ticket", text[-2000:])
        self.assertEqual(text.count("ServerHello"), 2, "no HelloRetryRequest: the test proves nothing")
        self.assertEqual(delta(before, ticket_results(s)), {"ok": 1})
        self.assertEqual(h.metric_sum(s, "tlsresume_resumption_age_seconds_count"), ages + 1)

    def test_tls13_resumption_issues_a_fresh_ticket(self):
        # RFC 8446 C.4: clients SHOULD NOT reuse a ticket, so a TLS 1.3 server gives a
        # resumed client a new one (a stock OpenSSL server sends one per resumption).
        s = self.srv
        first, second = sessfile(s, "fresh-1.pem"), sessfile(s, "fresh-2.pem")
        full_handshake(self, s, first, "-tls1_3")
        text = resume(s, first, "-tls1_3", "-msg", out_path=second)
        self.assertEqual(h.resumed_line(text), "ticket", text[-2000:])
        fresh = new_session_tickets(text, tls13=True)
        self.assertEqual(len(fresh), fresh_tickets_after_tls13_resumption(),
                         "a TLS 1.3 resumption by ticket got %d NewSessionTicket(s): without one the client can "
                         "only reuse its old ticket (linkable, RFC 8446 C.4) and renewed-ticket chains "
                         "(max_resumption_age) never form" % len(fresh))
        self.assertNotIn(ticket_of(first), fresh)
        self.assertEqual(len(set(fresh)), len(fresh), "the fresh tickets are not all different")
        self.assertEqual(ticket_of(second), fresh[-1], "s_client keeps the last ticket it was given")

    def test_gnutls_tls12(self):
        out = gnutls(self.srv.port, "NORMAL:-VERS-ALL:+VERS-TLS1.2")
        self.assertIn(GNUTLS_RESUMED, out, out[-3000:])
        self.assertEqual(h.resumed_line(out), "ticket", out[-3000:])

    def test_gnutls_tls13(self):
        out = gnutls(self.srv.port, "NORMAL:-VERS-ALL:+VERS-TLS1.3")
        self.assertIn(GNUTLS_RESUMED, out, out[-3000:])
        self.assertEqual(h.resumed_line(out), "ticket", out[-3000:])

    def test_curl_tls13(self):
        # Two URLs in one curl run; "Connection: close" makes curl open a second
        # connection, which resumes from curl's session cache.
        out = curl(self.srv.port, "--tlsv1.3")
        self.assertEqual(re.findall(r"^resumed: (\S+)", out, re.M), ["no", "ticket"], out)

    def test_curl_tls12_resumes_by_session_id(self):
        # curl's OpenSSL backend sets SSL_OP_NO_TICKET, so with TLS 1.2 it never offers a
        # ticket: it resumes by session id, which is what we check.
        before = ticket_results(self.srv)
        out = curl(self.srv.port, "--tlsv1.2", "--tls-max", "1.2")
        self.assertEqual(re.findall(r"^resumed: (\S+)", out, re.M), ["no", "session-id"], out)
        self.assertEqual(delta(before, ticket_results(self.srv)), {})

    def _python(self, version, expected_version):
        ctx = h.client_context(version)
        body1, session, reused1 = h.https_get(self.srv.port, ctx)
        self.assertFalse(reused1)
        self.assertEqual(h.resumed_line(body1), "no", body1)
        self.assertTrue(session.has_ticket, "Python's session holds no ticket")
        body2, _, reused2 = h.https_get(self.srv.port, ctx, session=session)
        self.assertTrue(reused2, body2)
        self.assertEqual(h.resumed_line(body2), "ticket", body2)
        self.assertIn(expected_version, body2)

    def test_python_tls12(self):
        self._python(ssl.TLSVersion.TLSv1_2, "TLSv1.2")

    def test_python_tls13(self):
        self._python(ssl.TLSVersion.TLSv1_3, "TLSv1.3")

    def test_no_ticket_client_resumes_by_session_id(self):
        s = self.srv
        path = sessfile(s, "noticket.pem")
        before = ticket_results(s)
        full_handshake(self, s, path, "-tls1_2", "-no_ticket")
        self.assertIsNone(ticket_of(path), "the client asked for no ticket but the session holds one")
        text = resume(s, path, "-tls1_2", "-no_ticket")
        self.assertTrue(reused(text), text[-2000:])
        self.assertEqual(h.resumed_line(text), "session-id", text[-2000:])
        self.assertEqual(delta(before, ticket_results(s)), {})


class TamperedTickets(unittest.TestCase):
    """A saved TLS 1.2 ticket with one byte flipped in each region of the library's ticket
    format (TicketLayout). Session ids are off, so a ticket is the only way this server
    could resume."""

    @classmethod
    def setUpClass(cls):
        cls.srv = h.Server("[default_host]\nsession_ids = false\n")
        cls.srv.start()
        cls.orig = sessfile(cls.srv, "orig.pem")
        text = h.s_client(cls.srv.port, "-tls1_2", "-sess_out", cls.orig)
        assert h.resumed_line(text) == "no", text
        cls.ticket = ticket_of(cls.orig)
        cls.layout = ticket_layout()

    @classmethod
    def tearDownClass(cls):
        close_server(cls.srv)

    def test_ticket_bytes_located(self):
        # Two independent readings of the session file agree, and the size fits the
        # format: a header, a sealed session (whole blocks with CBC), the MAC.
        L = self.layout
        self.assertEqual(self.ticket, ticket_from_sess_id_text(self.orig))
        self.assertGreater(len(self.ticket), L.shortest, "the ticket holds no session")
        self.assertEqual((len(self.ticket) - L.name - L.iv - L.mac) % L.block, 0, len(self.ticket))
        # The key name is the same for every ticket of one key; the IV / nonce is not.
        other = sessfile(self.srv, "orig-2.pem")
        text = h.s_client(self.srv.port, "-tls1_2", "-sess_out", other)
        self.assertEqual(h.resumed_line(text), "no", text[-2000:])
        second = ticket_of(other)
        self.assertEqual(second[:L.name], self.ticket[:L.name], "two tickets of one key differ in the key name")
        self.assertNotEqual(second[L.name:L.name + L.iv], self.ticket[L.name:L.name + L.iv])

    def _replay(self, ticket, name):
        s = self.srv
        path = sessfile(s, f"tampered-{name}.pem")
        with_ticket(self.orig, path, ticket)
        before = ticket_results(s)
        text = resume(s, path, "-tls1_2")
        self.assertTrue(s.alive(), "server died on a tampered ticket:\n" + s.output()[-2000:])
        self.assertFalse(reused(text), f"{name}: a tampered ticket resumed:\n{text[-2000:]}")
        self.assertEqual(h.resumed_line(text), "no", text[-2000:])
        return delta(before, ticket_results(s))

    def _flip(self, offset):
        t = bytearray(self.ticket)
        t[offset] ^= 0x01
        return bytes(t)

    def test_flipped_key_name_is_unknown_key(self):
        for off in sorted({0, self.layout.name // 2, self.layout.name - 1}):
            with self.subTest(offset=off):
                self.assertEqual(self._replay(self._flip(off), f"name{off}"), {"unknown_key": 1})

    def test_flipped_iv_is_bad_mac(self):
        L = self.layout
        for off in (L.name, L.name + L.iv - 1):
            with self.subTest(offset=off):
                self.assertEqual(self._replay(self._flip(off), f"iv{off}"), {"bad_mac": 1})

    def test_flipped_body_is_bad_mac(self):
        L, n = self.layout, len(self.ticket)
        for off in (L.name + L.iv, n // 2, n - L.mac - 1):
            with self.subTest(offset=off):
                self.assertEqual(self._replay(self._flip(off), f"body{off}"), {"bad_mac": 1})

    def test_flipped_mac_is_bad_mac(self):
        n = len(self.ticket)
        for off in (n - self.layout.mac, n - 1):
            with self.subTest(offset=off):
                self.assertEqual(self._replay(self._flip(off), f"mac{off}"), {"bad_mac": 1})

    def test_truncated_ticket_is_malformed(self):
        # Too short to name a key (never looked up), and too short for the format although
        # the key name is ours (the key is found, the length refused): malformed both, not
        # a bad MAC. From the shortest length the format allows, the MAC is what fails.
        L = self.layout
        if L.library == "openssl":
            # OpenSSL asks for the key only once it has a name and an IV.
            malformed = (L.name + 4, L.name + L.iv + L.block, L.shortest - L.block)
        else:
            malformed = (L.name - 1, L.name + L.iv, L.shortest - 1)
        for length in malformed:
            with self.subTest(length=length):
                self.assertEqual(self._replay(self.ticket[:length], f"short{length}"), {"malformed": 1})
        for length in (L.shortest, len(self.ticket) - L.block):
            with self.subTest(length=length):
                self.assertEqual(self._replay(self.ticket[:length], f"short{length}"), {"bad_mac": 1})

    def test_untampered_ticket_still_resumes(self):
        # Runs in any order relative to the tampering tests: the server is unharmed.
        text = resume(self.srv, self.orig, "-tls1_2")
        self.assertTrue(reused(text), text[-2000:])
        self.assertEqual(h.resumed_line(text), "ticket")


class TicketFromAnotherServer(unittest.TestCase):
    def test_other_instance_ticket_is_unknown_key(self):
        with running("") as a, running("") as b:
            for version in ("-tls1_2", "-tls1_3"):
                with self.subTest(version=version):
                    path = sessfile(a, f"a{version}.pem")
                    full_handshake(self, a, path, version)
                    before = ticket_results(b)
                    text = resume(b, path, version)
                    self.assertFalse(reused(text), text[-2000:])
                    self.assertEqual(h.resumed_line(text), "no")
                    self.assertEqual(delta(before, ticket_results(b)), {"unknown_key": 1})
                    # ...and the ticket is fine where it came from.
                    self.assertEqual(h.resumed_line(resume(a, path, version)), "ticket")


class ForcedRotation(unittest.TestCase):
    HEX64 = re.compile(r"[0-9a-fA-F]{64}")
    LONG_B64 = re.compile(r"[A-Za-z0-9+/]{40,}={0,2}")

    def _keys(self, srv):
        r = srv.ctl("keys")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIsNone(self.HEX64.search(r.stdout), "ctl keys shows a 64-hex-char string:\n" + r.stdout)
        self.assertIsNone(self.LONG_B64.search(r.stdout), "ctl keys shows a long base64 string:\n" + r.stdout)
        keys = json.loads(r.stdout)
        for k in keys:
            self.assertLessEqual(set(k), {"id", "state", "created_at", "current_from", "current_until",
                                          "erase_at", "decrypts"}, k)
            self.assertRegex(k["id"], r"^[0-9a-f]{8}$")
        return keys

    def test_rotate_keeps_old_tickets_and_renews_them(self):
        with running("") as s:
            old = {v: sessfile(s, f"old{v}.pem") for v in ("-tls1_2", "-tls1_3")}
            for v, path in old.items():
                full_handshake(self, s, path, v)
            keys = self._keys(s)
            self.assertEqual([k["state"] for k in keys], ["current"], keys)
            rotations = metric(s, "tlsresume_key_rotations_total")

            r = s.ctl("rotate")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn('"rotated":true', r.stdout)
            self.assertEqual(metric(s, "tlsresume_key_rotations_total"), rotations + 1)

            keys_after = self._keys(s)
            self.assertEqual(sorted(k["state"] for k in keys_after), ["current", "retired"], keys_after)
            retired = next(k for k in keys_after if k["state"] == "retired")
            current = next(k for k in keys_after if k["state"] == "current")
            self.assertEqual(retired["id"], keys[0]["id"])
            self.assertNotEqual(current["id"], retired["id"])
            m = s.metrics()
            self.assertEqual(m.get('tlsresume_ticket_keys{state="retired"}'), 1)
            self.assertEqual(m.get('tlsresume_ticket_keys{state="current"}'), 1)

            name = ticket_layout().name
            opened_by_retired = 0
            for v, path in old.items():
                with self.subTest(version=v):
                    new = sessfile(s, f"new{v}.pem")
                    before = ticket_results(s)
                    # -msg: the NewSessionTicket is read off the wire. s_client -sess_out does
                    # not write a TLS 1.2 session that was resumed (OpenSSL calls the client's
                    # new-session callback for TLS 1.2 full handshakes only).
                    text = resume(s, path, v, "-msg", out_path=new)
                    opened_by_retired += 1
                    self.assertTrue(reused(text), text[-2000:])
                    self.assertEqual(h.resumed_line(text), "ticket", text[-2000:])
                    fresh = new_session_tickets(text, tls13=(v == "-tls1_3"))
                    t_old = ticket_of(path)
                    if v == "-tls1_2" and h.tls_library() == "boringssl":
                        # BoringSSL's ticket AEAD method has no "renew" answer: the ticket
                        # resumes (counted ok) and is not replaced; it lives out its lifetime
                        # under the retired key, which outlives it.
                        self.assertEqual(delta(before, ticket_results(s)), {"ok": 1})
                        self.assertEqual(fresh, [], "BoringSSL replaced a TLS 1.2 ticket on resumption")
                        text = resume(s, path, v)
                        opened_by_retired += 1
                        self.assertEqual(h.resumed_line(text), "ticket", text[-2000:])
                        continue
                    self.assertEqual(delta(before, ticket_results(s)), {"renewed": 1})
                    expected = 1 if v == "-tls1_2" else fresh_tickets_after_tls13_resumption()
                    self.assertEqual(len(fresh), expected, "a ticket under a retired key must be replaced")
                    t_new = fresh[-1]
                    if v == "-tls1_3":
                        self.assertEqual(ticket_of(new), t_new)
                    else:
                        # Same session (master secret), new ticket.
                        with_ticket(path, new, t_new)
                    for t in fresh:
                        self.assertNotEqual(t, t_old)
                        self.assertNotEqual(t[:name], t_old[:name], "the renewed ticket is sealed under the old key name")
                    # The renewed ticket is under the current key: plain ok.
                    before = ticket_results(s)
                    text = resume(s, new, v)
                    self.assertEqual(h.resumed_line(text), "ticket", text[-2000:])
                    self.assertEqual(delta(before, ticket_results(s)), {"ok": 1})
            dec = s.metrics()
            self.assertEqual(dec.get(f'tlsresume_ticket_key_decrypts_total{{key="{retired["id"]}"}}'), opened_by_retired)


class TicketLifetimes(unittest.TestCase):
    def test_ticket_after_decrypt_window_is_refused(self):
        cfg = '[tickets]\nkey_rotation = "2s"\n[default_host]\nsession_lifetime = "3s"\nsession_ids = false\n'
        with running(cfg) as s:
            path = sessfile(s, "window.pem")
            full_handshake(self, s, path, "-tls1_2")
            issued = time.time()
            # Which key sealed it: the one whose decrypt counter moves when it opens.
            before = s.metrics()
            text = resume(s, path, "-tls1_2")
            self.assertEqual(h.resumed_line(text), "ticket", text[-2000:])
            after = s.metrics()
            moved = [re.search(r'key="(\w+)"', k).group(1) for k, v in after.items()
                     if k.startswith("tlsresume_ticket_key_decrypts_total{") and v > before.get(k, 0)]
            self.assertEqual(len(moved), 1, moved)
            sealing_key = moved[0]
            # Wait (bounded) until that key is erased from the keyring.
            deadline = issued + 10
            while time.time() < deadline:
                ids = [k["id"] for k in json.loads(s.admin("GET", "/keys")[1])]
                if sealing_key not in ids:
                    break
                time.sleep(0.25)
            else:
                self.fail(f"key {sealing_key} still present 10 s after a 3 s lifetime / 2 s rotation: {ids}")
            self.assertGreaterEqual(time.time() - issued, 3, "key erased before the ticket lifetime ended")
            before = ticket_results(s)
            text = resume(s, path, "-tls1_2")
            self.assertFalse(reused(text), text[-2000:])
            self.assertEqual(h.resumed_line(text), "no")
            d = delta(before, ticket_results(s))
            self.assertEqual(d, {"unknown_key": 1}, "the sealing key is gone, so the name must be unknown")
            self.assertTrue(s.alive())

    def test_a_renewed_tls12_ticket_lives_a_lifetime_from_its_renewal(self):
        # Full handshake at t0, key rotation, resumption at ~t0+2.5 (the ticket is renewed
        # under the new key), then the renewed ticket at ~t0+5.2, past the first ticket's
        # 4 s lifetime but within the renewed one's.
        with running('[default_host]\nsession_lifetime = "4s"\nsession_ids = false\n', workers=1) as s:
            old, new = sessfile(s, "renew-old.pem"), sessfile(s, "renew-new.pem")
            full_handshake(self, s, old, "-tls1_2")
            t0 = time.time()
            sleep_until(t0 + 2.5)
            self.assertEqual(s.ctl("rotate").returncode, 0)
            text = resume(s, old, "-tls1_2", "-msg")
            self.assertEqual(h.resumed_line(text), "ticket", text[-2000:])
            fresh = new_session_tickets(text, tls13=False)
            if h.tls_library() == "boringssl":
                # Not renewed on BoringSSL (no "renew" answer in its ticket AEAD method): the
                # ticket keeps the lifetime it was issued with, and ends there.
                self.assertEqual(fresh, [], "BoringSSL replaced a TLS 1.2 ticket on resumption")
                with_lifetime_hint(old, old, 3600)  # the client still offers it: the server judges
                sleep_until(t0 + 5.2)
                before = ticket_results(s)
                text = resume(s, old, "-tls1_2")
                self.assertFalse(reused(text), text[-2000:])
                self.assertEqual(delta(before, ticket_results(s)), {"expired": 1})
                return
            self.assertEqual(len(fresh), 1, "a ticket under a retired key must be renewed")
            with_ticket(old, new, fresh[0])
            sleep_until(t0 + 5.2)
            text = resume(s, new, "-tls1_2")
            self.assertTrue(reused(text), text[-2000:])
            self.assertEqual(h.resumed_line(text), "ticket")

    def test_server_enforces_session_lifetime(self):
        with running('[default_host]\nsession_lifetime = "2s"\nsession_ids = false\n') as s:
            paths = {}
            for v in ("-tls1_2", "-tls1_3"):
                paths[v] = sessfile(s, f"life{v}.pem")
                full_handshake(self, s, paths[v], v)
            issued = time.time()
            for v, p in paths.items():
                # Within its lifetime the ticket resumes.
                self.assertEqual(h.resumed_line(resume(s, p, v)), "ticket")
                # Make the client keep offering it after the announced lifetime.
                with_lifetime_hint(p, p, 3600)
            sleep_until(issued + 3.2)
            for v, p in paths.items():
                with self.subTest(version=v):
                    before = ticket_results(s)
                    text = resume(s, p, v)
                    self.assertFalse(reused(text), text[-2000:])
                    self.assertEqual(h.resumed_line(text), "no")
                    self.assertEqual(delta(before, ticket_results(s)), {"expired": 1})

    def test_the_announced_lifetime_and_each_hosts_own(self):
        # The lifetime a ticket is announced with (TLS 1.2 lifetime hint, TLS 1.3
        # ticket_lifetime): the host's session_lifetime on OpenSSL; on BoringSSL, which has no
        # per-connection timeout, the longest of the listener's hosts. Either way the server
        # holds each host's tickets to that host's own lifetime.
        certs = tempfile.mkdtemp(prefix="tlsresume-it-certs-")
        self.addCleanup(shutil.rmtree, certs, True)
        cert, key = h.make_cert(certs, "short", "short.test")
        cfg = ('[default_host]\nsession_lifetime = "1h"\nsession_ids = false\n'
               f'[[hosts]]\nserver_names = ["short.test"]\ncert = "{cert}"\nkey = "{key}"\nsession_lifetime = "2s"\n')
        with running(cfg) as s:
            paths = {}
            for v in ("-tls1_2", "-tls1_3"):
                for name, own in (("localhost", 3600), ("short.test", 2)):
                    with self.subTest(version=v, host=name):
                        text = h.s_client(s.port, v, "-msg", servername=name)
                        announced = {int.from_bytes(m[4:8], "big")
                                     for m in received_handshake_messages(text, "NewSessionTicket")}
                        expected = own if h.tls_library() == "openssl" else 3600
                        self.assertEqual(announced, {expected}, text[-2000:])
                paths[v] = sessfile(s, f"short{v}.pem")
                full_handshake(self, s, paths[v], v, servername="short.test")
            issued = time.time()
            for v, p in paths.items():
                self.assertEqual(h.resumed_line(resume(s, p, v, servername="short.test")), "ticket")
                with_lifetime_hint(p, p, 3600)  # the client keeps offering it: the server judges
            sleep_until(issued + 3.2)
            for v, p in paths.items():
                with self.subTest(version=v, after="2s"):
                    before = ticket_results(s)
                    text = resume(s, p, v, servername="short.test")
                    self.assertEqual(h.resumed_line(text), "no", text[-2000:])
                    self.assertEqual(delta(before, ticket_results(s)), {"expired": 1})


class MaxResumptionAge(unittest.TestCase):
    """max_resumption_age = 4s, session_lifetime = 1h, TLS 1.3: resume about every
    second, each time with the newest ticket the server gave us."""

    @classmethod
    def setUpClass(cls):
        cls.srv = h.Server('[default_host]\nmax_resumption_age = "4s"\nsession_lifetime = "1h"\n')
        cls.srv.start()
        s = cls.srv
        cls.log = []  # (seconds since the full handshake, resumed line, got a new ticket, session id)
        current = sessfile(s, "chain-0.pem")
        text = h.s_client(s.port, "-tls1_3", "-sess_out", current)
        cls.first = text
        cls.first_id = h.body_field(text, "session")
        start = time.time()
        cls.before = ticket_results(s)
        for i in range(1, 7):
            sleep_until(start + i * 0.9 if i < 6 else start + 5.0)
            nxt = sessfile(s, f"chain-{i}.pem")
            text = resume(s, current, "-tls1_3", out_path=nxt)
            res = h.resumed_line(text)
            # Only a ticket received on a RESUMED connection continues the chain (a full
            # handshake starts a new one).
            renewed = res == "ticket" and os.path.exists(nxt) and ticket_of(nxt) != ticket_of(current)
            cls.log.append((round(time.time() - start, 2), res, renewed, h.body_field(text, "session")))
            if renewed:
                current = nxt
        cls.after = ticket_results(s)

    @classmethod
    def tearDownClass(cls):
        close_server(cls.srv)

    def test_chain_ends_after_max_resumption_age(self):
        self.assertEqual(h.resumed_line(self.first), "no")
        early = [e for e in self.log if e[0] < 2.9]
        late = [e for e in self.log if e[0] > 4.05]
        self.assertTrue(early and late, self.log)
        for age, res, _, sid in early:
            self.assertEqual(res, "ticket", f"resumption {age:.1f}s after the full handshake failed: {self.log}")
            self.assertEqual(sid, self.first_id, "a renewal must keep the chain's resumption id")
        for age, res, _, _ in late:
            self.assertEqual(res, "no", f"resumed {age:.1f}s after the full handshake (max 4 s): {self.log}")
        self.assertGreaterEqual(delta(self.before, self.after).get("expired", 0), len(late))

    def test_chain_is_made_of_renewed_tickets(self):
        early = [e for e in self.log if e[0] < 2.9]
        self.assertTrue(all(e[2] for e in early),
                        "BUG: TLS 1.3 resumptions return no new ticket, so the 'chain' is one ticket reused: "
                        f"{self.log}")


class Revocation(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = h.Server("")
        cls.srv.start()

    @classmethod
    def tearDownClass(cls):
        close_server(cls.srv)

    def test_revoke_id(self):
        s = self.srv
        for v in ("-tls1_2", "-tls1_3"):
            with self.subTest(version=v):
                path = sessfile(s, f"rid{v}.pem")
                text = full_handshake(self, s, path, v)
                sid = h.body_field(text, "session")
                self.assertRegex(sid or "", r"^[0-9a-f]{32}$", text[-1000:])
                self.assertEqual(h.resumed_line(resume(s, path, v)), "ticket")
                r = s.ctl("revoke", "--id", sid)
                self.assertEqual(r.returncode, 0, r.stderr)
                before = ticket_results(s)
                text = resume(s, path, v)
                self.assertFalse(reused(text), text[-2000:])
                self.assertEqual(h.resumed_line(text), "no")
                self.assertEqual(delta(before, ticket_results(s)), {"revoked": 1})

    def test_revoke_all_then_new_sessions_resume(self):
        s = self.srv
        tickets = {v: sessfile(s, f"rall{v}.pem") for v in ("-tls1_2", "-tls1_3")}
        for v, p in tickets.items():
            full_handshake(self, s, p, v)
        sid_path = sessfile(s, "rall-sid.pem")
        full_handshake(self, s, sid_path, "-tls1_2", "-no_ticket")
        r = s.ctl("revoke", "--all")
        self.assertEqual(r.returncode, 0, r.stderr)
        revoked_at = time.time()
        for v, p in tickets.items():
            with self.subTest(version=v):
                before = ticket_results(s)
                text = resume(s, p, v)
                self.assertEqual(h.resumed_line(text), "no", text[-2000:])
                self.assertEqual(delta(before, ticket_results(s)), {"revoked": 1})
        text = resume(s, sid_path, "-tls1_2", "-no_ticket")
        self.assertEqual(h.resumed_line(text), "no", "a session id issued before --all still resumes")
        # A session made clearly after the revocation resumes.
        sleep_until(revoked_at + 1.1)
        for v in ("-tls1_2", "-tls1_3"):
            with self.subTest(after=v):
                p = sessfile(s, f"rall-after{v}.pem")
                full_handshake(self, s, p, v)
                self.assertEqual(h.resumed_line(resume(s, p, v)), "ticket")

    def test_session_made_right_after_revoke_all_resumes(self):
        # Issue times are whole seconds, so a ticket issued later in the same second as
        # a time-based revocation looks "issued before" it. Start just after a second
        # boundary so that, unless `ctl revoke` returns only once that second is over,
        # the new ticket is issued within the revocation's second.
        s = self.srv
        sleep_until(int(time.time()) + 1.05)
        t0 = time.time()
        r = s.ctl("revoke", "--all")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertLess(time.time() - t0, 3, "ctl revoke --all took too long")
        p = sessfile(s, "rall-same-second.pem")
        full_handshake(self, s, p, "-tls1_3")
        before = ticket_results(s)
        text = resume(s, p, "-tls1_3")
        self.assertEqual(h.resumed_line(text), "ticket",
                         "a ticket issued after `ctl revoke --all` returned is refused (same wall-clock second as "
                         f"the revocation?): {delta(before, ticket_results(s))}")


class PerHostKeys(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.certs = tempfile.mkdtemp(prefix="tlsresume-it-certs-")
        a = h.make_cert(cls.certs, "a", "a.test")
        b = h.make_cert(cls.certs, "b", "b.test")
        cfg = (f'[[hosts]]\nserver_names = ["a.test"]\ncert = "{a[0]}"\nkey = "{a[1]}"\n'
               f'[[hosts]]\nserver_names = ["b.test"]\ncert = "{b[0]}"\nkey = "{b[1]}"\n')
        cls.srv = h.Server(cfg)
        cls.srv.start()

    @classmethod
    def tearDownClass(cls):
        close_server(cls.srv)
        shutil.rmtree(cls.certs, ignore_errors=True)

    def test_host_a_ticket_on_host_b_is_foreign_host(self):
        s = self.srv
        for v in ("-tls1_2", "-tls1_3"):
            with self.subTest(version=v):
                path = sessfile(s, f"hostA{v}.pem")
                text = full_handshake(self, s, path, v, servername="a.test")
                self.assertIn("vhost: a.test", text)
                before = ticket_results(s)
                text = resume(s, path, v, servername="b.test")
                self.assertFalse(reused(text), text[-2000:])
                self.assertEqual(h.resumed_line(text), "no")
                self.assertIn("vhost: b.test", text)
                self.assertEqual(delta(before, ticket_results(s)), {"foreign_host": 1})
                # On its own host it resumes.
                text = resume(s, path, v, servername="a.test")
                self.assertEqual(h.resumed_line(text), "ticket", text[-2000:])

    def test_revoke_host(self):
        s = self.srv
        a, b = sessfile(s, "rh-a.pem"), sessfile(s, "rh-b.pem")
        full_handshake(self, s, a, "-tls1_3", servername="a.test")
        full_handshake(self, s, b, "-tls1_3", servername="b.test")
        r = s.ctl("revoke", "--host", "a.test")
        self.assertEqual(r.returncode, 0, r.stderr)
        before = ticket_results(s)
        self.assertEqual(h.resumed_line(resume(s, a, "-tls1_3", servername="a.test")), "no")
        self.assertEqual(h.resumed_line(resume(s, b, "-tls1_3", servername="b.test")), "ticket")
        self.assertEqual(delta(before, ticket_results(s)), {"revoked": 1, "ok": 1})


class PskModes(unittest.TestCase):
    """gnutls-cli with priority +PSK (and no DHE-PSK/ECDHE-PSK) offers psk_key_exchange_modes
    = [psk_ke] only; its external PSK identity is a dummy the server does not know."""

    PSK_KE_ONLY = "NORMAL:-VERS-ALL:+VERS-TLS1.3:+PSK"
    PSK_ARGS = ("--pskusername=nobody", "--pskkey=00112233445566778899aabbccddeeff")

    def _psk_ke_client(self, srv):
        trace = sessfile(srv, "gnutls-client.trace")
        out = gnutls(srv.port, self.PSK_KE_ONLY, *self.PSK_ARGS, f"--save-client-trace={trace}")
        with open(trace, "rb") as f:
            hellos = client_hellos(f.read())
        self.assertTrue(hellos, "no ClientHello in gnutls' client trace")
        for exts in hellos:
            # psk_key_exchange_modes (45): length 1, mode 0 = psk_ke.
            self.assertEqual(exts.get(45), b"\x01\x00", "the client does not offer psk_ke only")
        return out

    def test_dhe_refuses_psk_ke_only_client(self):
        with running('[default_host]\ntls13_psk_modes = "dhe"\n') as s:
            out = self._psk_ke_client(s)
            self.assertNotIn(GNUTLS_RESUMED, out, out[-3000:])
            self.assertEqual(h.resumed_line(out), "no", out[-3000:])
            descs = gnutls_descriptions(out)
            self.assertEqual(len(descs), 2, out[-3000:])
            self.assertIn("ECDHE", descs[1], "the second connection must be a full (EC)DHE handshake")

    @h.only_on("openssl", 'BoringSSL resumes TLS 1.3 only with (EC)DHE and refuses tls13_psk_modes = "any" at '
                          "start (test_check_config.LibraryLimits)")
    def test_any_lets_psk_ke_only_client_resume_without_dhe(self):
        with running('[default_host]\ntls13_psk_modes = "any"\n') as s:
            out = self._psk_ke_client(s)
            self.assertIn(GNUTLS_RESUMED, out, out[-3000:])
            self.assertEqual(h.resumed_line(out), "ticket", out[-3000:])
            descs = gnutls_descriptions(out)
            self.assertEqual(len(descs), 2, out[-3000:])
            self.assertNotIn("DHE", descs[1], "psk_ke resumption should have no key exchange: " + descs[1])

    def test_dhe_resumes_a_both_modes_client_with_dhe(self):
        # s_client -allow_no_dhe_kex offers psk_ke as well as psk_dhe_ke: the resumption
        # must still run a key exchange (s_client prints "Server Temp Key").
        with running('[default_host]\ntls13_psk_modes = "dhe"\n') as s:
            path = sessfile(s, "nodhe.pem")
            full_handshake(self, s, path, "-tls1_3", "-allow_no_dhe_kex")
            text = resume(s, path, "-tls1_3", "-allow_no_dhe_kex")
            self.assertTrue(reused(text), text[-2000:])
            self.assertEqual(h.resumed_line(text), "ticket")
            self.assertIn("Server Temp Key", text, "resumed without (EC)DHE under tls13_psk_modes = dhe")


class SeveralPskIdentities(unittest.TestCase):
    """RFC 8446 §4.2.11: a ClientHello may offer several PSK identities. s_client -psk adds
    an external PSK after its resumption ticket: two identities, the ticket first; the
    external one is garbage to this ticket-only server. OpenSSL's server opens each in turn
    and counts each failure; BoringSSL's opens only the first."""

    EXTERNAL = ("-psk_identity", "e" * 80, "-psk", "00112233445566778899aabbccddeeff")

    @classmethod
    def setUpClass(cls):
        cls.srv = h.Server("")
        cls.srv.start()
        cls.good = sessfile(cls.srv, "psk-good.pem")
        text = h.s_client(cls.srv.port, "-tls1_3", "-sess_out", cls.good)
        assert h.resumed_line(text) == "no", text

    @classmethod
    def tearDownClass(cls):
        close_server(cls.srv)

    def _offer(self, path):
        return resume(self.srv, path, "-tls1_3", *self.EXTERNAL)

    def test_a_tampered_ticket_then_a_foreign_identity(self):
        s = self.srv
        ticket = bytearray(ticket_of(self.good))
        ticket[len(ticket) // 2] ^= 0x5A
        bad = sessfile(s, "psk-tampered.pem")
        with_ticket(self.good, bad, bytes(ticket))
        before = ticket_results(s)
        text = self._offer(bad)
        self.assertFalse(reused(text), text[-2000:])
        self.assertEqual(h.resumed_line(text), "no", text[-2000:])
        if h.tls_library() == "openssl":
            self.assertEqual(delta(before, ticket_results(s)), {"bad_mac": 1, "unknown_key": 1},
                             "each identity is judged and counted")
        else:
            self.assertEqual(delta(before, ticket_results(s)), {"bad_mac": 1}, "BoringSSL opens the first identity only")

    def test_a_good_ticket_first_resumes(self):
        before = ticket_results(self.srv)
        text = self._offer(self.good)
        self.assertTrue(reused(text), text[-2000:])
        self.assertEqual(h.resumed_line(text), "ticket", text[-2000:])
        self.assertEqual(delta(before, ticket_results(self.srv)), {"ok": 1})


class TicketSuites(unittest.TestCase):
    """A TLS 1.3 ticket offered with other cipher suites than it was made with. RFC 8446
    §4.2.11 asks only that the chosen suite have the PSK's hash, which OpenSSL's server
    follows; BoringSSL resumes only a session of exactly the suite it chose (declined
    first and counted as cipher_not_offered: a full handshake, never a failure). The
    client lists the other suite of the same hash (SHA-256) first: BoringSSL takes the
    client's first suite with AES hardware and ChaCha20 without, so this one either way."""

    def test_a_ticket_of_another_suite_with_the_same_hash(self):
        with running("") as s:
            path = sessfile(s, "suite.pem")
            text = full_handshake(self, s, path, "-tls1_3", "-ciphersuites", "TLS_AES_128_GCM_SHA256")
            self.assertIn("TLS_AES_128_GCM_SHA256", text)
            before = ticket_results(s)
            text = resume(s, path, "-tls1_3", "-ciphersuites", "TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256")
            if h.tls_library() == "openssl":
                self.assertTrue(reused(text), text[-2000:])
                self.assertEqual(h.resumed_line(text), "ticket", text[-2000:])
                self.assertEqual(delta(before, ticket_results(s)), {"ok": 1})
            else:
                self.assertFalse(reused(text), text[-2000:])
                self.assertEqual(h.resumed_line(text), "no", text[-2000:])
                self.assertIn("TLS_CHACHA20_POLY1305_SHA256", text)
                self.assertEqual(delta(before, ticket_results(s)), {"cipher_not_offered": 1})
            # Offered with its own suite again, it resumes on both.
            text = resume(s, path, "-tls1_3", "-ciphersuites", "TLS_AES_128_GCM_SHA256")
            self.assertEqual(h.resumed_line(text), "ticket", text[-2000:])

    def test_a_ticket_whose_hash_is_not_offered(self):
        with running("") as s:
            path = sessfile(s, "hash.pem")
            full_handshake(self, s, path, "-tls1_3", "-ciphersuites", "TLS_AES_256_GCM_SHA384")
            before = ticket_results(s)
            text = resume(s, path, "-tls1_3", "-ciphersuites", "TLS_AES_128_GCM_SHA256")
            self.assertFalse(reused(text), text[-2000:])
            self.assertEqual(h.resumed_line(text), "no", text[-2000:])
            # Offered all the same, declined on both libraries and counted for what it is.
            self.assertEqual(delta(before, ticket_results(s)), {"cipher_not_offered": 1})


class TicketPolicies(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cfg = ('[default_host]\ntickets_per_connection = 4\n'
               '[[hosts]]\nserver_names = ["off.test"]\ntls13_tickets = "off"\n'
               '[[hosts]]\nserver_names = ["nt12.test"]\ntls12_tickets = false\n'
               '[[hosts]]\nserver_names = ["stateful.test"]\ntls13_tickets = "stateful"\n')
        cls.srv = h.Server(cfg)
        cls.srv.start()

    @classmethod
    def tearDownClass(cls):
        close_server(cls.srv)

    def test_tickets_per_connection(self):
        text = h.s_client(self.srv.port, "-tls1_3", "-msg")
        self.assertEqual(h.resumed_line(text), "no")
        self.assertEqual(len(re.findall(r"^<<< TLS 1.3, Handshake \[length [0-9a-f]+\], NewSessionTicket", text, re.M)),
                         4, text[-3000:])
        self.assertEqual(text.count("Post-Handshake New Session Ticket arrived"), 4)

    def test_tls13_tickets_off(self):
        s = self.srv
        path = sessfile(s, "off13.pem")
        text = h.s_client(s.port, "-tls1_3", "-msg", "-sess_out", path, servername="off.test")
        self.assertIn("vhost: off.test", text)
        self.assertNotIn("NewSessionTicket", text)
        self.assertFalse(os.path.exists(path) and ticket_of(path), "a TLS 1.3 ticket was issued")
        ctx = h.client_context(ssl.TLSVersion.TLSv1_3)
        _, session, _ = h.https_get(s.port, ctx, server_hostname="off.test")
        self.assertFalse(session.has_ticket)
        body, _, was_reused = h.https_get(s.port, ctx, session=session, server_hostname="off.test")
        self.assertFalse(was_reused)
        self.assertEqual(h.resumed_line(body), "no")
        # The setting is about TLS 1.3 only: TLS 1.2 on the same host still uses tickets.
        p12 = sessfile(s, "off12.pem")
        full_handshake(self, s, p12, "-tls1_2", servername="off.test")
        self.assertEqual(h.resumed_line(resume(s, p12, "-tls1_2", servername="off.test")), "ticket")

    def test_tls12_tickets_false_resumes_by_session_id(self):
        s = self.srv
        path = sessfile(s, "nt12.pem")
        before = ticket_results(s)
        full_handshake(self, s, path, "-tls1_2", servername="nt12.test")
        self.assertIsNone(ticket_of(path), "a TLS 1.2 ticket was issued with tls12_tickets = false")
        text = resume(s, path, "-tls1_2", servername="nt12.test")
        self.assertTrue(reused(text), text[-2000:])
        self.assertEqual(h.resumed_line(text), "session-id")
        self.assertEqual(delta(before, ticket_results(s)), {})

    def test_tls13_stateful_tickets(self):
        s = self.srv
        path = sessfile(s, "stateful.pem")
        before = ticket_results(s)
        full_handshake(self, s, path, "-tls1_3", servername="stateful.test")
        text = resume(s, path, "-tls1_3", servername="stateful.test")
        self.assertTrue(reused(text), text[-2000:])
        self.assertEqual(h.resumed_line(text), "stateful-ticket")
        self.assertEqual(delta(before, ticket_results(s)), {})


if __name__ == "__main__":
    unittest.main()
