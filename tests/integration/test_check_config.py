"""`tlsresume serve --check-config` (as `nginx -t`, `haproxy -c`): the same checks start-up
runs, certificates, keys and secret files included, and nothing started: "configuration OK"
and exit 0, or start-up's one-line error and exit 2."""
import os
import subprocess
import tempfile
import unittest

from harness import BIN, free_port, make_cert, port_open, run_bin, tls_library


class CheckConfig(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="tlsresume-check-")
        self.dir = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def write(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def check(self, *args):
        return run_bin("serve", "--check-config", *args)

    def serve_error(self, *args):
        """What start-up itself says about the same arguments (it exits before binding)."""
        p = subprocess.run([BIN, "serve", *args], capture_output=True, text=True, timeout=15)
        self.assertEqual(p.returncode, 2, p.stderr)
        return p.stderr

    def test_good_file_with_certificates(self):
        cert, key = make_cert(self.dir, "shop", "shop.example")
        port, admin = free_port(), free_port()
        path = self.write("good.toml", f'listen = ["127.0.0.1:{port}"]\nadmin = "127.0.0.1:{admin}"\n'
                                       f'[[hosts]]\nserver_names = ["shop.example"]\ncert = "{cert}"\nkey = "{key}"\n')
        p = self.check("-c", path)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, "configuration OK\n")
        # Nothing was bound: the ports are still free.
        self.assertFalse(port_open(port))
        self.assertFalse(port_open(admin))

    def test_embedded_defaults(self):
        p = self.check()
        self.assertEqual((p.returncode, p.stdout), (0, "configuration OK\n"), p.stderr)

    def test_broken_file(self):
        path = self.write("bad.toml", 'listen = ["127.0.0.1:8443"]\nworkerz = 3\n')
        p = self.check("-c", path)
        self.assertEqual(p.returncode, 2)
        self.assertEqual(p.stdout, "")
        self.assertEqual(p.stderr, f"tlsresume: {path}: workerz: unknown key\n")
        self.assertEqual(p.stderr, self.serve_error("-c", path))

    def test_bad_certificate(self):
        cert, _ = make_cert(self.dir, "a", "a.example")
        _, other_key = make_cert(self.dir, "b", "b.example")
        path = self.write("mismatch.toml", f'[default_host]\ncert = "{cert}"\nkey = "{other_key}"\n')
        p = self.check("-c", path)
        self.assertEqual(p.returncode, 2, p.stdout)
        self.assertEqual(len(p.stderr.splitlines()), 1, p.stderr)
        self.assertIn("default_host.cert", p.stderr)
        # The same line start-up prints, from the same code.
        port = free_port()
        self.assertEqual(p.stderr, self.serve_error("-c", path, "--listen", f"127.0.0.1:{port}", "--admin", "off"))
        garbage = self.write("garbage.pem", "not a certificate\n")
        p = self.check("--cert", garbage, "--key", garbage)
        self.assertEqual(p.returncode, 2)
        self.assertIn("no PEM certificate found", p.stderr)

    def test_fleet_secret_files_are_read(self):
        # The fleet is constructed (its secret files read) but not started: no Redis needed.
        missing = os.path.join(self.dir, "absent-password")
        path = self.write("fleet.toml", f'[fleet]\nredis = "redis://127.0.0.1:1"\npassword_file = "{missing}"\n')
        p = self.check("-c", path)
        self.assertEqual(p.returncode, 2)
        self.assertIn("fleet.password_file", p.stderr)
        self.assertIn("No such file or directory", p.stderr)
        wrap = self.write("wrap", "too short\n")
        path = self.write("fleet2.toml", f'[fleet]\nredis = "redis://127.0.0.1:1"\nkey_wrap_file = "{wrap}"\n')
        p = self.check("-c", path)
        self.assertEqual(p.returncode, 2)
        self.assertIn("fleet.key_wrap_file", p.stderr)
        good_wrap = self.write("wrap-ok", os.urandom(32).hex() + "\n")
        path = self.write("fleet3.toml", f'[fleet]\nredis = "redis://127.0.0.1:1"\nkey_wrap_file = "{good_wrap}"\n')
        p = self.check("-c", path)
        self.assertEqual((p.returncode, p.stdout), (0, "configuration OK\n"), p.stderr)



class LibraryLimits(unittest.TestCase):
    """What one listener cannot serve with BoringSSL (docs/tls-libraries.md) is refused by
    --check-config and by start-up alike, naming the host, with exit 2; OpenSSL serves it.
    Each case is a policy a configuration may well ask for."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="tlsresume-limits-")
        self.dir = self.tmp.name
        self.cert, self.key = make_cert(self.dir, "b", "b.example")

    def tearDown(self):
        self.tmp.cleanup()

    def config(self, default_host, host_b):
        path = os.path.join(self.dir, "limits.toml")
        with open(path, "w") as f:
            f.write(f'listen = ["127.0.0.1:{free_port()}"]\nadmin = "127.0.0.1:{free_port()}"\n'
                    f'[default_host]\n{default_host}'
                    f'[[hosts]]\nname = "b"\nserver_names = ["b.example"]\ncert = "{self.cert}"\n'
                    f'key = "{self.key}"\n{host_b}')
        return path

    def judged(self, default_host, host_b, boringssl_refuses):
        """Checks --check-config and start-up on one configuration; returns the error line
        (None when accepted)."""
        path = self.config(default_host, host_b)
        p = run_bin("serve", "--check-config", "-c", path)
        refused = boringssl_refuses if tls_library() == "boringssl" else None
        if refused is None:
            self.assertEqual((p.returncode, p.stdout), (0, "configuration OK\n"), p.stderr)
            return None
        self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
        self.assertEqual(p.stdout, "")
        lines = p.stderr.splitlines()
        self.assertEqual(len(lines), 1, p.stderr)
        self.assertTrue(lines[0].startswith("tlsresume: host "), lines[0])
        for text in refused:
            self.assertIn(text, lines[0])
        self.assertIn("BoringSSL", lines[0])
        # Start-up says the same and starts nothing.
        s = subprocess.run([BIN, "serve", "-c", path], capture_output=True, text=True, timeout=15)
        self.assertEqual((s.returncode, s.stderr), (2, p.stderr))
        return lines[0]

    def test_tls13_psk_modes_any(self):
        self.judged("", 'tls13_psk_modes = "any"\n', boringssl_refuses=['host "b"', 'tls13_psk_modes = "any"', '"dhe"'])
        self.judged('tls13_psk_modes = "dhe"\n', "", boringssl_refuses=None)

    def test_max_resumption_age_over_seven_days(self):
        self.judged('max_resumption_age = "8d"\n', "",
                    boringssl_refuses=['host "default"', "max_resumption_age", "7 days"])
        self.judged('max_resumption_age = "7d"\n', "", boringssl_refuses=None)

    def test_tickets_per_connection_differs_between_hosts(self):
        self.judged("", "tickets_per_connection = 3\n",
                    boringssl_refuses=['host "b"', "tickets_per_connection = 3", 'host "default"', "2"])
        # Set alike on every host (inherited from the default host), it is served.
        self.judged("tickets_per_connection = 3\n", "", boringssl_refuses=None)
        # Only hosts that issue TLS 1.3 tickets must agree.
        self.judged("", 'tickets_per_connection = 3\ntls13_tickets = "off"\n', boringssl_refuses=None)
        self.judged("", "tickets_per_connection = 0\n", boringssl_refuses=None)
        self.judged('tls13_tickets = "off"\n', 'tickets_per_connection = 3\ntls13_tickets = "stateless"\n',
                    boringssl_refuses=None)


if __name__ == "__main__":
    unittest.main()
