"""`tlsresume bench --target fleet` end to end: a redis-server and three of our servers
sharing it, started by the bench; every resumption is made on another server than the one
that issued the session, and resumes all the same. The JSON carries the fleet's figures:
lookups served by Redis for session ids, Redis's own CPU per resumption. The figures'
sizes are not judged here, only that they are there (one cell of 1 s per scenario; the
file takes about 20 s on 2 cores)."""
import json
import os
import subprocess
import tempfile
import unittest

from harness import BIN

REDIS_SERVER = "/usr/bin/redis-server"


def bench(scratch, *args, timeout=120):
    # The bench makes its own scratch directory under $TMPDIR: ours, removed afterwards.
    env = dict(os.environ, TMPDIR=scratch)
    return subprocess.run([BIN, "bench", *args], capture_output=True, text=True, timeout=timeout, env=env,
                          cwd=scratch)


@unittest.skipUnless(os.access(REDIS_SERVER, os.X_OK), "redis-server not installed (apt-get install redis-server)")
class BenchFleet(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.scratch = tempfile.TemporaryDirectory(prefix="tlsresume-bench-fleet-it-")
        cls.run_result = bench(cls.scratch.name, "--target", "fleet", "--scenarios", "session-id,ticket-tls13",
                               "--duration", "1", "--json", "out.json")
        path = os.path.join(cls.scratch.name, "out.json")
        cls.doc = json.load(open(path)) if os.path.exists(path) else None

    @classmethod
    def tearDownClass(cls):
        cls.scratch.cleanup()

    def cell(self, scenario):
        self.assertIsNotNone(self.doc, self.run_result.stderr)
        cells = [c for c in self.doc["cells"] if c["target"] == "fleet" and c["scenario"] == scenario]
        self.assertEqual(len(cells), 1, self.doc["cells"])
        return cells[0]

    def test_exits_zero(self):
        self.assertEqual(self.run_result.returncode, 0, self.run_result.stdout + self.run_result.stderr)
        self.assertIn("Fleet: 3 servers", self.run_result.stdout)
        self.assertEqual(self.doc["settings"]["fleet_size"], 3)

    def test_resumes_on_other_servers(self):
        for scenario in ("session-id", "ticket-tls13"):
            c = self.cell(scenario)
            self.assertGreater(c["resumed_ratio"], 0.9, c)
            f = c["fleet"]
            self.assertEqual(f["nodes"], 3)
            self.assertEqual(f["resumed_on_issuer"], 0, f)
            self.assertEqual(len(f["handshakes_per_node"]), 3)
            self.assertTrue(all(n > 0 for n in f["handshakes_per_node"]), f)
            self.assertEqual(len(f["node_cpu_us"]), 3)
            self.assertIsNotNone(c["server_cpu_us_per_handshake"])

    def test_session_ids_are_looked_up_in_redis(self):
        f = self.cell("session-id")["fleet"]
        self.assertGreater(f["lookups"]["hit"], 0, f)
        self.assertIsNotNone(f["lookup_us"], f)
        self.assertGreater(f["redis_commands"].get("get", 0), 0, f)

    def test_redis_cpu_per_resumption(self):
        for scenario in ("session-id", "ticket-tls13"):
            f = self.cell(scenario)["fleet"]
            self.assertIsNotNone(f["redis_cpu_us"], f)
            self.assertIsNotNone(f["redis_cpu_us_per_resumed"], f)
            self.assertGreaterEqual(f["redis_cpu_us_per_resumed"], 0)
            self.assertIsNotNone(f["redis_used_memory"], f)


class BenchFleetUsage(unittest.TestCase):
    def test_fleet_size_needs_the_fleet_target(self):
        with tempfile.TemporaryDirectory(prefix="tlsresume-bench-fleet-it-") as d:
            r = bench(d, "--target", "self", "--fleet-size", "4", "--count", "10")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("--fleet-size", r.stderr)

    def test_fleet_size_range(self):
        with tempfile.TemporaryDirectory(prefix="tlsresume-bench-fleet-it-") as d:
            r = bench(d, "--target", "fleet", "--fleet-size", "1", "--count", "10")
        self.assertEqual(r.returncode, 2, r.stderr)


if __name__ == "__main__":
    unittest.main()
