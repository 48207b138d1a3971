"""admin_token_file: with a token every admin request needs "Authorization: Bearer
<token>" (401 without it or with a wrong one, logged with the client's address and
rate-limited); ctl sends it from --token-file or TLSRESUME_ADMIN_TOKEN_FILE; an admin
endpoint off loopback without a token is refused at start (exit 2, nothing listened on)."""
import os
import re
import subprocess
import tempfile
import unittest
import urllib.error
import urllib.request

from harness import BIN, Server, free_port, port_open, run_bin

TOKEN = "c2a1f0e4d9b8a7c6e5f4d3c2b1a09f8e"


def request(server, method, path, token=None):
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    req = urllib.request.Request(f"http://127.0.0.1:{server.admin_port}{path}", method=method,
                                 data=b"" if method == "POST" else None, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, r.read().decode(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(), dict(e.headers)


class AdminToken(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="tlsresume-token-")
        cls.token_file = os.path.join(cls.tmp.name, "admin.token")
        with open(cls.token_file, "w") as f:
            f.write(TOKEN + "\n")
        cls.server = Server(config=f'admin_token_file = "{cls.token_file}"\n')
        cls.server.start()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.tmp.cleanup()

    def test_no_wrong_and_right_token(self):
        for method, path in (("GET", "/healthz"), ("GET", "/metrics"), ("GET", "/keys"), ("GET", "/revocations"),
                             ("POST", "/rotate"), ("POST", "/revoke?before=now"), ("GET", "/nowhere")):
            status, body, headers = request(self.server, method, path)
            self.assertEqual(status, 401, (path, body))
            self.assertIn("Bearer", headers.get("WWW-Authenticate", ""))
            self.assertEqual(request(self.server, method, path, token=TOKEN[:-1] + "0")[0], 401, path)
            self.assertEqual(request(self.server, method, path, token=TOKEN + "x")[0], 401, path)
            self.assertEqual(request(self.server, method, path, token="")[0], 401, path)
        status, body, _ = request(self.server, "GET", "/healthz", token=TOKEN)
        self.assertEqual((status, body), (200, "ok\n"))
        status, body, _ = request(self.server, "GET", "/metrics", token=TOKEN)
        self.assertEqual(status, 200)
        self.assertIn("tlsresume_handshakes_total", body)

    def test_refusals_logged_with_address_and_rate_limited(self):
        for _ in range(20):
            self.assertEqual(request(self.server, "GET", "/healthz", token="wrong-token-wrong-token")[0], 401)
        out = self.server.output()
        lines = [l for l in out.splitlines() if "refused (401)" in l]
        self.assertGreaterEqual(len(lines), 1, out)
        self.assertLess(len(lines), 5, out)  # one per 10 s, not one per request
        self.assertRegex(lines[0], r"admin request from 127\.0\.0\.1:\d+ refused \(401\)")
        self.assertNotIn(TOKEN, out)
        self.assertNotIn("wrong-token-wrong-token", out)

    def test_ctl_token_file_and_environment(self):
        admin = f"127.0.0.1:{self.server.admin_port}"
        p = run_bin("ctl", "--admin", admin, "health")
        self.assertEqual(p.returncode, 1)
        self.assertIn("Authorization", p.stderr)
        p = run_bin("ctl", "--admin", admin, "--token-file", self.token_file, "health")
        self.assertEqual((p.returncode, p.stdout), (0, "ok\n"), p.stderr)
        env = dict(os.environ, TLSRESUME_ADMIN_TOKEN_FILE=self.token_file)
        p = run_bin("ctl", "--admin", admin, "keys", env=env)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(p.stdout.startswith("["), p.stdout)
        p = run_bin("ctl", "--admin", admin, "--token-file", os.path.join(self.tmp.name, "absent"), "health")
        self.assertEqual(p.returncode, 2)
        self.assertIn("absent", p.stderr)


class NonLoopbackAdmin(unittest.TestCase):
    def test_refused_without_token(self):
        port, admin = free_port(), free_port()
        p = subprocess.run([BIN, "serve", "--listen", f"127.0.0.1:{port}", "--admin", f"0.0.0.0:{admin}"],
                           capture_output=True, text=True, timeout=15)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertEqual(len(p.stderr.splitlines()), 1, p.stderr)
        self.assertIn("admin", p.stderr)
        self.assertIn("admin_token_file", p.stderr)
        self.assertFalse(port_open(port))
        # --check-config refuses it alike.
        p = run_bin("serve", "--check-config", "--admin", f"0.0.0.0:{admin}")
        self.assertEqual(p.returncode, 2)
        self.assertIn("admin_token_file", p.stderr)

    def test_accepted_with_token(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "t")
            with open(path, "w") as f:
                f.write(TOKEN + "\n")
            p = run_bin("serve", "--check-config", "--admin", f"0.0.0.0:{free_port()}", "--admin-token-file", path)
            self.assertEqual((p.returncode, p.stdout), (0, "configuration OK\n"), p.stderr)

    def test_bad_token_files(self):
        with tempfile.TemporaryDirectory() as d:
            short = os.path.join(d, "short")
            with open(short, "w") as f:
                f.write("abc\n")
            p = run_bin("serve", "--check-config", "--admin-token-file", short)
            self.assertEqual(p.returncode, 2)
            self.assertIn("admin_token_file", p.stderr)
            self.assertIn("shorter than 16", p.stderr)
            self.assertNotIn("abc", p.stderr.replace(short, ""))
            p = run_bin("serve", "--check-config", "--admin-token-file", os.path.join(d, "none"))
            self.assertEqual(p.returncode, 2)
            self.assertIn("No such file", p.stderr)


if __name__ == "__main__":
    unittest.main()
