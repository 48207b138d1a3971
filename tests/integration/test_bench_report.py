"""The bench report answers the question plainly: it opens with what to enable per
deployment, draws CPU per handshake first, measures stateful TLS 1.3 tickets on nginx and
HAProxy too, and README's table regenerates from a bench JSON (scripts/readme_table.py)."""
import json
import os
import subprocess
import sys
import tempfile
import unittest

from harness import BIN

NGINX = "/usr/sbin/nginx"
HAPROXY = "/usr/sbin/haproxy"
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SCRIPT = os.path.join(ROOT, "scripts", "readme_table.py")
SCRATCH = tempfile.TemporaryDirectory(prefix="tlsresume-bench-report-it-")


def tearDownModule():
    SCRATCH.cleanup()


def bench(*args, timeout=200):
    env = dict(os.environ, TMPDIR=SCRATCH.name)
    return subprocess.run([BIN, "bench", *args], capture_output=True, text=True, timeout=timeout, env=env)


class ReportOpensWithWhatToEnable(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.report = os.path.join(cls.tmp.name, "report")
        cls.json = os.path.join(cls.tmp.name, "bench.json")
        cls.bench_run = bench("--target", "self", "--cert-type", "both", "--scenarios",
                        "full-tls12,session-id,full-tls13,ticket-tls13,stateful-ticket", "--count", "60",
                        "--concurrency", "4", "--json", cls.json, "--report", cls.report)
        with open(cls.json) as f:
            cls.doc = json.load(f)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_it_opens_with_one_line_per_deployment(self):
        self.assertEqual(self.bench_run.returncode, 0, self.bench_run.stderr)
        with open(os.path.join(self.report, "index.md")) as f:
            text = f.read()
        head = text.split("## What to enable\n\n", 1)
        self.assertEqual(len(head), 2, text[:300])
        self.assertNotIn("## ", head[0].split("\n", 1)[1])  # nothing but the title before it
        lines = [l for l in head[1].split("\n\n", 1)[0].splitlines() if l.startswith("- ")]
        self.assertEqual(len(lines), 3, lines)
        self.assertTrue(lines[0].startswith("- **One server"))
        self.assertRegex(lines[0], r"session ids: \d+% less CPU with ECDSA P-256 \([\d.]+×\), \d+% less CPU with "
                                   r"RSA-2048")
        self.assertIn("ssl_session_tickets off", lines[0])
        self.assertIn("no-tls-tickets", lines[0])
        self.assertIn("not measured in this run (tlsresume bench --target self,fleet", lines[1])
        self.assertIn("not measured in this run (tlsresume bench --target self,fleet", lines[2])
        # CPU per handshake is the first chart, and the RSA conclusion is there.
        charts = [l for l in text.splitlines() if l.startswith("![")]
        if charts:
            self.assertIn("(cpu.svg)", charts[0])
        self.assertIn("With RSA-2048 on self", text)

    def test_json_says_when(self):
        self.assertRegex(self.doc["measured_at"], r"^\d{4}-\d\d-\d\d \d\d:\d\d UTC$")
        self.assertEqual(self.doc["versions"], {})  # no peer in this run

    def test_readme_table_follows_from_the_json(self):
        with tempfile.NamedTemporaryFile("w", suffix=".md", delete=False) as f:
            f.write("intro\n<!-- bench-table:begin -->\nold\n<!-- bench-table:end -->\nafter\n")
            readme = f.name
        try:
            run = subprocess.run([sys.executable, SCRIPT, "--json", self.json, "--readme", readme],
                                 capture_output=True, text=True)
            self.assertEqual(run.returncode, 0, run.stderr)
            with open(readme) as f:
                text = f.read()
            self.assertTrue(text.startswith("intro\n<!-- bench-table:begin"))
            self.assertTrue(text.endswith("<!-- bench-table:end -->\nafter\n"))
            self.assertNotIn("\nold\n", text)
            cpu = {(c["cert"], c["scenario"]): round(c["server_cpu_us_per_handshake"]) for c in self.doc["cells"]}
            a, b = cpu[("ecdsa", "full-tls12")], cpu[("ecdsa", "session-id")]
            # The ratio quoted is the one the table's own figures give.
            self.assertIn(f"session-id {a / b:.2f}× ({a}/{b})", text)
            self.assertIn(f"| self | ecdsa | session-id | TLSv1.2 |", text)
            check = subprocess.run([sys.executable, SCRIPT, "--json", self.json, "--readme", readme, "--check"],
                                   capture_output=True, text=True)
            self.assertEqual(check.returncode, 0, check.stderr)
            with open(readme) as f:
                edited = f.read().replace(f"({a}/{b})", f"({a}/{b + 1})")
            with open(readme, "w") as f:
                f.write(edited)
            check = subprocess.run([sys.executable, SCRIPT, "--json", self.json, "--readme", readme, "--check"],
                                   capture_output=True, text=True)
            self.assertEqual(check.returncode, 1)
            self.assertIn("make readme-table", check.stderr)
        finally:
            os.unlink(readme)


class StatefulTicketsOnPeers(unittest.TestCase):
    def run_peer(self, name, binary):
        if not os.access(binary, os.X_OK):
            self.skipTest(f"{name} not installed at {binary}")
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, f"{name}.json")
            run = bench("--target", name, "--scenarios", "ticket-tls13,stateful-ticket", "--count", "60",
                        "--concurrency", "4", "--json", path)
            self.assertEqual(run.returncode, 0, run.stderr)
            with open(path) as f:
                doc = json.load(f)
        cells = {c["scenario"]: c for c in doc["cells"]}
        stateful = cells["stateful-ticket"]
        self.assertNotIn("skipped_reason", stateful)
        self.assertEqual(stateful["resumed_ratio"], 1, stateful)
        # A stateful ticket names a session the server keeps: far shorter than a sealed one.
        self.assertLess(stateful["ticket_bytes"], cells["ticket-tls13"]["ticket_bytes"] / 2)
        self.assertTrue(doc["versions"][name])
        self.assertIn(f"{name} {doc['versions'][name]} security:", run.stdout)

    def test_nginx_with_session_tickets_off(self):
        self.run_peer("nginx", NGINX)

    def test_haproxy_with_no_tls_tickets(self):
        self.run_peer("haproxy", HAPROXY)


if __name__ == "__main__":
    unittest.main()
