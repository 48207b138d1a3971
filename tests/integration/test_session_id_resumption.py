"""Stateful resumption from the server's own store: TLS 1.2 session ids and TLS 1.3
stateful tickets resume across worker threads, expire with the host's session_lifetime,
stay within their virtual host, and can be switched off per host."""
import os
import re
import ssl
import tempfile
import time
import unittest

from harness import (Server, body_field, client_context, https_get, make_cert, metric_sum, resumed_line, s_client,
                     tls_library, wait_for)


class Tmp(unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="tlsresume-sess-")
        self.tmp = self._tmp.name

    def tearDown(self):
        self._tmp.cleanup()

    def path(self, name):
        return os.path.join(self.tmp, name)

    def full_then_resume_tls12(self, port, servername="localhost"):
        sess = self.path("s12.pem")
        first = s_client(port, "-tls1_2", "-no_ticket", "-sess_out", sess, servername=servername)
        self.assertIn("New, TLSv1.2", first)
        self.assertEqual(resumed_line(first), "no")
        self.assertTrue(os.path.getsize(sess) > 0)
        return first, sess

    def no_session_id_resumption_on(self, port, servername):
        """A host without session ids, TLS 1.2 without tickets: OpenSSL hands out an id it
        will not resume (the client offers it, gets a full handshake); BoringSSL hands out
        no id at all (the ServerHello's is empty: the client has nothing to offer)."""
        first = s_client(port, "-tls1_2", "-no_ticket", "-sess_out", self.path("none.pem"), servername=servername)
        self.assertIn("New, TLSv1.2", first)
        self.assertEqual(resumed_line(first), "no")
        sid = re.search(r"^\s*Session-ID: *([0-9A-F]*)$", first, re.M)
        self.assertIsNotNone(sid, first[-2000:])
        if tls_library() == "boringssl":
            self.assertEqual(sid.group(1), "", "a session id from a host without session ids")
            self.assertFalse(os.path.exists(self.path("none.pem")), "the client kept a session it cannot resume")
            return
        self.assertRegex(sid.group(1), r"^[0-9A-F]{2,64}$")
        again = s_client(port, "-tls1_2", "-no_ticket", "-sess_in", self.path("none.pem"), servername=servername)
        self.assertIn("New, TLSv1.2", again)
        self.assertEqual(resumed_line(again), "no")


class SessionIds(Tmp):
    @classmethod
    def setUpClass(cls):
        cls.server = Server(workers=2)
        cls.server.start()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def test_tls12_session_id_resumes(self):
        first, sess = self.full_then_resume_tls12(self.server.port)
        again = s_client(self.server.port, "-tls1_2", "-no_ticket", "-sess_in", sess)
        self.assertIn("Reused, TLSv1.2", again)
        self.assertEqual(resumed_line(again), "session-id")
        # The same session: the responder names the same id both times.
        self.assertEqual(body_field(again, "session"), body_field(first, "session"))

    def test_many_reconnects_across_workers_all_resume(self):
        # Two SO_REUSEPORT listeners: the kernel spreads these connections over both
        # workers, and every one must find the session made on whichever worker.
        before = self.server.handshakes("session-id", "TLSv1.2")
        _, sess = self.full_then_resume_tls12(self.server.port)
        results = []
        for _ in range(30):
            out = s_client(self.server.port, "-tls1_2", "-no_ticket", "-sess_in", sess)
            results.append(resumed_line(out))
        self.assertEqual(results, ["session-id"] * 30)
        self.assertTrue(wait_for(lambda: self.server.handshakes("session-id", "TLSv1.2") >= before + 30))

    def test_python_ssl_session_reuse(self):
        ctx = client_context(ssl.TLSVersion.TLSv1_2)
        ctx.options |= ssl.OP_NO_TICKET
        body, session, reused = https_get(self.server.port, ctx)
        self.assertFalse(reused)
        self.assertIn("resumed: no", body)
        self.assertTrue(session.has_ticket is False)
        body, _, reused = https_get(self.server.port, ctx, session=session)
        self.assertTrue(reused)
        self.assertIn("resumed: session-id", body)

    def test_a_session_whose_cipher_is_no_longer_offered_is_a_full_handshake(self):
        # RFC 5246 §7.4.1.2: a resumption keeps the session's suite; OpenSSL alerts when the
        # new ClientHello lacks it. Clients change their suites (upgrades, --ciphers): that
        # must cost a full handshake, never a failed one. By session id and by ticket.
        # (Python ties a session to its context, so one context changes its suites.)
        for tickets in (False, True):
            ctx = client_context(ssl.TLSVersion.TLSv1_2)
            if not tickets:
                ctx.options |= ssl.OP_NO_TICKET
            ctx.set_ciphers("ECDHE-ECDSA-AES128-GCM-SHA256")
            body, session, reused = https_get(self.server.port, ctx)
            self.assertIn("ECDHE-ECDSA-AES128-GCM-SHA256", body)
            self.assertEqual(session.has_ticket, tickets)
            ctx.set_ciphers("ECDHE-ECDSA-CHACHA20-POLY1305")
            body, _, reused = https_get(self.server.port, ctx, session=session)
            self.assertFalse(reused, body)
            self.assertIn("resumed: no", body)
            self.assertIn("CHACHA20", body)
            # The session itself is still good for a client that offers its suite.
            ctx.set_ciphers("ECDHE-ECDSA-AES128-GCM-SHA256")
            body, _, reused = https_get(self.server.port, ctx, session=session)
            self.assertTrue(reused, (tickets, body))

    def test_a_small_session_cache_still_resumes(self):
        # The smallest budgets the config accepts hold a few sessions: split over 64 shards,
        # 16 KiB left each shard 256 bytes, less than one session, and nothing resumed.
        for max_bytes in (1024, 16384):
            with Server(f"[session_cache]\nmax_bytes = {max_bytes}\n", workers=1) as small:
                _, sess = self.full_then_resume_tls12(small.port)
                again = s_client(small.port, "-tls1_2", "-no_ticket", "-sess_in", sess)
                self.assertEqual(resumed_line(again), "session-id", max_bytes)

    def test_a_change_of_extended_master_secret_follows_rfc_7627(self):
        # RFC 7627 §5.3, by session id and by ticket: a session made without the extended
        # master secret is not resumed by a client that now offers it (a full handshake);
        # one made with it, offered by a ClientHello without it, MUST be aborted
        # (handshake_failure, as OpenSSL, BoringSSL and NSS do). The session stays good
        # for the client as it was: a client that stays the same keeps resuming.
        no_extms = 0x1  # SSL_OP_NO_EXTENDED_MASTER_SECRET (OpenSSL 3.0), absent from Python's ssl

        def count(result):
            return metric_sum(self.server, "tlsresume_ticket_decrypt_total", result=result)

        added, dropped = count("extms_mismatch"), count("extms_dropped")
        for tickets in (False, True):
            for first_extms in (True, False):
                ctx = client_context(ssl.TLSVersion.TLSv1_2)
                if not tickets:
                    ctx.options |= ssl.OP_NO_TICKET
                if not first_extms:
                    ctx.options |= no_extms
                body, session, reused = https_get(self.server.port, ctx)
                self.assertFalse(reused)
                self.assertEqual(session.has_ticket, tickets)
                body, _, reused = https_get(self.server.port, ctx, session=session)  # unchanged: resumes
                self.assertTrue(reused, (tickets, first_extms, body))
                ctx.options ^= no_extms  # Python's ssl resumes a session only on its own context
                if first_extms:
                    with self.assertRaisesRegex(ssl.SSLError, "HANDSHAKE_FAILURE", msg=(tickets, first_extms)):
                        https_get(self.server.port, ctx, session=session)
                else:
                    body, _, reused = https_get(self.server.port, ctx, session=session)
                    self.assertFalse(reused, (tickets, first_extms, body))
                    self.assertIn("resumed: no", body)
                ctx.options ^= no_extms
                body, _, reused = https_get(self.server.port, ctx, session=session)  # as it was: resumes
                self.assertTrue(reused, (tickets, first_extms, body))
        self.assertTrue(self.server.alive())
        # The two ticket cases, counted for what they were.
        self.assertEqual(count("extms_mismatch"), added + 1)
        self.assertEqual(count("extms_dropped"), dropped + 1)

    def test_a_session_resumed_by_id_is_not_turned_into_a_ticket(self):
        # A client that got a session id (no ticket support then) resumes with ticket
        # support now: a ticket issued here would start a chain that revoking the session
        # id cannot reach. It keeps resuming by id, and revoking the id ends it.
        ctx = client_context(ssl.TLSVersion.TLSv1_2)
        ctx.options |= ssl.OP_NO_TICKET
        body, session, _ = https_get(self.server.port, ctx)
        sid = body_field(body, "session")
        self.assertTrue(sid)
        ctx.options &= ~ssl.OP_NO_TICKET
        body, resumed_session, reused = https_get(self.server.port, ctx, session=session)
        self.assertTrue(reused, body)
        self.assertIn("resumed: session-id", body)
        self.assertFalse(resumed_session.has_ticket, "a ticket was issued on a session-id resumption")
        status, answer = self.server.admin("POST", f"/revoke?id={sid}")
        self.assertEqual(status, 200, answer)
        _, _, reused = https_get(self.server.port, ctx, session=resumed_session)
        self.assertFalse(reused)

    def test_unknown_session_is_a_full_handshake(self):
        # A session this server never issued (another server's) is not an error.
        with Server(workers=1) as other:
            _, sess = self.full_then_resume_tls12(other.port)
        out = s_client(self.server.port, "-tls1_2", "-no_ticket", "-sess_in", sess)
        self.assertIn("New, TLSv1.2", out)
        self.assertEqual(resumed_line(out), "no")

    def test_store_metrics_count_hits(self):
        _, sess = self.full_then_resume_tls12(self.server.port)
        hits = self.server.metrics()["tlsresume_session_store_hits_total"]
        s_client(self.server.port, "-tls1_2", "-no_ticket", "-sess_in", sess)
        self.assertTrue(wait_for(lambda: self.server.metrics()["tlsresume_session_store_hits_total"] >= hits + 1))
        self.assertGreaterEqual(self.server.metrics()["tlsresume_session_store_entries"], 1)


class StatefulTls13(Tmp):
    def test_tls13_stateful_ticket_resumes(self):
        with Server(config='[default_host]\ntls13_tickets = "stateful"\n', workers=2) as srv:
            sess = self.path("s13.pem")
            # s_client reads the response (-ign_eof, Connection: close), so it has read the
            # NewSessionTicket messages before it writes the session out.
            first = s_client(srv.port, "-tls1_3", "-sess_out", sess)
            self.assertIn("New, TLSv1.3", first)
            self.assertEqual(resumed_line(first), "no")
            entries = srv.metrics()["tlsresume_session_store_entries"]
            self.assertGreaterEqual(entries, 1, "a stateful ticket must be kept in the store")
            for _ in range(3):
                again = s_client(srv.port, "-tls1_3", "-sess_in", sess)
                self.assertIn("Reused, TLSv1.3", again)
                self.assertEqual(resumed_line(again), "stateful-ticket")
            self.assertTrue(wait_for(lambda: srv.handshakes("stateful-ticket", "TLSv1.3") >= 3))
            self.assertEqual(srv.handshakes("ticket", "TLSv1.3"), 0)

    def test_tls13_python_ssl_stateful(self):
        with Server(config='[default_host]\ntls13_tickets = "stateful"\n', workers=2) as srv:
            ctx = client_context(ssl.TLSVersion.TLSv1_3)
            body, session, reused = https_get(srv.port, ctx)
            self.assertFalse(reused)
            self.assertTrue(session.has_ticket)
            body, _, reused = https_get(srv.port, ctx, session=session)
            self.assertTrue(reused, body)
            self.assertIn("resumed: stateful-ticket", body)

    def test_tls13_tickets_off(self):
        with Server(config='[default_host]\ntls13_tickets = "off"\n', workers=1) as srv:
            sess = self.path("off.pem")
            first = s_client(srv.port, "-tls1_3", "-sess_out", sess)
            self.assertIn("New, TLSv1.3", first)
            self.assertNotIn("Post-Handshake New Session Ticket", first)
            # No ticket arrived, so s_client had no session to write out.
            self.assertFalse(os.path.exists(sess) and os.path.getsize(sess) > 0)
            self.assertEqual(srv.metrics()["tlsresume_session_store_entries"], 0)


class Policies(Tmp):
    def test_session_lifetime_expires(self):
        with Server(config='[default_host]\nsession_lifetime = "2s"\n', workers=1) as srv:
            _, sess = self.full_then_resume_tls12(srv.port)
            quick = s_client(srv.port, "-tls1_2", "-no_ticket", "-sess_in", sess)
            self.assertEqual(resumed_line(quick), "session-id")
            time.sleep(3)
            late = s_client(srv.port, "-tls1_2", "-no_ticket", "-sess_in", sess)
            self.assertIn("HTTP/1.1 200 OK", late)
            self.assertIn("New, TLSv1.2", late)
            self.assertEqual(resumed_line(late), "no")

    def test_session_lifetime_expires_tls13_stateful(self):
        with Server(config='[default_host]\nsession_lifetime = "2s"\ntls13_tickets = "stateful"\n', workers=1) as srv:
            sess = self.path("s13.pem")
            s_client(srv.port, "-tls1_3", "-sess_out", sess)
            time.sleep(3)
            late = s_client(srv.port, "-tls1_3", "-sess_in", sess)
            self.assertIn("HTTP/1.1 200 OK", late)
            self.assertEqual(resumed_line(late), "no")

    def test_session_of_host_a_offered_to_host_b(self):
        certs = self.tmp
        a_cert, a_key = make_cert(certs, "a", "a.test")
        b_cert, b_key = make_cert(certs, "b", "b.test")
        config = f"""
[[hosts]]
server_names = ["a.test"]
cert = "{a_cert}"
key = "{a_key}"
[[hosts]]
server_names = ["b.test"]
cert = "{b_cert}"
key = "{b_key}"
"""
        with Server(config=config, workers=2) as srv:
            _, sess = self.full_then_resume_tls12(srv.port, servername="a.test")
            same = s_client(srv.port, "-tls1_2", "-no_ticket", "-sess_in", sess, servername="a.test")
            self.assertEqual(resumed_line(same), "session-id")  # control: it does resume on a.test
            other = s_client(srv.port, "-tls1_2", "-no_ticket", "-sess_in", sess, servername="b.test")
            self.assertIn("HTTP/1.1 200 OK", other)
            self.assertIn("New, TLSv1.2", other)
            self.assertEqual(body_field(other, "vhost"), "b.test")
            self.assertEqual(resumed_line(other), "no")
            default = s_client(srv.port, "-tls1_2", "-no_ticket", "-sess_in", sess, servername="unknown.test")
            self.assertEqual(body_field(default, "vhost"), "default")
            self.assertEqual(resumed_line(default), "no")

    def test_tls13_stateful_ticket_of_host_a_offered_to_host_b(self):
        a_cert, a_key = make_cert(self.tmp, "a", "a.test")
        b_cert, b_key = make_cert(self.tmp, "b", "b.test")
        config = f"""
[default_host]
tls13_tickets = "stateful"
[[hosts]]
server_names = ["a.test"]
cert = "{a_cert}"
key = "{a_key}"
[[hosts]]
server_names = ["b.test"]
cert = "{b_cert}"
key = "{b_key}"
"""
        with Server(config=config, workers=2) as srv:
            sess = self.path("a13.pem")
            s_client(srv.port, "-tls1_3", "-sess_out", sess, servername="a.test")
            same = s_client(srv.port, "-tls1_3", "-sess_in", sess, servername="a.test")
            self.assertEqual(resumed_line(same), "stateful-ticket")  # control
            misses = srv.metrics()["tlsresume_session_store_misses_total"]
            other = s_client(srv.port, "-tls1_3", "-sess_in", sess, servername="b.test")
            self.assertIn("HTTP/1.1 200 OK", other)
            self.assertIn("New, TLSv1.3", other)
            self.assertEqual(body_field(other, "vhost"), "b.test")
            self.assertEqual(resumed_line(other), "no")
            # The client did offer the ticket, and b's store lookup did not find it.
            self.assertGreaterEqual(srv.metrics()["tlsresume_session_store_misses_total"], misses + 1)

    def test_session_ids_off(self):
        config = 'workers = 1\n[default_host]\nsession_ids = false\n'
        with Server(config=config, workers=1) as srv:
            _, sess = self.full_then_resume_tls12(srv.port)
            again = s_client(srv.port, "-tls1_2", "-no_ticket", "-sess_in", sess)
            self.assertIn("HTTP/1.1 200 OK", again)
            self.assertIn("New, TLSv1.2", again)
            self.assertEqual(resumed_line(again), "no")
            self.assertEqual(srv.metrics()["tlsresume_session_store_entries"], 0)

    def test_session_ids_off_on_one_host_only(self):
        a_cert, a_key = make_cert(self.tmp, "a", "a.test")
        config = f"""
[[hosts]]
server_names = ["a.test"]
cert = "{a_cert}"
key = "{a_key}"
session_ids = false
"""
        with Server(config=config, workers=1) as srv:
            self.no_session_id_resumption_on(srv.port, "a.test")
            first = s_client(srv.port, "-tls1_2", "-no_ticket", "-sess_out", self.path("d.pem"))
            self.assertEqual(resumed_line(first), "no")
            d = s_client(srv.port, "-tls1_2", "-no_ticket", "-sess_in", self.path("d.pem"))
            self.assertEqual(resumed_line(d), "session-id")

    def test_hosts_inherit_default_policy(self):
        # session_ids = false on the default host is inherited by a [[hosts]] entry.
        a_cert, a_key = make_cert(self.tmp, "a", "a.test")
        config = f"""
[default_host]
session_ids = false
[[hosts]]
server_names = ["a.test"]
cert = "{a_cert}"
key = "{a_key}"
"""
        with Server(config=config, workers=1) as srv:
            self.no_session_id_resumption_on(srv.port, "a.test")
            self.assertEqual(srv.metrics()["tlsresume_session_store_entries"], 0)


if __name__ == "__main__":
    unittest.main()
