"""`tlsresume bench` end to end: the load generator against our own server measures
resumption rather than assuming it (100% where a mode is on, 0% where it is off), the JSON
keeps its schema, --report writes its files, errors have exit codes, and peers are run or
skipped with a reason.

Counts are small (a few hundred handshakes per cell) so the file runs in well under a
minute on 2 cores; the figures themselves are not judged here, only their presence and
types."""
import json
import os
import socket
import ssl
import subprocess
import tempfile
import threading
import unittest

from harness import BIN, Server, free_port, make_cert, read_http_head, tls_library

COUNT = "200"
SMALL = ["--count", COUNT, "--concurrency", "4"]
RESUMING = ["session-id", "ticket-tls12", "ticket-tls13", "stateful-ticket", "mix"]
FULL = ["full-tls13", "full-tls12"]
# How the built-in responder names the resumption each scenario must produce.
EXPECTED_KIND = {"session-id": {"session-id"}, "ticket-tls12": {"ticket"}, "ticket-tls13": {"ticket"},
                 "stateful-ticket": {"stateful-ticket"}, "mix": {"session-id", "ticket"}}
NGINX = "/usr/sbin/nginx"
HAPROXY = "/usr/sbin/haproxy"

OFF_CONFIG = """
[default_host]
tls12_tickets = false
session_ids = false
tls13_tickets = "off"
"""


# The bench makes its scratch directory under $TMPDIR: a directory of our own makes the
# peers it starts recognisable (their command lines name it), even beside other runs.
SCRATCH = tempfile.TemporaryDirectory(prefix="tlsresume-bench-it-")


def tearDownModule():
    SCRATCH.cleanup()


def bench(*args, timeout=150):
    env = dict(os.environ, TMPDIR=SCRATCH.name)
    return subprocess.run([BIN, "bench", *args], capture_output=True, text=True, timeout=timeout, env=env)


def leftover_servers():
    """Command lines of processes our bench runs started and should have stopped."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if " bench " in cmd:
            continue
        if SCRATCH.name in cmd:
            found.append(cmd)
            continue
        # A server a bench run started has no scratch path in its command line (its config
        # comes through /dev/fd/3) but inherits the run's TMPDIR: that tells ours from the
        # servers of tests running beside this one (ctest -j).
        if cmd.startswith(BIN + " serve ") and "/dev/fd/3" in cmd:
            try:
                with open(f"/proc/{pid}/environ", "rb") as f:
                    env = f.read().split(b"\0")
            except OSError:
                continue
            if ("TMPDIR=" + SCRATCH.name).encode() in env:
                found.append(cmd)
    return found


def cells_by_scenario(doc, target):
    return {c["scenario"]: c for c in doc["cells"] if c["target"] == target}


class BenchAgainstSelf(unittest.TestCase):
    """One run of every scenario against `self`, shared by the tests of this class."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="tlsresume-bench-out-")
        cls.json_path = os.path.join(cls.tmp.name, "bench.json")
        cls.report = os.path.join(cls.tmp.name, "report")
        cls.bench_run = bench("--target", "self", "--scenarios", "all", *SMALL, "--floor",
                        "--json", cls.json_path, "--report", cls.report)
        cls.doc = None
        if cls.bench_run.returncode == 0:
            with open(cls.json_path) as f:
                cls.doc = json.load(f)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def setUp(self):
        self.assertEqual(self.bench_run.returncode, 0, self.bench_run.stderr)
        self.cells = cells_by_scenario(self.doc, "self")

    def test_every_scenario_ran_with_the_requested_count(self):
        self.assertEqual(set(self.cells), set(RESUMING + FULL))
        for name, c in self.cells.items():
            self.assertEqual(c["handshakes"], int(COUNT), name)
            self.assertNotIn("skipped_reason", c, name)
            self.assertNotIn("error", c, name)

    def test_every_resumption_scenario_resumes_every_handshake(self):
        for name in RESUMING:
            self.assertEqual(self.cells[name]["resumed_ratio"], 1, f"{name}: {self.cells[name]}")

    def test_full_handshakes_never_resume(self):
        for name in FULL:
            self.assertEqual(self.cells[name]["resumed_ratio"], 0, name)
            self.assertEqual(self.cells[name]["server_says"], {"no": int(COUNT)}, name)

    def test_the_server_confirms_the_kind_of_resumption(self):
        for name, kinds in EXPECTED_KIND.items():
            says = self.cells[name]["server_says"]
            self.assertEqual(set(says), kinds, name)
            self.assertEqual(sum(says.values()), int(COUNT), name)

    def test_protocols_are_the_ones_asked_for(self):
        self.assertEqual(self.cells["full-tls13"]["protocol"], "TLSv1.3")
        self.assertEqual(self.cells["session-id"]["protocol"], "TLSv1.2")
        self.assertEqual(self.cells["ticket-tls12"]["protocol"], "TLSv1.2")
        self.assertEqual(self.cells["stateful-ticket"]["protocol"], "TLSv1.3")
        self.assertEqual(self.cells["mix"]["protocol"], "TLSv1.2+TLSv1.3")

    def test_tickets_and_bytes_make_sense(self):
        self.assertIsNone(self.cells["session-id"]["ticket_bytes"])  # a client without tickets holds none
        self.assertGreater(self.cells["ticket-tls12"]["ticket_bytes"], 0)
        self.assertGreater(self.cells["ticket-tls13"]["ticket_bytes"], self.cells["stateful-ticket"]["ticket_bytes"])
        # A resumption sends no certificate: far fewer bytes from the server.
        self.assertLess(self.cells["session-id"]["bytes_server_to_client"],
                        self.cells["full-tls12"]["bytes_server_to_client"] / 2)
        # A TLS 1.2 ticket travels from the client.
        self.assertGreater(self.cells["ticket-tls12"]["bytes_client_to_server"],
                           self.cells["session-id"]["bytes_client_to_server"])

    def test_json_schema(self):
        doc = self.doc
        self.assertEqual(doc["version"], 1)
        self.assertIsInstance(doc["machine"]["nproc"], int)
        # "openssl" names this binary's TLS library, whichever it is.
        self.assertIn("BoringSSL" if tls_library() == "boringssl" else "OpenSSL", doc["machine"]["openssl"])
        for key in ("targets", "scenarios", "certs"):
            self.assertIsInstance(doc["settings"][key], list)
        self.assertEqual(doc["settings"]["count"], int(COUNT))
        number = (int, float)
        for c in doc["cells"]:
            for key in ("target", "scenario", "cert", "protocol"):
                self.assertIsInstance(c[key], str, key)
            self.assertIsInstance(c["handshakes"], int)
            for key in ("handshakes_per_sec", "bytes_client_to_server", "bytes_server_to_client",
                        "resumed_ratio", "server_cpu_us_per_handshake", "floor_server_cpu_us"):
                self.assertIsInstance(c[key], number, key)
            self.assertTrue(c["ticket_bytes"] is None or c["ticket_bytes"] > 0, c)
            self.assertIsInstance(c["resumed_by_ticket"], int)
            self.assertEqual(set(c["latency_us"]), {"p50", "p90", "p99"})
            lat = c["latency_us"]
            self.assertTrue(0 < lat["p50"] <= lat["p90"] <= lat["p99"], lat)
            self.assertGreaterEqual(c["server_cpu_us_per_handshake"], 0)
            self.assertEqual(c["cert"], "ecdsa")
        self.assertEqual(len(doc["floor"]), 7)
        # The mechanism is checked, not assumed: TLS 1.2 tickets resumed from tickets,
        # session ids without.
        self.assertEqual(self.cells["ticket-tls12"]["resumed_by_ticket"], int(COUNT))
        self.assertEqual(self.cells["session-id"]["resumed_by_ticket"], 0)
        for f in doc["floor"]:
            self.assertGreater(f["server_us_per_handshake"], 0)
            self.assertEqual(f["resumed_ratio"], 1 if f["scenario"] not in FULL else 0, f)

    def test_report_files(self):
        index = os.path.join(self.report, "index.md")
        with open(index) as f:
            text = f.read()
        for heading in ("## Conclusion", "## Speed against security", "## All figures", "## How it was measured"):
            self.assertIn(heading, text)
        self.assertIn("With ECDSA, TLS 1.3 resumption (psk_dhe_ke)", text)
        self.assertTrue(os.path.exists(os.path.join(self.report, "bench.json")))
        if os.path.exists("/usr/bin/gnuplot"):
            for chart in ("throughput.svg", "cpu.svg", "latency.svg"):
                path = os.path.join(self.report, chart)
                self.assertGreater(os.path.getsize(path), 1000, chart)
                self.assertIn(f"]({chart})", text)
        else:
            self.assertIn("gnuplot not found", text)

    def test_table_and_progress(self):
        self.assertRegex(self.bench_run.stdout, r"target\s+cert\s+scenario\s+protocol\s+hs/s")
        self.assertNotIn("\x1b[", self.bench_run.stdout)  # no colour when not a terminal
        self.assertNotIn("\r", self.bench_run.stderr)
        self.assertRegex(self.bench_run.stderr, r"\[7/7\] self ecdsa mix: .*100\.0% resumed")

    def test_no_server_is_left_running(self):
        self.assertEqual(leftover_servers(), [])
        self.assertEqual(os.listdir(SCRATCH.name), [])  # its scratch directory is gone too


class BenchAgainstAServerWithResumptionOff(unittest.TestCase):
    def test_every_mode_reports_zero_resumption_not_an_error(self):
        with Server(OFF_CONFIG, workers=1, admin=False) as server, tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "off.json")
            run = bench("--target", f"127.0.0.1:{server.port}", "--server-pid", str(server.proc.pid),
                        "--scenarios", "all", "--count", "100", "--concurrency", "4", "--json", path)
            self.assertEqual(run.returncode, 0, run.stderr)
            with open(path) as f:
                cells = cells_by_scenario(json.load(f), f"127.0.0.1:{server.port}")
            # Whether a HOST:PORT target's TLS 1.3 tickets are stateful cannot be seen.
            self.assertIn("cannot be seen", cells["stateful-ticket"]["skipped_reason"])
            for name in (n for n in RESUMING if n != "stateful-ticket"):
                self.assertEqual(cells[name]["resumed_ratio"], 0, name)
                self.assertEqual(cells[name]["handshakes"], 100, name)
                self.assertEqual(set(cells[name]["server_says"]), {"no"}, name)
                self.assertIsInstance(cells[name]["server_cpu_us_per_handshake"], (int, float), name)
            self.assertIsNone(cells["ticket-tls13"]["ticket_bytes"])  # no TLS 1.3 ticket was issued
            self.assertIn("of offered sessions resumed (the server does not offer this mode)", run.stdout)
            self.assertTrue(server.alive())
        server.log.close()
        server.tmp.cleanup()


class BenchRounds(unittest.TestCase):
    def test_rounds_repeat_every_cell_and_keep_the_median(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "rounds.json")
            run = bench("--scenarios", "session-id,full-tls12", "--count", "100", "--concurrency", "4", "--rounds", "3",
                        "--floor", "--json", path)
            self.assertEqual(run.returncode, 0, run.stderr)
            with open(path) as f:
                data = json.load(f)
        self.assertEqual(data["settings"]["rounds"], 3)
        self.assertIn("[6/6]", run.stderr if "[6/6]" in run.stderr else run.stdout)
        for cell in data["cells"]:
            rounds = cell["server_cpu_us_rounds"]
            self.assertEqual(len(rounds), 3, cell)
            self.assertEqual(cell["server_cpu_us_per_handshake"], sorted(rounds)[1], cell)  # the median
            self.assertEqual(cell["handshakes"], 300, cell)  # every round's handshakes count
            self.assertIsNotNone(cell["floor_server_cpu_us"], cell)
        # The floor too is measured every round and merged: one entry per scenario, with
        # at least 30 in-memory handshakes from each of the three rounds.
        self.assertEqual(sorted(f["scenario"] for f in data["floor"]), ["full-tls12", "session-id"])
        for f in data["floor"]:
            self.assertGreaterEqual(f["handshakes"], 90, f)
        cells = {c["scenario"]: c for c in data["cells"]}
        self.assertEqual(cells["session-id"]["resumed_ratio"], 1)
        self.assertEqual(cells["session-id"]["server_says"], {"session-id": 300})
        self.assertEqual(cells["full-tls12"]["resumed_ratio"], 0)


class BenchErrors(unittest.TestCase):
    def test_unreachable_target_is_a_hard_error(self):
        port = free_port()  # nothing listens there
        run = bench("--target", f"127.0.0.1:{port}", "--count", "10", timeout=30)
        self.assertEqual(run.returncode, 1)
        self.assertIn(f"target 127.0.0.1:{port}: connection refused", run.stderr)

    def test_an_unwritable_output_fails_before_any_cell_runs(self):
        with tempfile.TemporaryDirectory() as tmp:
            blocker = os.path.join(tmp, "a-file")
            open(blocker, "w").close()
            for flag in ("--json", "--report"):
                run = bench("--target", "self", "--scenarios", "session-id", "--count", "10",
                            flag, os.path.join(blocker, "out"), timeout=30)
                self.assertEqual(run.returncode, 1, run.stderr)
                self.assertIn(blocker, run.stderr)
                self.assertIn("Not a directory", run.stderr)
                self.assertNotIn("session-id:", run.stderr)  # no cell ran

    def test_bad_arguments_exit_2(self):
        gone = subprocess.Popen(["true"])
        gone.wait()
        port = free_port()
        for args, says in ((["--scenarios", "nope"], "unknown scenario"),
                           (["--count", "5", "--duration", "1"], "excludes"),
                           (["--target", "bogus"], "expected self, nginx, haproxy or HOST:PORT"),
                           (["--cert-type", "dsa"], "dsa"), (["--concurrency", "0"], "not in range"),
                           (["--duration", "abc"], "Failed parsing abc"),
                           (["--server-pid", "0"], "not in range"),
                           (["--target", f"127.0.0.1:{port}", "--server-pid", str(gone.pid)],
                            f"no process with pid {gone.pid}"),
                           (["--target", "self", "--server-pid", str(os.getpid())], "only for a HOST:PORT target"),
                           (["--target", "self", "--sni", "x.example"], "only for a HOST:PORT target"),
                           (["--target", f"127.0.0.1:{port},127.0.0.2:{port}", "--server-pid", str(os.getpid())],
                            "one pid cannot be the server of 2 HOST:PORT targets"),
                           (["--target", f"127.0.0.1:{port}", "--sni", "127.0.0.1"], "not an IP address"),
                           (["--target", f"127.0.0.1:{port}", "--sni", "::1"], "not an IP address"),
                           (["--target", "::1"], "in brackets"), (["--target", "::1:443"], "in brackets"),
                           (["--concurrency", "2.5"], "Failed parsing 2.5"),
                           (["--server-pid", "abc"], "Failed parsing abc as a INT"),
                           (["--path", "no-slash"], "an absolute path")):
            run = bench(*args, timeout=30)
            self.assertEqual(run.returncode, 2, f"{args}: {run.stderr}")
            self.assertIn(says, run.stderr, args)
            self.assertLess(len(run.stderr), 400, args)  # one clear line, not a 300-digit range

    def test_too_few_file_descriptors_for_the_concurrency_is_said_before_any_cell(self):
        import resource

        def limit():
            resource.setrlimit(resource.RLIMIT_NOFILE, (128, 128))  # the bench cannot raise it

        env = dict(os.environ, TMPDIR=SCRATCH.name)
        run = subprocess.run([BIN, "bench", "--target", "self", "--scenarios", "session-id", "--count", "10",
                              "--concurrency", "300"], capture_output=True, text=True, timeout=30, env=env,
                             preexec_fn=limit)
        self.assertEqual(run.returncode, 1, run.stderr)
        self.assertIn("--concurrency 300 needs about 364 open files; the limit here is 128 (ulimit -n)", run.stderr)
        self.assertNotIn("session-id:", run.stderr)  # no cell ran

    def test_a_json_file_that_cannot_be_written_is_an_error(self):
        if not os.path.exists("/dev/full"):
            self.skipTest("no /dev/full")
        run = bench("--target", "self", "--scenarios", "session-id", "--count", "10", "--json", "/dev/full",
                    timeout=60)
        self.assertEqual(run.returncode, 1, run.stderr)
        self.assertIn("cannot write /dev/full: No space left on device", run.stderr)

    def test_a_peer_that_is_not_installed_is_skipped_with_a_reason(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "not", "yet", "skip.json")  # --json makes missing directories
            run = bench("--target", "nginx", "--nginx", os.path.join(tmp, "no-nginx"), "--scenarios", "full-tls13",
                        "--count", "10", "--json", path, timeout=30)
            # Skipped with a reason; with nothing else measured, the run is no result.
            self.assertEqual(run.returncode, 1, run.stderr)
            self.assertIn("nothing was measured", run.stderr)
            with open(path) as f:
                cell = json.load(f)["cells"][0]
            self.assertIn("apt-get install nginx-light", cell["skipped_reason"])
            self.assertIsNone(cell["latency_us"])
            self.assertIsNone(cell["resumed_ratio"])
            self.assertIn("skipped", run.stdout)


class TlsTarget:
    """A HOST:PORT target of our own making (Python's ssl, OpenSSL underneath) that records
    the server name and Host header of every connection and answers `status`."""

    def __init__(self, cert, key, status=200, tls12_tickets=True):
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(cert, key)
        self.ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        if not tls12_tickets:
            self.ctx.options |= ssl.OP_NO_TICKET  # TLS 1.2 then resumes by session id only
        self.names, self.hosts = [], []
        self.ctx.sni_callback = lambda sock, name, ctx: self.names.append(name) and None
        self.status = status
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while True:
            try:
                raw, _ = self.listener.accept()
            except OSError:
                return
            try:
                raw.settimeout(5)
                with self.ctx.wrap_socket(raw, server_side=True) as tls:
                    request = read_http_head(tls)
                    for line in request.decode(errors="replace").split("\r\n"):
                        if line.lower().startswith("host:"):
                            self.hosts.append(line.split(":", 1)[1].strip())
                    if self.status is None:
                        continue  # hang up without an answer
                    reason = "OK" if self.status == 200 else "Not Found"
                    tls.sendall(f"HTTP/1.1 {self.status} {reason}\r\nContent-Length: 2\r\n"
                                "Connection: close\r\n\r\nok".encode())
                    # close_notify: OpenSSL forgets the session of a connection that ends without one.
                    tls.unwrap()
            except (OSError, ssl.SSLError):
                pass
            finally:
                raw.close()

    def close(self):
        self.listener.close()


class BenchAgainstAnOutsideTarget(unittest.TestCase):
    """A HOST:PORT target is measured for what it is: its name in SNI and Host, its own
    certificate, its own way of resuming, and its failures in the exit code."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="tlsresume-bench-outside-")
        cls.rsa = make_cert(cls.tmp.name, "rsa", "localhost", key_type="rsa")
        cls.ec = make_cert(cls.tmp.name, "ec", "localhost")

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def target(self, *args, **kwargs):
        t = TlsTarget(*args, **kwargs)
        self.addCleanup(t.close)
        return t

    def run_json(self, *args):
        # A file of this run's own: a run that writes none must not be judged by another's.
        out = tempfile.TemporaryDirectory(dir=self.tmp.name)
        self.addCleanup(out.cleanup)
        path = os.path.join(out.name, "out.json")
        run = bench(*args, "--count", "30", "--concurrency", "2", "--json", path, timeout=60)
        self.assertTrue(os.path.exists(path), f"no JSON written (exit {run.returncode}): {run.stderr}")
        with open(path) as f:
            return run, json.load(f)

    def test_the_target_name_is_the_server_name_and_the_host(self):
        t = self.target(*self.ec)
        run, _ = self.run_json("--target", f"localhost:{t.port}", "--scenarios", "full-tls13")
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertEqual(set(t.names), {"localhost"})
        self.assertEqual(set(t.hosts), {f"localhost:{t.port}"})

    def test_an_ip_address_sends_no_server_name_and_sni_overrides(self):
        t = self.target(*self.ec)
        run, _ = self.run_json("--target", f"127.0.0.1:{t.port}", "--scenarios", "full-tls13")
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertEqual(set(t.names), {None})  # RFC 6066: no IP addresses in server_name
        self.assertEqual(set(t.hosts), {f"127.0.0.1:{t.port}"})
        t.names.clear()
        t.hosts.clear()
        run, _ = self.run_json("--target", f"127.0.0.1:{t.port}", "--sni", "vm.example", "--scenarios", "full-tls13")
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertEqual(set(t.names), {"vm.example"})
        self.assertEqual(set(t.hosts), {f"vm.example:{t.port}"})

    def test_its_own_certificate_is_reported_and_measured_once(self):
        t = self.target(*self.rsa)
        run, doc = self.run_json("--target", f"127.0.0.1:{t.port}", "--scenarios", "full-tls13",
                                 "--cert-type", "both")
        self.assertEqual(run.returncode, 0, run.stderr)
        # One row: a second --cert-type pass would only repeat it.
        self.assertEqual([(c["cert"], "skipped_reason" in c) for c in doc["cells"]], [("rsa", False)])
        self.assertIn("its own certificate: measured once", run.stderr)
        self.assertNotIn("ecdsa", " ".join(line for line in run.stdout.splitlines() if "hs/s" not in line
                                           and "skipped" not in line and not line.startswith("target")))

    def test_a_server_without_tls12_tickets_is_seen_resuming_by_session_id(self):
        t = self.target(*self.ec, tls12_tickets=False)
        run, doc = self.run_json("--target", f"127.0.0.1:{t.port}", "--scenarios", "full-tls12,ticket-tls12")
        self.assertEqual(run.returncode, 0, run.stderr)
        cell = cells_by_scenario(doc, f"127.0.0.1:{t.port}")["ticket-tls12"]
        self.assertEqual(cell["resumed_ratio"], 1)
        self.assertEqual(cell["resumed_by_ticket"], 0)
        self.assertIn("resumed by session id", run.stdout)
        self.assertNotIn("tickets are no faster", run.stdout)

    def test_an_answer_other_than_2xx_is_noted_not_failed(self):
        t = self.target(*self.ec, status=404)  # a site's / may just as well redirect
        run, doc = self.run_json("--target", f"127.0.0.1:{t.port}", "--scenarios", "full-tls13", "--path", "/health")
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertIn("30 answers not 2xx (first: HTTP/1.1 404 Not Found)", run.stdout)
        cell = doc["cells"][0]
        self.assertEqual((cell["errors"], cell["not_2xx"], cell["attempts"]), (0, 30, 30))

    def test_a_target_that_hangs_up_without_answering_fails_the_run(self):
        t = self.target(*self.ec, status=None)
        run, doc = self.run_json("--target", f"127.0.0.1:{t.port}", "--scenarios", "full-tls13")
        self.assertEqual(run.returncode, 1, run.stdout)
        # Each connection counted once: 30 made, 30 failed.
        self.assertIn("30 of 30 connections failed (first: the server closed the connection without an answer)",
                      run.stderr)
        self.assertIn("its figures are left out of this conclusion", run.stdout)
        self.assertEqual(doc["cells"][0]["errors"], 30)

    def test_json_to_standard_output(self):
        t = self.target(*self.ec)
        run = bench("--target", f"127.0.0.1:{t.port}", "--scenarios", "full-tls13", "--count", "10", "--json", "-",
                    timeout=60)
        self.assertEqual(run.returncode, 0, run.stderr)
        doc = json.loads(run.stdout)  # nothing but the JSON on standard output
        self.assertEqual(doc["cells"][0]["handshakes"], 10)
        self.assertIsNone(doc["settings"]["duration_s"])  # bounded by --count, not a duration
        self.assertRegex(run.stderr, r"target\s+cert\s+scenario")  # the table went to standard error
        self.assertFalse(os.path.exists("-"))


class BenchAgainstPeers(unittest.TestCase):
    def run_peer(self, name, binary):
        if not os.access(binary, os.X_OK):
            self.skipTest(f"{name} not installed at {binary} (apt-get install "
                          f"{'nginx-light' if name == 'nginx' else name})")
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, f"{name}.json")
            run = bench("--target", name, "--scenarios", "full-tls13,session-id,ticket-tls12,ticket-tls13,stateful-ticket",
                        "--count", "100", "--concurrency", "4", "--json", path)
            self.assertEqual(run.returncode, 0, run.stderr)
            with open(path) as f:
                cells = cells_by_scenario(json.load(f), name)
        # stateful-ticket runs on a second peer configured without session tickets.
        for scenario in ("session-id", "ticket-tls12", "ticket-tls13", "stateful-ticket"):
            self.assertEqual(cells[scenario]["resumed_ratio"], 1, f"{name} {scenario}")
            self.assertIsNone(cells[scenario].get("skipped_reason"), f"{name} {scenario}")
        self.assertEqual(cells["full-tls13"]["resumed_ratio"], 0)
        self.assertIsInstance(cells["full-tls13"]["server_cpu_us_per_handshake"], (int, float))
        self.assertEqual(leftover_servers(), [])

    def test_nginx(self):
        self.run_peer("nginx", NGINX)

    def test_haproxy(self):
        self.run_peer("haproxy", HAPROXY)

    def test_self_and_a_peer_side_by_side_give_the_ratio(self):
        if not os.access(NGINX, os.X_OK):
            self.skipTest(f"nginx not installed at {NGINX} (apt-get install nginx-light)")
        run = bench("--target", "self,nginx", "--scenarios", "session-id,ticket-tls13", "--count", "100",
                    "--concurrency", "4")
        self.assertEqual(run.returncode, 0, run.stderr)
        # Scenario by scenario, every target in turn: self and nginx alternate.
        order = [line.split("]")[1].split(":")[0].strip() for line in run.stderr.splitlines() + run.stdout.splitlines()
                 if line.startswith("[") and "hs/s" in line]
        self.assertEqual(order, ["self ecdsa session-id", "nginx ecdsa session-id", "self ecdsa ticket-tls13",
                                 "nginx ecdsa ticket-tls13"])
        ratio = [line for line in run.stdout.splitlines() if "self / nginx (ecdsa)" in line]
        self.assertEqual(len(ratio), 1, run.stdout)
        self.assertRegex(ratio[0], r"session-id \d+\.\d\d×, ticket-tls13 \d+\.\d\d×")
        self.assertEqual(leftover_servers(), [])

    def test_with_rounds_the_ratio_is_the_median_of_round_by_round_ratios(self):
        if not os.access(NGINX, os.X_OK):
            self.skipTest(f"nginx not installed at {NGINX} (apt-get install nginx-light)")
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "ratio.json")
            run = bench("--target", "self,nginx", "--scenarios", "session-id", "--count", "100", "--concurrency", "4",
                        "--rounds", "3", "--json", path)
            self.assertEqual(run.returncode, 0, run.stderr)
            with open(path) as f:
                cells = {c["target"]: c for c in json.load(f)["cells"]}
        ours, theirs = cells["self"]["server_cpu_us_rounds"], cells["nginx"]["server_cpu_us_rounds"]
        ratios = sorted(a / b for a, b in zip(ours, theirs))
        line = next(line for line in run.stdout.splitlines() if "self / nginx (ecdsa)" in line)
        self.assertIn(f"session-id {ratios[1]:.2f}× ({ratios[0]:.2f}–{ratios[2]:.2f})", line)
        self.assertEqual(leftover_servers(), [])


if __name__ == "__main__":
    unittest.main()
