"""scripts/install-deps.sh against stand-ins for dpkg-query, apt-get, systemctl and
service (nothing is installed or stopped for real): it installs only what is missing, and
stops only the services it has just installed, never one that was there before."""
import os
import shutil
import subprocess
import tempfile
import unittest

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts", "install-deps.sh")

STUB = """#!/bin/bash
echo "$(basename "$0") $*" >> "$STUB_LOG"
"""
DPKG_QUERY = """#!/bin/bash
# dpkg-query -W -f='${Status}' PACKAGE: installed if listed in $INSTALLED.
pkg="${@: -1}"
for p in $INSTALLED; do
  if [ "$p" = "$pkg" ]; then printf 'install ok installed'; exit 0; fi
done
exit 1
"""


class InstallDeps(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="tlsresume-deps-")
        self.addCleanup(shutil.rmtree, self.dir)
        self.log = os.path.join(self.dir, "calls.log")
        bin_dir = os.path.join(self.dir, "bin")
        os.mkdir(bin_dir)
        for name, text in (("apt-get", STUB), ("systemctl", STUB), ("service", STUB), ("dpkg-query", DPKG_QUERY),
                           ("id", "#!/bin/bash\necho 0\n")):
            path = os.path.join(bin_dir, name)
            with open(path, "w") as f:
                f.write(text)
            os.chmod(path, 0o755)
        os.symlink(shutil.which("grep"), os.path.join(bin_dir, "grep"))
        os.symlink(shutil.which("basename"), os.path.join(bin_dir, "basename"))
        self.path = bin_dir  # nothing else: no real apt-get, systemctl or service is reachable

    def packages(self):
        with open(SCRIPT) as f:
            text = f.read()
        block = text.split("packages=(", 1)[1].split("\n)", 1)[0]
        return [w for line in block.splitlines() for w in line.split("#", 1)[0].split()]

    def run_script(self, installed):
        env = {"PATH": self.path, "STUB_LOG": self.log, "INSTALLED": " ".join(installed)}
        p = subprocess.run(["/bin/bash", SCRIPT], env=env, capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        calls = open(self.log).read().splitlines() if os.path.exists(self.log) else []
        stopped = sorted({c.split()[-1] if c.startswith("systemctl") else c.split()[1]
                          for c in calls if c.startswith(("systemctl stop", "service "))})
        installs = [c for c in calls if c.startswith("apt-get install")]
        return stopped, installs

    def test_a_service_that_was_installed_before_is_not_stopped(self):
        # nginx and HAProxy were there (perhaps serving); Redis and valgrind were missing.
        present = [p for p in self.packages() if p not in ("redis-server", "valgrind")] + ["nginx-common"]
        stopped, installs = self.run_script(present)
        self.assertEqual(len(installs), 1)
        self.assertTrue(installs[0].endswith(" redis-server valgrind"), installs)
        self.assertEqual(stopped, ["redis-server"])

    def test_installing_something_else_stops_nothing(self):
        present = [p for p in self.packages() if p != "valgrind"] + ["nginx-common"]
        stopped, installs = self.run_script(present)
        self.assertEqual(len(installs), 1)
        self.assertEqual(stopped, [])

    def test_services_it_installs_are_stopped(self):
        stopped, installs = self.run_script([])
        self.assertEqual(len(installs), 1)
        self.assertEqual(stopped, ["haproxy", "nginx", "redis-server"])

    def test_nothing_missing_means_nothing_done(self):
        stopped, installs = self.run_script(self.packages() + ["nginx-common"])
        self.assertEqual((stopped, installs), ([], []))


if __name__ == "__main__":
    unittest.main()
