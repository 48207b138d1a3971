"""Runs integration test files (or single tests: test_bench.BenchErrors) as one ctest entry,
so that a skipped test is not reported as a passed one.

    run_tests.py test_bench [test_faults.Class.test_name ...]

Exit codes:
  0   every test ran and passed;
  1   a test failed or errored (whatever else was skipped), or nothing ran;
  77  every test that ran passed but some were skipped: ctest's SKIP_RETURN_CODE, so its
      summary says "Skipped" rather than "Passed". A file where some tests ran and others
      were skipped is reported as skipped too: one ctest entry per file has one status, and
      "Passed" would hide the skip. The reasons are printed last, with how many ran.

With CI set (.ci/run sets it), a skip is a failure unless its reason is in CI_ALLOWED_SKIPS:
CI runs as root and installs every package the tests use, so a test that skips there for
want of root, nginx, HAProxy, /dev/full or descriptors has lost its coverage silently.
"""
import os
import re
import sys
import unittest

SKIPPED_EXIT = 77

# Skips whose reason can hold in CI itself: (file, reason pattern).
CI_ALLOWED_SKIPS = [
    # `make sanitize` runs every file again on the ASan build, under which valgrind cannot
    # run; the plain build's run (`make test`) covers the profile.
    ("test_profile", r"valgrind cannot run a sanitizer build"),
    # `make sanitize` again: UBSan cannot check types while the process has no descriptor
    # left; the plain build's run covers running out of descriptors.
    ("test_resource_limits", r"UBSan's vptr check probes memory with pipe\(\)"),
    # A test whose question does not arise on the build's TLS library (harness.only_on):
    # it holds on every machine, and the other library's build runs the test.
    (r"test_\w+", r"^not on this TLS library \("),
]


def allowed_in_ci(test, reason):
    # test.id() is "test_profile.Class.test" (or "setUpClass (test_profile.Class)").
    return any(re.search(rf"\b{file}\.", test.id()) and re.search(pattern, reason)
               for file, pattern in CI_ALLOWED_SKIPS)


def main(names):
    if not names:
        print(__doc__, file=sys.stderr)
        return 2
    suite = unittest.defaultTestLoader.loadTestsFromNames(names)
    result = unittest.TextTestRunner(verbosity=2).run(suite)
    if not result.wasSuccessful():
        return 1
    if result.testsRun == 0:
        print("run_tests: no test ran", file=sys.stderr)
        return 1
    if not result.skipped:
        return 0
    ran = result.testsRun - len(result.skipped)
    print(f"\nrun_tests: {len(result.skipped)} of {result.testsRun} skipped ({ran} ran and passed):", file=sys.stderr)
    for test, reason in result.skipped:
        print(f"  SKIPPED {test.id()}: {reason}", file=sys.stderr)
    if os.environ.get("CI"):
        refused = [(t, r) for t, r in result.skipped if not allowed_in_ci(t, r)]
        if refused:
            print(f"run_tests: CI is set and {len(refused)} skip(s) cannot apply in CI (root, every package "
                  "installed): failing", file=sys.stderr)
            return 1
    return SKIPPED_EXIT


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
