"""`tlsresume bench` names each server's TLS library, measures our server built with the
other library beside this one (self-boringssl / self-openssl, --other-build), and splits a
handshake's CPU into the TCP floor (tcp-floor: the same load without TLS), the library's
in-memory floor and the rest, with the aims checked against those figures.

The other build is the binary named by TLSRESUME_OTHER_BIN, else build-boringssl/tlsresume
(or build/tlsresume when the binary under test is the BoringSSL one); the tests that need it
skip, saying how to build it, when it is missing. Counts are small: figures are checked for
presence and consistency, never for speed."""
import json
import os
import subprocess
import tempfile
import unittest

from harness import BIN, ROOT, tls_library

SCRATCH = tempfile.TemporaryDirectory(prefix="tlsresume-bench-libraries-it-")
NGINX = "/usr/sbin/nginx"
SMALL = ["--count", "150", "--concurrency", "4"]


def tearDownModule():
    SCRATCH.cleanup()


def bench(*args, timeout=240):
    env = dict(os.environ, TMPDIR=SCRATCH.name)
    return subprocess.run([BIN, "bench", *args], capture_output=True, text=True, timeout=timeout, env=env)


def other_library():
    return "openssl" if tls_library() == "boringssl" else "boringssl"


def other_bin():
    default = os.path.join(ROOT, "build" if other_library() == "openssl" else "build-boringssl", "tlsresume")
    return os.environ.get("TLSRESUME_OTHER_BIN") or default


def library_of(binary):
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=15).stdout.strip()
    return out[out.index(" (") + 2:-1]


def short(library):
    words = library.split()
    return " ".join(words[:2]) if len(words) > 1 and words[1][:1].isdigit() else words[0]


def run_json(test, *args):
    out = tempfile.TemporaryDirectory(dir=SCRATCH.name)
    test.addCleanup(out.cleanup)
    path = os.path.join(out.name, "bench.json")
    report = os.path.join(out.name, "report")
    run = bench(*args, "--json", path, "--report", report)
    test.assertEqual(run.returncode, 0, run.stderr)
    with open(path) as f:
        doc = json.load(f)
    with open(os.path.join(report, "index.md")) as f:
        return run, doc, f.read()


def cell(doc, target, scenario):
    return next(c for c in doc["cells"] if c["target"] == target and c["scenario"] == scenario)


class TcpFloorAndTheSplit(unittest.TestCase):
    """Ours and the TCP floor in one run, with the library's floor."""

    @classmethod
    def setUpClass(cls):
        cls.holder = unittest.TestCase()
        cls.run_, cls.doc, cls.md = run_json(cls.holder, "--target", "self,tcp-floor", "--scenarios",
                                             "full-tls13,session-id,ticket-tls13,stateful-ticket", *SMALL, "--floor")

    def test_the_tcp_floor_is_measured_like_a_server_without_tls(self):
        for scenario in ("full-tls13", "session-id", "ticket-tls13", "stateful-ticket"):
            c = cell(self.doc, "tcp-floor", scenario)
            self.assertEqual(c["protocol"], "TCP", c)
            self.assertEqual(c["handshakes"], 150, c)  # one per connection established
            self.assertEqual(c["errors"], 0, c)
            self.assertIsNone(c["resumed_ratio"], c)  # nothing to resume
            self.assertIsNone(c["floor_server_cpu_us"], c)  # no library to set it against
            self.assertGreater(c["server_cpu_us_per_handshake"], 0, c)
            # A connection without TLS costs the server less than one with it.
            self.assertLess(c["server_cpu_us_per_handshake"], cell(self.doc, "self", scenario)["server_cpu_us_per_handshake"])
        self.assertEqual(self.doc["servers"][1]["label"], "TCP floor (no TLS)")

    def test_the_split_adds_up_to_the_server_cpu(self):
        rows = {r["scenario"]: r for r in self.doc["split"] if r["target"] == "self"}
        self.assertEqual(set(rows), {"full-tls13", "session-id", "ticket-tls13", "stateful-ticket"})
        for scenario, r in rows.items():
            ours, tcp = cell(self.doc, "self", scenario), cell(self.doc, "tcp-floor", scenario)
            self.assertEqual(r["server_cpu_us"], ours["server_cpu_us_per_handshake"])
            self.assertEqual(r["tcp_floor_us"], tcp["server_cpu_us_per_handshake"])
            self.assertEqual(r["library_floor_us"], ours["floor_server_cpu_us"])
            self.assertAlmostEqual(r["rest_us"], r["server_cpu_us"] - r["tcp_floor_us"] - r["library_floor_us"], delta=0.01)
            self.assertAlmostEqual(r["over_library_floor"], (r["server_cpu_us"] - r["tcp_floor_us"]) / r["library_floor_us"],
                                   delta=0.01)
            self.assertEqual(r["library"], self.doc["machine"]["openssl"])
        self.assertFalse([r for r in self.doc["split"] if r["target"] == "tcp-floor"])

    def test_the_aims_are_checked_from_the_split(self):
        floor_aims = [a for a in self.doc["aims"] if a["aim"] == "(CPU - TCP floor) / library floor"]
        # Resumed scenarios only, each with its figure and verdict.
        self.assertEqual(sorted(a["scenario"] for a in floor_aims), ["session-id", "stateful-ticket", "ticket-tls13"])
        for a in floor_aims:
            self.assertEqual(a["limit"], 1.5)
            self.assertEqual(a["holds"], a["value"] <= 1.5)
        # Ours on BoringSSL against nginx and HAProxy: not in this run, and the report says how to measure it.
        versus = [a for a in self.doc["aims"] if a["aim"].startswith("CPU per handshake vs")]
        if tls_library() == "openssl":
            self.assertEqual(len(versus), 1)
            self.assertIsNone(versus[0]["value"])
            self.assertIn("make build TLS=boringssl", versus[0]["note"])
        self.assertIn("Aims:", self.run_.stdout)
        self.assertIn("(CPU - TCP floor) / library floor", self.run_.stdout)

    def test_the_report_shows_the_split_and_how_to_read_it(self):
        for heading in ("## Aims", "## Servers", "## Where a handshake's CPU goes", "## Tickets on the wire",
                        "## TLS library floor"):
            self.assertIn(heading, self.md)
        self.assertIn("Where a handshake's server CPU goes", self.run_.stdout)
        # The TCP floor is a part of the others' CPU, not a server to weigh.
        self.assertNotIn("Verdict for tcp-floor", self.md)
        self.assertNotIn("/ tcp-floor", self.md)


class LibrariesAreNamed(unittest.TestCase):
    def test_ours_and_nginx_name_their_library_and_version(self):
        targets = "self,nginx" if os.access(NGINX, os.X_OK) else "self"
        run, doc, md = run_json(self, "--target", targets, "--scenarios", "session-id", *SMALL)
        servers = {s["target"]: s for s in doc["servers"]}
        ours = servers["self"]
        self.assertEqual(ours["library"], doc["machine"]["openssl"])
        self.assertEqual(ours["library"], library_of(BIN))
        self.assertEqual(ours["label"], f"tlsresume ({short(ours['library'])})")
        self.assertEqual(cell(doc, "self", "session-id")["label"], ours["label"])
        self.assertTrue(run.stdout.splitlines()[1].startswith(ours["label"]), run.stdout)  # the table's first column
        self.assertIn(f"| {ours['label']} | `self` | tlsresume |", md)
        if "nginx" in servers:
            nginx = servers["nginx"]
            # The library nginx runs, from `nginx -V`, with its version: "OpenSSL 3.0.19 27 Jan 2026".
            self.assertRegex(nginx["library"], r"^\w+ \d+\.\d+")
            self.assertEqual(nginx["label"], f"nginx {nginx['version']} ({short(nginx['library'])})")
        else:
            print("  (nginx not installed: its library naming not checked; apt-get install nginx-light)")


class TheOtherBuild(unittest.TestCase):
    def target(self):
        return "self-" + other_library()

    def test_a_missing_binary_is_skipped_saying_how_to_build_it(self):
        missing = os.path.join(SCRATCH.name, "no-such-build", "tlsresume")
        run, doc, _ = run_json(self, "--target", f"self,{self.target()}", "--other-build", missing, "--scenarios",
                               "session-id", *SMALL)
        reason = cell(doc, self.target(), "session-id")["skipped_reason"]
        self.assertIn(missing, reason)
        self.assertIn("make build" + (" TLS=boringssl" if other_library() == "boringssl" else ""), reason)
        self.assertIn("--other-build PATH", reason)
        self.assertEqual(cell(doc, "self", "session-id")["resumed_ratio"], 1)

    def test_the_other_build_flag_needs_its_target(self):
        run = bench("--target", "self", "--other-build", BIN, "--count", "10", timeout=30)
        self.assertEqual(run.returncode, 2, run.stderr)
        self.assertIn("only with --target self-boringssl or self-openssl", run.stderr)

    def test_this_binary_as_the_other_build_is_measured_and_labelled_by_its_library(self):
        # The path works whatever binary it names; the labels follow the library it runs.
        run, doc, md = run_json(self, "--target", f"self,{self.target()}", "--other-build", BIN, "--scenarios",
                                "session-id,ticket-tls13", *SMALL, "--floor")
        servers = {s["target"]: s for s in doc["servers"]}
        self.assertEqual(servers[self.target()]["library"], servers["self"]["library"])
        self.assertTrue(servers[self.target()]["label"].endswith(f"[{self.target()}]"))
        self.assertNotEqual(servers[self.target()]["label"], servers["self"]["label"])
        self.assertIn(f"runs {servers['self']['library']}, not", run.stderr)
        for scenario in ("session-id", "ticket-tls13"):
            c = cell(doc, self.target(), scenario)
            self.assertEqual(c["resumed_ratio"], 1, c)
            self.assertIsInstance(c["server_cpu_us_per_handshake"], (int, float))
            # One library, one floor: measured once, shared by both.
            self.assertEqual(c["floor_server_cpu_us"], cell(doc, "self", scenario)["floor_server_cpu_us"])
        self.assertEqual(len(doc["floor"]), 2)
        self.assertIn(f"Server CPU per handshake, {self.target()} / self (ecdsa)", run.stdout)

    def test_ours_on_both_libraries_back_to_back(self):
        binary = other_bin()
        if not os.access(binary, os.X_OK):
            self.skipTest(f"no {other_library()} build at {binary} "
                          f"(make build{' TLS=boringssl' if other_library() == 'boringssl' else ''}, "
                          "or TLSRESUME_OTHER_BIN)")
        targets = f"self,{self.target()},tcp-floor" + (",nginx" if os.access(NGINX, os.X_OK) else "")
        run, doc, md = run_json(self, "--target", targets, "--other-build", binary, "--scenarios",
                                "full-tls13,session-id,ticket-tls12,ticket-tls13", *SMALL, "--floor")
        servers = {s["target"]: s for s in doc["servers"]}
        other = servers[self.target()]
        self.assertEqual(other["library"], library_of(binary))
        self.assertNotEqual(other["library"], servers["self"]["library"])
        self.assertEqual(other["label"], f"tlsresume ({short(other['library'])})")
        # Each library's floor, the other measured by the other binary.
        libraries = {f["library"] for f in doc["floor"]}
        self.assertEqual(libraries, {servers["self"]["library"], other["library"]})
        for scenario in ("full-tls13", "session-id", "ticket-tls12", "ticket-tls13"):
            c = cell(doc, self.target(), scenario)
            self.assertNotIn("error", c, c)
            if scenario != "full-tls13":
                self.assertEqual(c["resumed_ratio"], 1, c)
            floor = next(f for f in doc["floor"] if f["library"] == other["library"] and f["scenario"] == scenario)
            # A resumed scenario's floor that did not resume in memory is no floor for it.
            missed = scenario != "full-tls13" and floor["resumed_ratio"] < 0.9
            self.assertEqual(c["floor_server_cpu_us"], None if missed else floor["server_us_per_handshake"])
        split = [r for r in doc["split"] if r["target"] == self.target()]
        self.assertEqual(len(split), sum(1 for s in ("full-tls13", "session-id", "ticket-tls12", "ticket-tls13")
                                         if cell(doc, self.target(), s)["floor_server_cpu_us"] is not None))
        self.assertGreaterEqual(len(split), 3)
        self.assertTrue(all(r["library"] == other["library"] for r in split))
        boring = "self" if tls_library() == "boringssl" else self.target()
        if "nginx" in servers:
            versus = [a for a in doc["aims"] if a["aim"] == "CPU per handshake vs nginx"]
            self.assertEqual(len(versus), 4)
            self.assertTrue(all(a["server"] == servers[boring]["label"] for a in versus))
            self.assertEqual({a["limit"] for a in versus if a["scenario"] == "full-tls13"}, {0.8})
            self.assertEqual({a["limit"] for a in versus if a["scenario"] != "full-tls13"}, {0.6})
            tickets = [a for a in doc["aims"] if a["aim"] == "ticket bytes vs nginx"]
            self.assertEqual(sorted(a["scenario"] for a in tickets), ["ticket-tls12", "ticket-tls13"])
        self.assertIn(other["label"], md)


if __name__ == "__main__":
    unittest.main()
