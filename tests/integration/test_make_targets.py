"""What the Makefile's targets would run (make -n: nothing is built or installed)."""
import os
import subprocess
import tempfile
import unittest

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


def dry_run(target, build_dir):
    p = subprocess.run(["make", "-n", "-C", ROOT, target, f"BUILD={build_dir}"], capture_output=True, text=True,
                       timeout=30)
    if p.returncode != 0:
        raise AssertionError(p.stderr)
    return p.stdout.splitlines()


class MakeTargets(unittest.TestCase):
    def test_demo_builds_only_the_server_binary(self):
        # The demo runs build/tlsresume alone: the unit tests and micro-benchmarks are not
        # its business (minutes of compiling on a fresh 2-core machine).
        with tempfile.TemporaryDirectory(prefix="tlsresume-make-") as build:
            lines = dry_run("demo", build)
        builds = [line for line in lines if line.startswith("cmake --build")]
        self.assertEqual(len(builds), 1, lines)
        self.assertTrue(builds[0].endswith("--target tlsresume"), builds[0])
        self.assertIn(f"bash scripts/demo.sh {build}/tlsresume", lines)

    def test_build_still_builds_everything(self):
        with tempfile.TemporaryDirectory(prefix="tlsresume-make-") as build:
            builds = [line for line in dry_run("build", build) if line.startswith("cmake --build")]
        self.assertEqual(len(builds), 1)
        self.assertNotIn("--target", builds[0])


if __name__ == "__main__":
    unittest.main()
