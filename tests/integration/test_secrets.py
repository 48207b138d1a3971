"""Secrets stay inside the process: the running `tlsresume serve` (log_level = debug)
never writes session secrets to its log, its metrics or its admin endpoint; the memory
that holds ticket keys is excluded from core dumps; the process cannot dump core.

The server never shows its ticket keys, so the "key bytes" searched for are the ones a
client can know: the TLS 1.2 master secret (s_client "Master-Key:"), every TLS 1.2 and 1.3
secret from s_client -keylogfile, and the TLS 1.3 resumption PSK. A server that logged or
exported session state or key material would reveal these.

Run: cd tests/integration && TLSRESUME_BIN=/path/to/tlsresume python3 -m unittest -v test_secrets
"""
import base64
import json
import os
import re
import socket
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

CONFIG = 'log_level = "debug"\n[[hosts]]\nserver_names = ["b.test"]\n'


def anon_dontdump_mappings(pid):
    """Anonymous mappings of `pid` whose VmFlags carry dd (MADV_DONTDUMP).
    Named mappings ([vvar] and friends carry dd too) are not counted."""
    out, cur = [], None
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            m = re.match(r"^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$", line)
            if m:
                cur = {"start": m.group(1), "size": int(m.group(2), 16) - int(m.group(1), 16),
                       "perms": m.group(3), "path": m.group(4).strip()}
            elif line.startswith("VmFlags:") and cur is not None:
                cur["flags"] = line.split()[1:]
                if not cur["path"] and "dd" in cur["flags"]:
                    out.append(cur)
                cur = None
    return out


def core_limits(pid):
    with open(f"/proc/{pid}/limits") as f:
        for line in f:
            if line.startswith("Max core file size"):
                soft, hard = line[len("Max core file size"):].split()[:2]
                return soft, hard
    raise AssertionError("no 'Max core file size' in /proc/PID/limits")


def encodings(secret):
    """Ways a secret could show up in text or binary output."""
    forms = {"raw": secret}
    for name, part in (("all", secret), ("head16", secret[:16]), ("tail16", secret[-16:])):
        forms[f"hex-{name}"] = part.hex().encode()
        forms[f"colonhex-{name}"] = part.hex(":").encode()
    forms["raw-head16"] = secret[:16]
    forms["b64"] = base64.b64encode(secret).rstrip(b"=")
    forms["b64url"] = base64.urlsafe_b64encode(secret).rstrip(b"=")
    return forms


def leaks(haystack, secrets):
    """[(secret label, encoding)] found in haystack (bytes). Hex is matched case-insensitively."""
    lower = haystack.lower()
    found = []
    for label, secret in secrets.items():
        for enc, needle in encodings(secret).items():
            hay = lower if "hex" in enc else haystack
            if needle in hay:
                found.append((label, enc))
    return found


class SecretsStayInside(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = s = h.Server(CONFIG)
        s.start()
        cls.pid = s.proc.pid
        tmp = s.tmp.name
        keylog = os.path.join(tmp, "keylog.txt")
        cls.client_text = ""

        def run(*args, servername="localhost"):
            text = h.s_client(s.port, "-keylogfile", keylog, *args, servername=servername)
            cls.client_text += text
            return text

        p12, p13, pid12 = (os.path.join(tmp, n) for n in ("s12.pem", "s13.pem", "sid12.pem"))
        cls.full12 = run("-tls1_2", "-sess_out", p12)
        cls.resumed12 = run("-tls1_2", "-sess_in", p12)
        run("-tls1_3", "-sess_out", p13)
        cls.resumed13 = run("-tls1_3", "-sess_in", p13)
        run("-tls1_2", "-no_ticket", "-sess_out", pid12)
        run("-tls1_2", "-no_ticket", "-sess_in", pid12)
        run("-tls1_3", "-sess_in", p13, servername="b.test")   # foreign host
        # Error paths: garbage instead of a ClientHello.
        with socket.create_connection(("127.0.0.1", s.port), timeout=5) as raw:
            raw.sendall(b"\x16\x03\x01\x00\x05garbage" * 4)
            try:
                raw.recv(100)
            except OSError:
                pass

        # Secrets the client knows.
        cls.secrets = {}
        for i, m in enumerate(re.findall(r"Master-Key: ([0-9A-F]+)", cls.client_text)):
            cls.secrets[f"master-key-{i}"] = bytes.fromhex(m)
        for i, m in enumerate(re.findall(r"Resumption PSK: ([0-9A-F]+)", cls.client_text)):
            cls.secrets[f"resumption-psk-{i}"] = bytes.fromhex(m)
        with open(keylog) as f:
            for i, line in enumerate(f):
                parts = line.split()
                if len(parts) == 3 and not line.startswith("#"):
                    cls.secrets[f"keylog-{parts[0]}-{i}"] = bytes.fromhex(parts[2])

        # Admin actions, then every admin view.
        sid = h.body_field(cls.full12, "session")
        cls.dd_before_rotate = anon_dontdump_mappings(cls.pid)
        cls.ctl_out = {}
        for args in (("rotate",), ("revoke", "--id", sid or "00"), ("revoke", "--host", "b.test"),
                     ("keys",), ("revocations",), ("metrics",), ("health",), ("revoke", "--all")):
            r = s.ctl(*args)
            cls.ctl_out[" ".join(args)] = (r.returncode, r.stdout + r.stderr)
        cls.dd_after_rotate = anon_dontdump_mappings(cls.pid)
        cls.admin_out = {path: s.admin("GET", path) for path in ("/keys", "/revocations", "/metrics", "/healthz")}
        cls.core_limits = core_limits(cls.pid)
        cls.alive = s.alive()
        s.stop()
        with open(s.log_path, "rb") as f:
            cls.log = f.read()
        try:
            s.log.close()
        except Exception:
            pass

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()
        cls.srv.tmp.cleanup()

    def test_scenario_ran(self):
        self.assertTrue(self.alive, self.log[-2000:])
        self.assertEqual(h.resumed_line(self.resumed12), "ticket")
        self.assertEqual(h.resumed_line(self.resumed13), "ticket")
        for cmd, (rc, out) in self.ctl_out.items():
            self.assertEqual(rc, 0, f"ctl {cmd}: {out}")
        # Not vacuous: a TLS 1.2 master secret, a TLS 1.3 resumption PSK and TLS 1.3
        # traffic secrets were collected, and the detector finds them where they are.
        labels = " ".join(self.secrets)
        self.assertIn("master-key", labels)
        self.assertIn("resumption-psk", labels)
        self.assertIn("CLIENT_TRAFFIC_SECRET_0", labels)
        self.assertIn("CLIENT_RANDOM", labels)
        master = next(v for k, v in self.secrets.items() if k.startswith("master-key"))
        self.assertTrue(leaks(self.client_text.encode(), {"m": master}))
        self.assertTrue(leaks(b"x" + base64.b64encode(master) + b"y", {"m": master}))

    def test_log_holds_no_secret(self):
        self.assertIn(b"serving TLS", self.log)
        self.assertEqual(leaks(self.log, self.secrets), [], "secret material in the server log")

    def test_admin_endpoint_holds_no_secret(self):
        for path, (status, body) in self.admin_out.items():
            with self.subTest(path=path):
                self.assertEqual(status, 200, body)
                self.assertEqual(leaks(body.encode(), self.secrets), [], f"secret material in {path}")
        for cmd, (_, out) in self.ctl_out.items():
            with self.subTest(ctl=cmd):
                self.assertEqual(leaks(out.encode(), self.secrets), [], f"secret material in ctl {cmd}")

    def test_keys_view_is_ids_states_times_only(self):
        status, body = self.admin_out["/keys"]
        keys = json.loads(body)
        self.assertEqual(sorted(k["state"] for k in keys), ["current", "retired"], body)
        for k in keys:
            self.assertLessEqual(set(k), {"id", "state", "created_at", "current_from", "current_until",
                                          "erase_at", "decrypts"}, k)
            self.assertRegex(k["id"], r"^[0-9a-f]{8}$")
        for text in (body, self.ctl_out["keys"][1], self.admin_out["/metrics"][1]):
            self.assertIsNone(re.search(r"[0-9a-fA-F]{32,}", text), "long hex string in " + text[:300])
            self.assertIsNone(re.search(r"[A-Za-z0-9+/]{40,}={0,2}", text), "long base64 string in " + text[:300])

    def test_key_memory_is_excluded_from_core_dumps(self):
        self.assertTrue(self.dd_before_rotate,
                        "no anonymous MADV_DONTDUMP mapping (VmFlags dd) in the running server: ticket keys "
                        "would land in a core dump")
        # Each master key lives in its own dd mapping: a rotation adds one.
        before = sum(m["size"] for m in self.dd_before_rotate)
        after = sum(m["size"] for m in self.dd_after_rotate)
        self.assertGreater(after, before, f"rotation added no dd memory: {self.dd_before_rotate} -> {self.dd_after_rotate}")
        for m in self.dd_after_rotate:
            self.assertEqual(m["perms"][:2], "rw", m)

    def test_core_dumps_disabled(self):
        self.assertEqual(self.core_limits, ("0", "0"), "RLIMIT_CORE (soft, hard) of the running server")


class NotDumpable(unittest.TestCase):
    """RLIMIT_CORE 0 is ignored when core_pattern pipes to a program (core(5)), and cached
    master secrets are ordinary heap: the server also makes itself non-dumpable. The kernel
    shows that in /proc/PID ownership: the files of a non-dumpable process belong to root,
    not to its user. So the server runs as nobody here (needs root to switch)."""

    def test_the_server_is_not_dumpable(self):
        if os.geteuid() != 0:
            self.skipTest("needs root to start the server as another user")
        port = h.free_port()
        p = subprocess.Popen(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", h.BIN, "serve",
                              "--listen", f"127.0.0.1:{port}", "--admin", "off", "--workers", "1"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            self.assertTrue(h.wait_for(lambda: h.port_open(port), timeout=10), "server did not start as nobody")
            with open(f"/proc/{p.pid}/status") as f:
                uids = next(l for l in f if l.startswith("Uid:")).split()[1:]
            self.assertEqual(uids[0], "65534", "not running as nobody")
            self.assertEqual(os.stat(f"/proc/{p.pid}/environ").st_uid, 0,
                             "/proc/PID/environ belongs to the server's user: the process is dumpable")
        finally:
            p.terminate()
            p.wait(timeout=15)


if __name__ == "__main__":
    unittest.main()
