"""Sustained mixed load against the real binary: full and resumed handshakes, TLS 1.2 and
1.3, for TLSRESUME_LOAD_SECONDS (default 60) in all. Zero unexpected failures, every
resumption resumes, and memory is stable: RSS is reported at start, middle and end."""
import json
import os
import subprocess
import tempfile
import threading
import time
import unittest

from harness import BIN, Server

SECONDS = float(os.environ.get("TLSRESUME_LOAD_SECONDS", "60"))
SCENARIOS = ["full-tls12", "full-tls13", "session-id", "ticket-tls12", "ticket-tls13", "mix"]


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class SustainedLoadTest(unittest.TestCase):
    def test_mixed_load_has_no_failures_and_stable_memory(self):
        per_cell = max(1.0, SECONDS / len(SCENARIOS))
        with Server(workers=2) as server, tempfile.TemporaryDirectory() as tmp:
            samples = []
            stop = threading.Event()

            def sample():
                while not stop.is_set():
                    samples.append((time.time(), rss_kib(server.proc.pid)))
                    stop.wait(1.0)

            sampler = threading.Thread(target=sample)
            sampler.start()
            out = os.path.join(tmp, "load.json")
            try:
                p = subprocess.run([BIN, "bench", "-t", f"127.0.0.1:{server.port}", "--server-pid", str(server.proc.pid),
                                    "-s", ",".join(SCENARIOS), "-d", str(per_cell), "--json", out],
                                   capture_output=True, text=True, timeout=SECONDS * 3 + 120)
            finally:
                stop.set()
                sampler.join()
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            with open(out) as f:
                cells = json.load(f)["cells"]
            self.assertEqual(len(cells), len(SCENARIOS))
            total = 0
            for cell in cells:
                total += cell["handshakes"]
                self.assertGreater(cell["handshakes"], 0, cell)
                self.assertEqual(cell.get("errors", 0), 0, f"unexpected failures in {cell['scenario']}: {cell}")
                if cell["scenario"] not in ("full-tls12", "full-tls13"):
                    self.assertEqual(cell["resumed_ratio"], 1.0, cell)
            start, middle, end = samples[1][1], samples[len(samples) // 2][1], samples[-1][1]
            failed = sum(v for k, v in server.metrics().items()
                         if k.startswith("tlsresume_handshakes_total{") and 'kind="failed"' in k)
            print(f"\nload: {total} handshakes in {len(SCENARIOS)} scenarios x {per_cell:.0f}s; "
                  f"server RSS start {start} KiB, middle {middle} KiB, end {end} KiB; failed handshakes {int(failed)}")
            self.assertEqual(failed, 0)
            # Stable: the second half of the run may not keep growing (sessions are bounded
            # by the store budget, connections are closed).
            self.assertLess(end, middle * 1.25 + 4096, f"RSS still growing: {samples}")


if __name__ == "__main__":
    unittest.main()
