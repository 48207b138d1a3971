"""A bad configuration, certificate or port stops `tlsresume serve` before it serves:
exit code 2 within 10 s, exactly one clear line on stderr naming the file or key and the
reason, and nothing left listening. The one exception is a certificate out of its dates:
it is served, with one warning at start (an operator may be replacing it)."""
import os
import re
import shutil
import socket
import tempfile
import time
import tomllib
import unittest

from harness import ROOT, Server, free_port, make_cert, make_cert_with_dates, port_open, run_bin, wait_for


class BadConfig(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="tlsresume-badcfg-")
        cls.a_cert, cls.a_key = make_cert(cls.dir, "a", "a.test")
        cls.b_cert, cls.b_key = make_cert(cls.dir, "b", "b.test")
        cls.garbage = os.path.join(cls.dir, "garbage.pem")
        with open(cls.garbage, "wb") as f:
            f.write(b"this is not a PEM file\n\x00\x01\x02\n")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def write(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def refused(self, *args, config=None, listen_port=None, admin_port=None):
        """Runs `serve` expecting a refusal; returns its single stderr line."""
        listen_port = listen_port or free_port()
        admin_port = admin_port or free_port()
        cmd = ["serve", "--listen", f"127.0.0.1:{listen_port}", "--admin", f"127.0.0.1:{admin_port}", "--workers", "2"]
        if config is not None:
            cmd += ["--config", self.write(f"cfg-{self.id().rsplit('.', 1)[-1]}.toml", config)]
        cmd += list(args)
        start = time.monotonic()
        p = run_bin(*cmd, timeout=10)
        elapsed = time.monotonic() - start
        self.assertEqual(p.returncode, 2, f"exit {p.returncode}; stderr: {p.stderr!r}")
        self.assertLess(elapsed, 10)
        lines = [l for l in p.stderr.splitlines() if l.strip()]
        self.assertEqual(len(lines), 1, f"expected one line on stderr, got: {p.stderr!r}")
        self.assertEqual(p.stdout, "")
        self.occupied = getattr(self, "occupied", set())
        for port in (listen_port, admin_port):
            if port not in self.occupied:
                self.assertFalse(port_open(port), f"something still listens on {port}")
        return lines[0]

    # --- certificates and keys ---
    def test_missing_cert_file(self):
        missing = os.path.join(self.dir, "does-not-exist.crt")
        line = self.refused("--cert", missing, "--key", self.a_key)
        self.assertIn(missing, line)
        self.assertIn("No such file or directory", line)
        self.assertIn('--cert/--key (host "default")', line)

    def test_missing_cert_file_from_config(self):
        missing = os.path.join(self.dir, "nope.crt")
        line = self.refused(config=f'[default_host]\ncert = "{missing}"\nkey = "{self.a_key}"\n')
        self.assertIn(missing, line)
        self.assertIn("No such file or directory", line)
        self.assertIn('.toml: default_host.cert (host "default"): ', line)  # the file, the key, the host

    def test_missing_key_file(self):
        missing = os.path.join(self.dir, "does-not-exist.key")
        line = self.refused("--cert", self.a_cert, "--key", missing)
        self.assertIn(missing, line)
        self.assertIn("No such file or directory", line)

    def test_unreadable_cert_is_a_directory(self):
        # Tests run as root, so chmod 000 would not stop reading: a directory cannot be read.
        line = self.refused("--cert", self.dir, "--key", self.a_key)
        self.assertIn(self.dir, line)
        # The reason must be the OS's, as for a missing file: "read error" alone does not
        # tell the operator what is wrong.
        self.assertIn("Is a directory", line)

    def test_cert_not_pem(self):
        line = self.refused("--cert", self.garbage, "--key", self.a_key)
        self.assertIn(self.garbage, line)
        self.assertIn("no PEM certificate", line)

    def test_key_not_pem(self):
        line = self.refused("--cert", self.a_cert, "--key", self.garbage)
        self.assertIn(self.garbage, line)
        self.assertIn("no PEM private key", line)

    def test_key_does_not_match_cert(self):
        line = self.refused("--cert", self.a_cert, "--key", self.b_key)
        self.assertIn(self.b_key, line)
        self.assertIn(self.a_cert, line)
        self.assertIn("does not match", line)

    def test_key_does_not_match_cert_of_a_virtual_host(self):
        line = self.refused(config=f'[[hosts]]\nserver_names = ["a.test"]\ncert = "{self.a_cert}"\nkey = "{self.b_key}"\n')
        self.assertIn("does not match", line)
        self.assertIn('hosts[0].cert (host "a.test")', line)
        self.assertIn(self.a_cert, line)

    def test_cert_without_key(self):
        line = self.refused("--cert", self.a_cert)
        self.assertIn("--cert", line)
        self.assertIn("--key", line)

    def test_cert_without_key_in_config(self):
        line = self.refused(config=f'[[hosts]]\nserver_names = ["a.test"]\ncert = "{self.a_cert}"\n')
        self.assertIn("hosts[0].key", line)
        self.assertIn("together", line)

    # --- certificates out of date: the one case that warns and still starts ---
    def test_expired_cert_warns_but_starts(self):
        # nginx serves it too, and an operator may be replacing it: one warning, no refusal.
        cert, key = make_cert_with_dates(self.dir, "expired", "exp.test", "20200101000000Z", "20200201000000Z")
        with Server(args=["--cert", cert, "--key", key]) as srv:
            self.assertTrue(srv.alive())
            warnings = [l for l in srv.output().splitlines() if " warn " in l]
            self.assertEqual(len(warnings), 1, srv.output())
            self.assertIn(f"certificate {cert}", warnings[0])
            self.assertIn("expired on 2020-02-01 (notAfter)", warnings[0])
            self.assertIn("clients will refuse it", warnings[0])

    def test_not_yet_valid_cert_of_a_virtual_host_warns_but_starts(self):
        cert, key = make_cert_with_dates(self.dir, "future", "future.test", "20991231000000Z", "21000101000000Z")
        config = f'[[hosts]]\nname = "future"\nserver_names = ["future.test"]\ncert = "{cert}"\nkey = "{key}"\n'
        with Server(config=config) as srv:
            self.assertTrue(srv.alive())
            warnings = [l for l in srv.output().splitlines() if " warn " in l]
            self.assertEqual(len(warnings), 1, srv.output())
            self.assertIn(f'certificate {cert} of host "future"', warnings[0])
            self.assertIn("is not valid before 2099-12-31 (notBefore)", warnings[0])

    def test_expired_intermediate_in_the_chain_warns_but_starts(self):
        # An intermediate that lapses before its leaf takes a site down although the
        # leaf is in date: the warning names the chain member.
        old, _ = make_cert_with_dates(self.dir, "old-int", "Old Intermediate", "20200101000000Z", "20200201000000Z")
        chained = self.write("chained.crt", open(self.a_cert).read() + open(old).read())
        with Server(args=["--cert", chained, "--key", self.a_key]) as srv:
            self.assertTrue(srv.alive())
            warnings = [l for l in srv.output().splitlines() if " warn " in l]
            self.assertEqual(len(warnings), 1, srv.output())
            self.assertIn(f"certificate {chained}", warnings[0])
            self.assertIn('has intermediate "CN=Old Intermediate" that expired on 2020-02-01 (notAfter)', warnings[0])

    def test_cert_in_date_gives_no_warning(self):
        with Server(args=["--cert", self.a_cert, "--key", self.a_key]) as srv:
            self.assertNotIn(" warn ", srv.output())

    # --- the TOML file ---
    def test_missing_config_file(self):
        missing = os.path.join(self.dir, "missing.toml")
        line = self.refused("--config", missing)
        self.assertIn(missing, line)
        self.assertIn("No such file or directory", line)

    def test_config_is_an_empty_directory(self):
        empty = tempfile.mkdtemp(prefix="cfgdir-", dir=self.dir)
        line = self.refused("--config", empty)
        self.assertIn("cannot read config file", line)
        self.assertIn(empty, line)
        self.assertIn("Is a directory", line)

    def test_config_is_a_directory_with_files(self):
        line = self.refused("--config", self.dir)
        self.assertIn(self.dir, line)
        self.assertIn("Is a directory", line)

    def test_bad_toml_syntax(self):
        line = self.refused(config='workers = 2\nlog_level = "info"\n[default_host\n')
        path = os.path.join(self.dir, "cfg-test_bad_toml_syntax.toml")
        self.assertIn(f"{path}:3", line)
        self.assertIn("invalid TOML", line)

    def test_unknown_top_level_key(self):
        line = self.refused(config="workers = 2\nworkerz = 3\n")
        self.assertIn("cfg-test_unknown_top_level_key.toml", line)
        self.assertIn("workerz", line)
        self.assertIn("unknown key", line)

    def test_unknown_host_key(self):
        line = self.refused(config='[[hosts]]\nserver_names = ["a.test"]\nsession_lifetim = "1h"\n')
        self.assertIn("hosts[0].session_lifetim", line)
        self.assertIn("unknown key", line)

    def test_unknown_key_in_default_host(self):
        line = self.refused(config="[default_host]\ntickets = true\n")
        self.assertIn("default_host.tickets", line)
        self.assertIn("unknown key", line)

    def test_wrong_type(self):
        line = self.refused(config='workers = "two"\n')
        self.assertIn("cfg-test_wrong_type.toml", line)
        self.assertIn("workers", line)
        self.assertIn("expected an integer", line)

    def test_wrong_type_boolean(self):
        line = self.refused(config='[default_host]\nsession_ids = "yes"\n')
        self.assertIn("default_host.session_ids", line)
        self.assertIn("true or false", line)

    def test_bad_tls13_tickets(self):
        line = self.refused(config='[default_host]\ntls13_tickets = "sometimes"\n')
        self.assertIn("default_host.tls13_tickets", line)
        self.assertIn('"sometimes"', line)
        self.assertIn("stateful", line)

    def test_session_lifetime_over_seven_days(self):
        line = self.refused(config='[default_host]\nsession_lifetime = "8d"\n')
        self.assertIn("default_host.session_lifetime", line)
        self.assertIn("7d", line)

    def test_key_rotation_over_seven_days(self):
        # Used to abort the process (an exception from the keyring, exit 134).
        line = self.refused(config='[tickets]\nkey_rotation = "8d"\n')
        self.assertIn("tickets.key_rotation", line)
        self.assertIn("at most 7d", line)

    def test_bad_duration_unit(self):
        line = self.refused(config='idle_timeout = "5 minutes"\n')
        self.assertIn("idle_timeout", line)

    def test_absurd_timeout(self):
        # Would overflow nanosecond time points and close every connection at once.
        line = self.refused(config='idle_timeout = "999999999d"\n')
        self.assertIn("idle_timeout", line)
        self.assertIn("at most", line)

    def test_zero_handshake_timeout(self):
        line = self.refused(config='handshake_timeout = 0\n')
        self.assertIn("handshake_timeout", line)
        self.assertIn("at least 1s", line)

    def test_duplicate_server_name(self):
        line = self.refused(config='[[hosts]]\nserver_names = ["a.test"]\n[[hosts]]\nname = "other"\nserver_names = ["A.test"]\n')
        self.assertIn("a.test", line.lower())
        self.assertIn("two hosts", line)

    def test_host_name_with_a_quote(self):
        # A quote in a name used to end the vhost="..." label early and break /metrics.
        line = self.refused(config='[[hosts]]\nname = "q\\"x"\nserver_names = ["a.test"]\n')
        self.assertIn("hosts[0].name", line)
        self.assertIn("letters, digits, '.', '-' and '_'", line)

    def test_host_name_with_a_newline(self):
        # refused() also checks that the message stays on one line.
        line = self.refused(config='[[hosts]]\nname = "a\\nb"\nserver_names = ["a.test"]\n')
        self.assertIn("hosts[0].name", line)
        self.assertIn("a newline is not allowed", line)

    def test_empty_server_name(self):
        # Used to fail inside OpenSSL ("invalid extension string") naming no file, key or host.
        line = self.refused(config='[[hosts]]\nname = "shop"\nserver_names = [""]\n')
        self.assertIn("hosts[0].server_names", line)
        self.assertIn('host "shop"', line)
        self.assertIn("is empty", line)

    def test_server_names_that_can_never_match(self):
        for entry, reason in (("*", "alone"), ("foo.test:443", "no port"), (" sp.test", "a space")):
            with self.subTest(entry=entry):
                line = self.refused(config=f'[[hosts]]\nname = "shop"\nserver_names = ["{entry}"]\n')
                self.assertIn("hosts[0].server_names", line)
                self.assertIn('host "shop"', line)
                self.assertIn(f'"{entry}"', line)
                self.assertIn(reason, line)

    def test_host_without_server_names(self):
        line = self.refused(config='[[hosts]]\nname = "lonely"\n')
        self.assertIn("hosts[0].server_names", line)

    def test_bad_listen_endpoint_in_config(self):
        line = self.refused("--config", self.write("listen.toml", 'listen = ["127.0.0.1"]\n'))
        # --listen on the command line overrides the file, but the file must still be valid
        self.assertIn("listen", line)
        self.assertIn("127.0.0.1", line)

    def test_bad_listen_flag(self):
        line = self.refused("--listen", "127.0.0.1:99999")
        self.assertIn("--listen", line)

    # --- ports ---
    def occupy(self):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        self.addCleanup(s.close)
        port = s.getsockname()[1]
        self.occupied = {port}
        return port

    def test_listen_port_in_use(self):
        port = self.occupy()
        line = self.refused(listen_port=port)
        self.assertIn(f"127.0.0.1:{port}", line)
        self.assertIn("Address already in use", line)

    def test_admin_port_in_use(self):
        port = self.occupy()
        line = self.refused(admin_port=port)
        self.assertIn("admin", line)
        self.assertIn(f"127.0.0.1:{port}", line)
        self.assertIn("Address already in use", line)

    def test_listen_flag_given_twice(self):
        port = free_port()
        line = self.refused("--listen", f"127.0.0.1:{port}", listen_port=port)
        self.assertIn("--listen", line)
        self.assertIn(f"127.0.0.1:{port} is listed twice", line)
        self.assertNotIn("Address already in use", line)

    def test_listen_address_twice_in_config(self):
        port = free_port()
        path = self.write("listen-twice.toml", f'listen = ["127.0.0.1:{port}", "127.0.0.1:{port}"]\n')
        p = run_bin("serve", "--config", path, "--admin", "off", timeout=10)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn(f"{path}: listen: 127.0.0.1:{port} is listed twice", p.stderr)
        self.assertFalse(port_open(port))

    def test_same_port_for_listen_and_admin(self):
        port = free_port()
        line = self.refused(listen_port=port, admin_port=port)
        self.assertIn("Address already in use", line)

    # --- --workers: 0 means what workers = 0 means in the file ---
    def test_workers_zero_means_number_of_cores(self):
        with Server(workers=0) as srv:
            self.assertTrue(srv.alive(), srv.output())
            # The line comes once the server is fully up, a little after its ports open
            # (later still under the sanitizers).
            self.assertTrue(wait_for(lambda: "worker(s)" in srv.output(), timeout=10), srv.output())
            self.assertIn(f"with {os.cpu_count()} worker(s)", srv.output())

    def test_workers_help_says_what_zero_means(self):
        p = run_bin("serve", "--help")
        self.assertEqual(p.returncode, 0)
        self.assertRegex(p.stdout, r"--workers[^\n]*\n?[^\n]*0 = number of cores")

    def test_workers_over_256(self):
        p = run_bin("serve", "--workers", "257", "--admin", "off", timeout=10)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("--workers", p.stderr)
        self.assertIn("257", p.stderr)

    # --- the documentation names the keys the loader takes ---
    def documented_example(self):
        """docs/configuration.md: its text, and its TOML example with usable certificates."""
        with open(os.path.join(ROOT, "docs", "configuration.md")) as f:
            text = f.read()
        example = re.search(r"```toml\n(.*?)```", text, re.S).group(1)
        example = re.sub(r'"/etc/tls/\w+\.crt"', f'"{self.a_cert}"', example)
        example = re.sub(r'"/etc/tls/\w+\.key"', f'"{self.a_key}"', example)
        return text, example

    def test_documented_example_is_accepted(self):
        _, example = self.documented_example()
        with Server(config=example) as srv:
            self.assertTrue(srv.alive(), srv.output())

    def test_every_key_the_docs_name_is_a_key_of_the_example(self):
        # The defaults table said `ticket_key_rotation`; the key is [tickets] key_rotation.
        text, example = self.documented_example()
        paths = set()
        for section, value in tomllib.loads(example).items():
            paths.add(section)
            for table in value if isinstance(value, list) else [value]:
                if isinstance(table, dict):
                    for key in table:
                        paths.update({f"{section}.{key}", key} if section in ("default_host", "hosts")
                                     else {f"{section}.{key}"})
        named = {t for t in re.findall(r"`([a-z][a-z0-9_.]*)`", text) if "_" in t or "." in t}
        self.assertFalse(named - paths, f"named in docs/configuration.md but not keys: {sorted(named - paths)}")

    def test_good_config_still_starts(self):
        # The control case: the same harness around a valid file does start.
        with Server(config=f'workers = 1\n[default_host]\ncert = "{self.a_cert}"\nkey = "{self.a_key}"\n') as srv:
            self.assertTrue(srv.alive())
            self.assertTrue(port_open(srv.port))


if __name__ == "__main__":
    unittest.main()
