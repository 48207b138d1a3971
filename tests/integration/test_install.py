"""It installs as a service: `cmake --install` lays out bin/, tlsresume(1) (generated from
--help), the example config (every key the loader takes) and the systemd unit, which
`systemd-analyze verify` accepts; the server tells systemd READY=1 once it serves and
STOPPING=1 when it drains (Type=notify)."""
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import unittest

from harness import BIN, ROOT, Server, free_port, run_bin, wait_port

BUILD = os.environ.get("TLSRESUME_BUILD_DIR") or os.path.dirname(os.path.abspath(BIN))


def config_keys():
    """Every key config.cpp accepts, from its allowOnly lists."""
    with open(os.path.join(ROOT, "src", "server", "config.cpp")) as f:
        src = f.read()
    keys = set()
    for block in re.findall(r"std::array<std::string_view, \d+>\s*(?:k\w+\s*=\s*)?\{([^}]*)\}", src):
        keys.update(re.findall(r'"([a-z0-9_]+)"', block))
    return keys


class Install(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.path.exists(os.path.join(BUILD, "CMakeCache.txt")):
            raise unittest.SkipTest(f"no CMake build directory at {BUILD} (set TLSRESUME_BUILD_DIR)")
        cls.tmp = tempfile.TemporaryDirectory(prefix="tlsresume-install-")
        cls.prefix = os.path.join(cls.tmp.name, "usr")
        # The man page target is part of ALL; build it in case only the binary was built.
        subprocess.run(["cmake", "--build", BUILD, "--target", "manpage"], check=True, capture_output=True, timeout=300)
        p = subprocess.run(["cmake", "--install", BUILD, "--prefix", cls.prefix], capture_output=True, text=True,
                           timeout=120)
        assert p.returncode == 0, p.stdout + p.stderr
        cls.unit = os.path.join(cls.prefix, "lib", "systemd", "system", "tlsresume.service")

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_layout(self):
        binary = os.path.join(self.prefix, "bin", "tlsresume")
        self.assertTrue(os.access(binary, os.X_OK))
        for path in ("share/man/man1/tlsresume.1", "share/doc/tlsresume/examples/tlsresume.toml.example",
                     "lib/systemd/system/tlsresume.service"):
            self.assertTrue(os.path.isfile(os.path.join(self.prefix, path)), path)
        p = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10)
        self.assertEqual(p.returncode, 0)

    def test_man_page_covers_every_subcommand_and_flag(self):
        with open(os.path.join(self.prefix, "share/man/man1/tlsresume.1")) as f:
            page = f.read()
        self.assertTrue(page.startswith(".TH TLSRESUME 1"))
        for section in (".SH SERVE", ".SH CTL", ".SS ctl revoke", ".SS ctl rotate", ".SH BENCH"):
            self.assertIn(section, page)
        plain = page.replace("\\-", "-")
        for flag in re.findall(r"--[a-z][a-z-]+", run_bin("serve", "--help").stdout):
            self.assertIn(flag, plain)
        self.assertNotIn(BUILD, page)  # "Usage: tlsresume", not the build path
        if shutil.which("man"):
            p = subprocess.run(["man", "-l", os.path.join(self.prefix, "share/man/man1/tlsresume.1")],
                               capture_output=True, text=True, timeout=30, env=dict(os.environ, MANWIDTH="100"))
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn("--check-config", p.stdout.replace("‐", "-"))

    def test_example_names_every_key_and_checks_ok(self):
        example = os.path.join(self.prefix, "share/doc/tlsresume/examples/tlsresume.toml.example")
        with open(example) as f:
            text = f.read()
        named = set(re.findall(r"^# ([a-z0-9_]+) = ", text, re.M)) | set(re.findall(r"^# \[+([a-z_]+)\]+", text, re.M))
        missing = config_keys() - named
        self.assertFalse(missing, f"keys config.cpp takes that the example does not show: {sorted(missing)}")
        p = run_bin("serve", "--check-config", "-c", example)
        self.assertEqual((p.returncode, p.stdout), (0, "configuration OK\n"), p.stderr)

    def test_unit(self):
        with open(self.unit) as f:
            unit = f.read()
        binary = os.path.join(self.prefix, "bin", "tlsresume")
        self.assertIn(f"ExecStart={binary} serve --config", unit)
        for line in ("Type=notify", "ExecReload=/bin/kill -HUP $MAINPID", "NoNewPrivileges=yes",
                     "ProtectSystem=strict", "PrivateTmp=yes", "CapabilityBoundingSet=CAP_NET_BIND_SERVICE",
                     "AmbientCapabilities=CAP_NET_BIND_SERVICE", "LimitNOFILE=1048576", "LimitCORE=0",
                     "MemoryDenyWriteExecute=yes", "DynamicUser=yes"):
            self.assertRegex(unit, rf"(?m)^{re.escape(line)}$")

    def test_systemd_analyze_verify(self):
        tool = shutil.which("systemd-analyze")
        if not tool:
            self.skipTest("systemd-analyze is not installed (Debian package systemd)")
        # The installed unit: its ExecStart exists, and MANPATH lets the man:tlsresume(1)
        # reference resolve to the page installed beside it.
        env = dict(os.environ, MANPATH=os.path.join(self.prefix, "share", "man"))
        p = subprocess.run([tool, "verify", self.unit], capture_output=True, text=True, timeout=60, env=env)
        if p.returncode != 0 and re.search(r"Failed to (initialize|allocate) manager|Operation not permitted",
                                           p.stderr):
            self.skipTest(f"systemd-analyze cannot run in this container: {p.stderr.strip()}")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(p.stderr.strip(), "")
        # The file in packaging/ differs only in ExecStart's directory.
        with open(os.path.join(ROOT, "packaging", "tlsresume.service")) as f:
            source = f.read()
        with open(self.unit) as f:
            self.assertEqual(f.read(), source.replace("/usr/bin/tlsresume", os.path.join(self.prefix, "bin", "tlsresume")))


class Notify(unittest.TestCase):
    def test_ready_then_stopping(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "notify")
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            sock.bind(path)
            sock.settimeout(10)
            port = free_port()
            proc = subprocess.Popen([BIN, "serve", "--listen", f"127.0.0.1:{port}", "--admin", "off", "-w", "1"],
                                    env=dict(os.environ, NOTIFY_SOCKET=path), stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
            try:
                self.assertEqual(sock.recv(4096), b"READY=1")
                self.assertTrue(wait_port(port))  # ready means serving
                proc.send_signal(signal.SIGTERM)
                self.assertEqual(sock.recv(4096), b"STOPPING=1")
                self.assertEqual(proc.wait(timeout=15), 0)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
                sock.close()


if __name__ == "__main__":
    unittest.main()
