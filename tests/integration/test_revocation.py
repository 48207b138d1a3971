"""`tlsresume ctl revoke`: a revoked session id, stateful ticket, host or time range costs
the client a full handshake on its next attempt (never an error), leaves everything
else resumable, and shows in `ctl revocations`."""
import json
import os
import re
import socket
import subprocess
import tempfile
import threading
import time
import unittest

from harness import BIN, Server, body_field, free_port, make_cert, metric_sum, resumed_line, run_bin, s_client, wait_for

STATEFUL = '[default_host]\ntls13_tickets = "stateful"\n'


def ticket_of(session_file):
    """The ticket an s_client session file holds, as hex: what the server gave the client."""
    text = subprocess.run(["openssl", "sess_id", "-in", session_file, "-noout", "-text"], capture_output=True,
                          text=True, check=True).stdout
    block = text.split("TLS session ticket:", 1)[1] if "TLS session ticket:" in text else ""
    return "".join(re.findall(r"^\s*[0-9a-f]{4} - ((?:[0-9a-f]{2}[ -]){1,16})", block, re.M)).replace(" ", "").replace("-", "")


def ctl_against(answer, *args):
    """Runs `tlsresume ctl ARGS` against a one-shot fake admin endpoint that reads the
    request and sends `answer` (raw bytes); returns the finished process."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)

    def answer_once():
        conn, _ = listener.accept()
        conn.recv(4096)
        conn.sendall(answer)
        conn.close()

    threading.Thread(target=answer_once, daemon=True).start()
    try:
        return run_bin("ctl", "--admin", f"127.0.0.1:{listener.getsockname()[1]}", *args, timeout=15)
    finally:
        listener.close()


class Revocation(unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="tlsresume-revoke-")
        self.tmp = self._tmp.name

    def tearDown(self):
        self._tmp.cleanup()

    def path(self, name):
        return os.path.join(self.tmp, name)

    def server(self, config=None):
        srv = Server(config=config, workers=2)
        srv.start()
        self.addCleanup(srv.stop)
        return srv

    def new_tls12(self, srv, name, servername="localhost"):
        """A full TLS 1.2 handshake without tickets; returns (session file, session id hex)."""
        sess = self.path(name)
        out = s_client(srv.port, "-tls1_2", "-no_ticket", "-sess_out", sess, servername=servername)
        self.assertIn("New, TLSv1.2", out)
        self.assertEqual(resumed_line(out), "no")
        sid = body_field(out, "session")
        self.assertRegex(sid or "", r"^[0-9a-f]{2,}$")
        return sess, sid

    def resume_tls12(self, srv, sess, servername="localhost"):
        out = s_client(srv.port, "-tls1_2", "-no_ticket", "-sess_in", sess, servername=servername)
        self.assertIn("HTTP/1.1 200 OK", out)  # revoked or not, never an error
        return out

    def ctl_ok(self, srv, *args):
        p = srv.ctl(*args)
        self.assertEqual(p.returncode, 0, f"ctl {args}: {p.stdout} {p.stderr}")
        return p.stdout

    # --- by id ---
    def test_revoke_tls12_session_id(self):
        srv = self.server()
        sess, sid = self.new_tls12(srv, "victim.pem")
        other, _ = self.new_tls12(srv, "bystander.pem")
        self.assertEqual(resumed_line(self.resume_tls12(srv, sess)), "session-id")  # control
        answer = json.loads(self.ctl_ok(srv, "revoke", "--id", sid))
        self.assertEqual(answer["revoked"], "id")
        self.assertEqual(answer["erased_from_store"], 1)
        out = self.resume_tls12(srv, sess)
        self.assertIn("New, TLSv1.2", out)
        self.assertEqual(resumed_line(out), "no")
        # Only that session: another one still resumes.
        self.assertEqual(resumed_line(self.resume_tls12(srv, other)), "session-id")

    def test_revoke_id_is_case_insensitive_hex(self):
        srv = self.server()
        sess, sid = self.new_tls12(srv, "victim.pem")
        self.ctl_ok(srv, "revoke", "--id", sid.upper())
        self.assertEqual(resumed_line(self.resume_tls12(srv, sess)), "no")

    def test_revoke_tls13_stateful_ticket_chain(self):
        srv = self.server(STATEFUL)
        first_file, renewed_file, other_file = self.path("t1.pem"), self.path("t1b.pem"), self.path("t2.pem")
        s_client(srv.port, "-tls1_3", "-sess_out", first_file)
        s_client(srv.port, "-tls1_3", "-sess_out", other_file)
        # The id of a stateful ticket is the one the responder shows on the connection that
        # resumed with it; that connection also hands out tickets of the same chain.
        resumed = s_client(srv.port, "-tls1_3", "-sess_in", first_file, "-sess_out", renewed_file)
        self.assertEqual(resumed_line(resumed), "stateful-ticket")
        rid = body_field(resumed, "session")
        self.assertRegex(rid or "", r"^[0-9a-f]{2,}$")
        entries = metric_sum(srv, "tlsresume_session_store_entries")
        answer = json.loads(self.ctl_ok(srv, "revoke", "--id", rid))
        # Every stored ticket of the chain is forgotten now (their resumption secrets leave
        # memory), not when next offered: the chain's tickets, none of the other chain's.
        self.assertGreaterEqual(answer["erased_from_store"], 1, answer)
        self.assertEqual(metric_sum(srv, "tlsresume_session_store_entries"), entries - answer["erased_from_store"])
        for f in (first_file, renewed_file):
            out = s_client(srv.port, "-tls1_3", "-sess_in", f)
            self.assertIn("HTTP/1.1 200 OK", out)
            self.assertIn("New, TLSv1.3", out)
            self.assertEqual(resumed_line(out), "no", f"{os.path.basename(f)} still resumes after revoking {rid}")
        # A ticket of another chain is not affected.
        out = s_client(srv.port, "-tls1_3", "-sess_in", other_file)
        self.assertEqual(resumed_line(out), "stateful-ticket")
        self.assertNotEqual(body_field(out, "session"), rid)

    def test_revoke_bad_id_is_refused(self):
        srv = self.server()
        p = srv.ctl("revoke", "--id", "not-hex")
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("hex", p.stderr)
        # Longer than any session id (32 bytes): refused, not kept for a day.
        p = srv.ctl("revoke", "--id", "ab" * 33)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("1 to 32 bytes", p.stderr)
        self.assertEqual(json.loads(self.ctl_ok(srv, "revocations")), [])

    # --- by host ---
    def test_revoke_host(self):
        a_cert, a_key = make_cert(self.tmp, "a", "a.test")
        srv = self.server(f'[[hosts]]\nname = "a"\nserver_names = ["a.test"]\ncert = "{a_cert}"\nkey = "{a_key}"\n')
        sess, _ = self.new_tls12(srv, "d.pem")
        sess_a, _ = self.new_tls12(srv, "a.pem", servername="a.test")
        answer = json.loads(self.ctl_ok(srv, "revoke", "--host", "default"))
        # The default host's one stored session is erased at once; host a's is kept.
        self.assertEqual(answer, {"revoked": "host", "host": "default", "erased_from_store": 1})
        out = self.resume_tls12(srv, sess)
        self.assertIn("New, TLSv1.2", out)
        self.assertEqual(resumed_line(out), "no")
        # The other host's sessions are untouched.
        self.assertEqual(resumed_line(self.resume_tls12(srv, sess_a, servername="a.test")), "session-id")
        # A session of the revoked host made after the revocation resumes.
        fresh, _ = self.new_tls12(srv, "fresh.pem")
        self.assertEqual(resumed_line(self.resume_tls12(srv, fresh)), "session-id")

    def test_revoke_host_stateful_tls13(self):
        srv = self.server(STATEFUL)
        first, renewed = self.path("t.pem"), self.path("t-renewed.pem")
        s_client(srv.port, "-tls1_3", "-sess_out", first)
        # Control: the chain resumes before the revocation. A stateful ticket is used once,
        # so what is tried afterwards is the ticket this resumption handed out.
        out = s_client(srv.port, "-tls1_3", "-sess_in", first, "-sess_out", renewed)
        self.assertEqual(resumed_line(out), "stateful-ticket")
        self.ctl_ok(srv, "revoke", "--host", "default")
        out = s_client(srv.port, "-tls1_3", "-sess_in", renewed)
        self.assertEqual(resumed_line(out), "no")

    def test_revoke_unknown_host(self):
        srv = self.server()
        p = srv.ctl("revoke", "--host", "no-such-host")
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("no-such-host", p.stderr)
        self.assertIn("no virtual host", p.stderr)
        self.assertEqual(json.loads(self.ctl_ok(srv, "revocations")), [])

    # --- everything ---
    def test_revoke_all(self):
        srv = self.server()
        sess, _ = self.new_tls12(srv, "old.pem")
        self.assertEqual(resumed_line(self.resume_tls12(srv, sess)), "session-id")  # control
        answer = json.loads(self.ctl_ok(srv, "revoke", "--all"))
        self.assertEqual(answer["revoked"], "before")
        self.assertEqual(answer["erased_from_store"], 1)
        self.assertLessEqual(abs(answer["before"] - time.time()), 5)
        out = self.resume_tls12(srv, sess)
        self.assertIn("New, TLSv1.2", out)
        self.assertEqual(resumed_line(out), "no")
        # A session created right after the revocation resumes normally.
        fresh, _ = self.new_tls12(srv, "fresh.pem")
        out = self.resume_tls12(srv, fresh)
        self.assertIn("Reused, TLSv1.2", out)
        self.assertEqual(resumed_line(out), "session-id")

    def test_revoke_all_stateful_and_stateless_tls13(self):
        for config, kind in ((STATEFUL, "stateful-ticket"), (None, "ticket")):
            with self.subTest(kind=kind):
                srv = self.server(config)
                first, f, fresh = (self.path(f"{kind}-first.pem"), self.path(f"{kind}-old.pem"),
                                   self.path(f"{kind}-fresh.pem"))
                s_client(srv.port, "-tls1_3", "-sess_out", first)
                # Control: the chain resumes before the revocation (a stateful ticket is
                # used once: the one tried afterwards is the one this resumption gave).
                out = s_client(srv.port, "-tls1_3", "-sess_in", first, "-sess_out", f)
                self.assertEqual(resumed_line(out), kind)
                self.ctl_ok(srv, "revoke", "--all")
                self.assertEqual(resumed_line(s_client(srv.port, "-tls1_3", "-sess_in", f)), "no")
                s_client(srv.port, "-tls1_3", "-sess_out", fresh)
                self.assertEqual(resumed_line(s_client(srv.port, "-tls1_3", "-sess_in", fresh)), kind)

    def test_revoke_before_a_past_time(self):
        srv = self.server()
        sess, _ = self.new_tls12(srv, "s.pem")
        # Everything issued before an hour ago: the session just made is not affected.
        self.ctl_ok(srv, "revoke", "--before", str(int(time.time()) - 3600))
        self.assertEqual(resumed_line(self.resume_tls12(srv, sess)), "session-id")
        p = srv.ctl("revoke", "--before", str(int(time.time()) + 3600))
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("future", p.stderr)

    def test_revoke_before_judges_a_renewed_ticket_by_its_chain_start(self):
        # TLS 1.3: full handshake at t0, resumption (a renewed ticket) two seconds later,
        # then "revoke everything issued before t0 + 1". The renewed ticket was issued
        # after that time, but its chain began before it: it must not resume.
        srv = self.server()
        first, renewed = self.path("t13-first.pem"), self.path("t13-renewed.pem")
        t0 = int(time.time())
        s_client(srv.port, "-tls1_3", "-sess_out", first)
        time.sleep(2.2)
        out = s_client(srv.port, "-tls1_3", "-sess_in", first, "-sess_out", renewed)
        self.assertEqual(resumed_line(out), "ticket")
        # The resumption handed out a new ticket (issued after t0 + 1): the one tried below
        # is not the first one again.
        self.assertRegex(ticket_of(first), r"^[0-9a-f]{64,}$")
        self.assertRegex(ticket_of(renewed), r"^[0-9a-f]{64,}$")
        self.assertNotEqual(ticket_of(renewed), ticket_of(first))
        self.ctl_ok(srv, "revoke", "--before", str(t0 + 1))
        self.assertEqual(resumed_line(s_client(srv.port, "-tls1_3", "-sess_in", renewed)), "no")

    def test_revoke_before_an_absurd_time_is_refused_not_overflowed(self):
        # Seconds that overflow a nanosecond clock used to crash the server (SIGSEGV) or
        # wrap to a past time and report a revocation that revoked nothing.
        srv = self.server()
        sess, _ = self.new_tls12(srv, "s.pem")
        for before in ("20000000000", "9223372036854775807", "18446744074"):
            with self.subTest(before=before):
                status, body = srv.admin("POST", f"/revoke?before={before}")
                self.assertIn(status, (400,), body)
        self.assertTrue(srv.alive(), srv.output())
        self.assertEqual(json.loads(self.ctl_ok(srv, "revocations")), [])
        self.assertEqual(resumed_line(self.resume_tls12(srv, sess)), "session-id")

    # --- the admin endpoint itself ---
    def test_requests_from_web_pages_are_refused(self):
        # A page in the operator's browser could otherwise POST here (no authentication).
        import urllib.request
        srv = self.server()
        sess, _ = self.new_tls12(srv, "s.pem")
        for path in ("/revoke?before=now", "/rotate"):
            with self.subTest(path=path):
                req = urllib.request.Request(f"http://127.0.0.1:{srv.admin_port}{path}", method="POST", data=b"a=1",
                                             headers={"Origin": "http://evil.example",
                                                      "Content-Type": "application/x-www-form-urlencoded"})
                with self.assertRaises(urllib.error.HTTPError) as caught:
                    urllib.request.urlopen(req, timeout=5)
                self.assertEqual(caught.exception.code, 403)
        self.assertEqual(json.loads(self.ctl_ok(srv, "revocations")), [])
        self.assertEqual(resumed_line(self.resume_tls12(srv, sess)), "session-id")

    def test_forced_rotations_are_bounded(self):
        # Each forced rotation keeps the retired key for the decrypt window; without a cap a
        # loop of them exhausted the process's memory mappings and ended the server.
        # With several hosts: the cap counts master keys (each derives one key per host).
        srv = self.server('[[hosts]]\nserver_names = ["a.test"]\n[[hosts]]\nserver_names = ["b.test"]\n')
        codes = [srv.admin("POST", "/rotate")[0] for _ in range(70)]
        self.assertIn(429, codes)
        self.assertEqual(codes[: codes.index(429)], [200] * codes.index(429))
        self.assertLessEqual(len(json.loads(self.ctl_ok(srv, "keys"))), 64)
        p = srv.ctl("rotate")
        self.assertEqual(p.returncode, 1)
        self.assertIn("decrypt window", p.stderr)
        self.assertTrue(srv.alive())

    def test_idle_admin_clients_do_not_starve_health_checks(self):
        srv = self.server()
        idle = [socket.create_connection(("127.0.0.1", srv.admin_port)) for _ in range(3)]
        try:
            start = time.monotonic()
            status, body = srv.admin("GET", "/healthz")
            self.assertEqual((status, body), (200, "ok\n"))
            self.assertLess(time.monotonic() - start, 1.5)
        finally:
            for c in idle:
                c.close()

    # --- listing and the ctl command itself ---
    def test_revocations_lists_entries(self):
        srv = self.server()
        self.assertEqual(json.loads(self.ctl_ok(srv, "revocations")), [])
        _, sid = self.new_tls12(srv, "s.pem")
        self.ctl_ok(srv, "revoke", "--id", sid)
        self.ctl_ok(srv, "revoke", "--host", "default")
        self.ctl_ok(srv, "revoke", "--all")
        entries = json.loads(self.ctl_ok(srv, "revocations"))
        by_kind = {e["kind"]: e for e in entries}
        self.assertEqual(set(by_kind), {"id", "host", "before"}, entries)
        self.assertEqual(by_kind["id"]["subject"], sid)
        self.assertEqual(by_kind["host"]["subject"], "default")
        self.assertLessEqual(abs(by_kind["before"]["issued_before"] - time.time()), 5)
        self.assertLessEqual(abs(by_kind["host"]["issued_before"] - time.time()), 5)
        self.assertGreater(by_kind["id"]["kept_until"], time.time() + 3000)  # the longest lifetime, 1 h by default
        self.assertEqual(metric_sum(srv, "tlsresume_revocations"), 3)

    def test_ctl_revoke_needs_exactly_one_selector(self):
        srv = self.server()
        for args in ((), ("--id", "00", "--all"), ("--host", "default", "--before", "now")):
            with self.subTest(args=args):
                p = srv.ctl("revoke", *args)
                self.assertEqual(p.returncode, 2, p.stderr)
                self.assertIn("exactly one", p.stderr)
        self.assertEqual(json.loads(self.ctl_ok(srv, "revocations")), [])

    def test_ctl_against_dead_admin_port(self):
        port = free_port()
        for args in (("revoke", "--all"), ("health",), ("revocations",)):
            with self.subTest(args=args):
                start = time.monotonic()
                p = run_bin("ctl", "--admin", f"127.0.0.1:{port}", *args, timeout=15)
                self.assertEqual(p.returncode, 1, p.stderr)
                self.assertIn("cannot reach", p.stderr)
                self.assertIn(f"127.0.0.1:{port}", p.stderr)
                self.assertLess(time.monotonic() - start, 10)

    def test_ctl_reports_a_truncated_answer(self):
        # An admin endpoint that dies mid-answer: the body is shorter than Content-Length.
        p = ctl_against(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nConnection: close\r\n\r\n{\"status\":", "health")
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("truncated answer (10 of 100 bytes)", p.stderr)

    def test_ctl_does_not_take_another_servers_answer_for_tlsresumes(self):
        # Something else on the admin port answering 200 must not pass for a revocation.
        p = ctl_against(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n", "revoke", "--all")
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("did not come from tlsresume", p.stderr)

    def test_unknown_commands_are_named(self):
        for args, prefix in ((("bogus",), "tlsresume: "), (("ctl", "bogus"), "tlsresume ctl: "),
                             (("ctl", "--admin", "127.0.0.1:1", "rotat"), "tlsresume ctl: ")):
            with self.subTest(args=args):
                p = run_bin(*args)
                self.assertEqual(p.returncode, 2)
                self.assertIn(f'{prefix}unknown command "{args[-1]}"', p.stderr)
                self.assertIn("one of:", p.stderr)

    def test_ctl_bad_admin_address(self):
        p = run_bin("ctl", "--admin", "nonsense", "health")
        self.assertEqual(p.returncode, 2)
        self.assertIn("--admin", p.stderr)


if __name__ == "__main__":
    unittest.main()
