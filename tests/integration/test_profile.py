"""bench/handshake_profile.py end to end against the real binary under valgrind and strace:
it counts rather than times, so its figures can be checked for sense, not only presence.
A small count keeps the file around a minute on 2 cores."""
import json
import os
import subprocess
import sys
import tempfile
import unittest

from harness import BIN, ROOT

SCRIPT = os.path.join(ROOT, "bench", "handshake_profile.py")


@unittest.skipIf(os.environ.get("TLSRESUME_SANITIZE"),
                 "valgrind cannot run a sanitizer build; the plain build's run covers the profile")
class HandshakeProfile(unittest.TestCase):
    def test_counts_instructions_and_syscalls_per_handshake(self):
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "profile.json")
            p = subprocess.run([sys.executable, SCRIPT, "-s", "session-id", "-n", "300", "--json", out],
                               env=dict(os.environ, TLSRESUME_BIN=BIN), capture_output=True, text=True, timeout=600)
            self.assertEqual(p.returncode, 0, p.stderr)
            with open(out) as f:
                data = json.load(f)
        self.assertEqual(data["count"], 300)
        (row,) = data["rows"]
        self.assertEqual((row["server"], row["scenario"]), ("self", "session-id"))
        ins = row["instructions"]
        # A resumed TLS 1.2 handshake is a few hundred thousand instructions, nearly all of
        # them OpenSSL's: far fewer means the subtraction of the idle run went wrong, far
        # more means start-up leaked into the figure.
        self.assertGreater(ins["per_handshake"], 100_000)
        self.assertLess(ins["per_handshake"], 2_000_000)
        self.assertAlmostEqual(sum(ins["share"].values()), 100.0, delta=0.5)
        self.assertGreater(ins["share"]["libcrypto"], ins["share"]["ours"])
        self.assertGreater(ins["share"]["ours"], 0.0)
        calls = row["syscalls"]
        # At least accept, read, write and close per connection.
        self.assertGreaterEqual(calls["per_connection"], 4)
        for name in ("accept4", "read", "write", "close"):
            self.assertGreaterEqual(calls["calls"].get(name, 0), 0.9, (name, calls))
        # SYN, SYN-ACK, ACK, two flights each way and the closing FINs: at least 8 segments.
        # Only a lower bound: tests running beside this one add their own TCP traffic.
        self.assertGreaterEqual(row["segments_per_connection"], 8)
        self.assertIn("instr/hs", p.stdout)

    def test_missing_binary_is_a_clear_error(self):
        p = subprocess.run([sys.executable, SCRIPT, "-n", "10"], env=dict(os.environ, TLSRESUME_BIN="/nonexistent"),
                           capture_output=True, text=True, timeout=60)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("not built", p.stderr)


if __name__ == "__main__":
    unittest.main()
