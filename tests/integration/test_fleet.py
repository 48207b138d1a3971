"""Fleet mode end to end: several real `tlsresume serve` processes on one real
redis-server share their stored sessions (TLS 1.2 session ids, TLS 1.3 stateful tickets),
their ticket keys and one revocation list.

The clients are openssl s_client, gnutls-cli and Python's ssl. Assertions are on what they
see (s_client's New/Reused, gnutls-cli's "resumed session", the built-in responder's
`resumed:` line) and on the servers' /metrics, /fleet and logs. Every wait is bounded.

Run: cd tests/integration && TLSRESUME_BIN=/path/to/tlsresume python3 -m unittest -v test_fleet
"""
import json
import os
import re
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import unittest

import redis_fixture
from harness import (Server, body_field, client_context, free_port, https_get, make_cert, metric_sum, resumed_line,
                     run_bin, s_client, wait_for)
from redis_fixture import Redis

GNUTLS_RESUMED = "*** This is a resumed session"
HTTP_REQUEST = b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
# Generous for a loaded two-core machine, so that a cross-server resumption never depends on
# the scheduler; the Redis-failure tests pause Redis for far longer than this.
LOOKUP_TIMEOUT = "50ms"
DOWN_LINE = re.compile(r"fleet: Redis \S+ unreachable: ")
UP_LINE = re.compile(r"fleet: Redis \S+ is up ")
HEX64 = re.compile(r"[0-9a-fA-F]{64}")
# The ACL docs/fleet.md tells operators to give the fleet's user.
FLEET_ACL = ("resetkeys ~tlsresume:* ~{tlsresume}:* resetchannels -@all +get +set +del +getrange +scan +hget "
             "+hset +hsetnx +hgetall +hdel +pexpireat +incr +eval +ping +client|setname")


def require_redis():
    reason = redis_fixture.available()
    if reason:
        raise unittest.SkipTest(reason)


# --------------------------------------------------------------------------- configuration

class Certs:
    """One certificate per host name, shared by every server of a fleet (as in production)."""

    def __init__(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="tlsresume-fleet-certs-")
        self.dir = self._tmp.name
        self.pairs = {}

    def get(self, cn):
        if cn not in self.pairs:
            self.pairs[cn] = make_cert(self.dir, cn.replace(".", "_"), cn)
        return self.pairs[cn]

    def write(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def cleanup(self):
        self._tmp.cleanup()


def fleet_config(certs, redis_url, node, rotation=None, fleet_extra="", hosts=(), lookup_timeout=LOOKUP_TIMEOUT,
                 default_extra=""):
    """A server of the fleet. hosts: (server name, extra TOML lines) for [[hosts]] entries;
    default_extra: TOML lines of [default_host], which every host inherits."""
    cert, key = certs.get("localhost")
    cfg = (f'[fleet]\nredis = "{redis_url}"\nnode_name = "{node}"\nlookup_timeout = "{lookup_timeout}"\n'
           f'{fleet_extra}')
    if rotation:
        cfg += f'[tickets]\nkey_rotation = "{rotation}"\n'
    cfg += f'[default_host]\ncert = "{cert}"\nkey = "{key}"\n{default_extra}'
    for name, extra in hosts:
        hc, hk = certs.get(name)
        cfg += f'[[hosts]]\nserver_names = ["{name}"]\ncert = "{hc}"\nkey = "{hk}"\n{extra}'
    return cfg


# A host with TLS 1.3 stateful tickets, on a server that issues one TLS 1.3 ticket per
# handshake (ONE_TICKET, in [default_host]): one full handshake is then one write to Redis,
# which the tests wait for before resuming elsewhere. The whole server issues one because
# BoringSSL issues one number of TLS 1.3 tickets per listener (the hosts must agree).
STATEFUL_HOST = ("stateful.test", 'tls13_tickets = "stateful"\n')
ONE_TICKET = "tickets_per_connection = 1\n"


# --------------------------------------------------------------------------- observations

def fleet_json(srv):
    status, body = srv.admin("GET", "/fleet")
    assert status == 200, (status, body)
    return json.loads(body)


def fleet_keys(srv, state="current"):
    return [k["id"] for k in fleet_json(srv)["keys"] if k["origin"] == "fleet" and k["state"] == state]


def seals_with_fleet_key(srv):
    """srv encrypts with a fleet key. A fleet key shown "current" is not enough: the
    server's own key is shown "current" beside it until the keyring's next tick (up to a
    second) and seals until then; only when it shows retired does the fleet key seal."""
    current = [k for k in fleet_json(srv)["keys"] if k["state"] == "current"]
    return bool(current) and all(k["origin"] == "fleet" for k in current)


def all_on_fleet_key(servers):
    return all(seals_with_fleet_key(s) for s in servers)


def fleet_up(srv):
    return metric_sum(srv, "tlsresume_fleet_up") == 1


def writes(srv):
    return metric_sum(srv, "tlsresume_fleet_writes_total")


def lookups(srv, result):
    return metric_sum(srv, "tlsresume_fleet_lookups_total", result=result)


def failed(srv):
    return metric_sum(srv, "tlsresume_handshakes_total", kind="failed")


def log_lines(srv, pattern):
    return [l for l in srv.output().splitlines() if pattern.search(l)]


def fleet_state(servers):
    """For failure messages: what each server's /fleet says."""
    out = []
    for s in servers:
        try:
            out.append(fleet_json(s))
        except Exception as e:  # noqa: BLE001 - a diagnostic only
            out.append(repr(e))
    return json.dumps(out, indent=1)[-4000:]


# --------------------------------------------------------------------------- clients

def ctx12_session_id():
    ctx = client_context(ssl.TLSVersion.TLSv1_2)
    ctx.options |= ssl.OP_NO_TICKET
    return ctx


def get(port, ctx, session=None, server_hostname="localhost"):
    """One request with Python's ssl: (body, session, resumed line). Never a failed handshake."""
    body, sess, _ = https_get(port, ctx, session=session, server_hostname=server_hostname)
    assert "HTTP/1.1 200 OK" in body, body[-2000:]
    return body, sess, resumed_line(body)


def s_reused(text):
    if re.search(r"^Reused, ", text, re.M):
        return True
    if re.search(r"^New, ", text, re.M):
        return False
    raise AssertionError("s_client printed neither 'New,' nor 'Reused,' (handshake failed?):\n" + text[-3000:])


class SplitProxy:
    """A TCP relay on a free port whose n-th connection goes to ports[n] (the last one for any
    further), after before_connect(n) returned. gnutls-cli --resume makes both its
    connections to one address: through this relay they reach two servers."""

    def __init__(self, ports, before_connect=lambda n: None):
        self.ports = list(ports)
        self.before_connect = before_connect
        self.routed = []
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.port = self.listener.getsockname()[1]
        self.accepted = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self):
        self.listener.close()

    def _accept(self):
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            n = self.accepted
            self.accepted += 1
            threading.Thread(target=self._relay, args=(conn, n), daemon=True).start()

    @staticmethod
    def _pump(src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            try:
                dst.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    def _relay(self, conn, n):
        port = self.ports[min(n, len(self.ports) - 1)]
        try:
            self.before_connect(n)
            up = socket.create_connection(("127.0.0.1", port), timeout=10)
        except Exception:  # noqa: BLE001 - the client then sees the connection close
            conn.close()
            return
        self.routed.append(port)
        back = threading.Thread(target=self._pump, args=(up, conn), daemon=True)
        back.start()
        self._pump(conn, up)
        back.join(timeout=20)
        conn.close()
        up.close()


def gnutls_resume(port, priority, *extra, timeout=30):
    p = subprocess.run(["gnutls-cli", "--insecure", "--resume", "-p", str(port), "127.0.0.1", "--priority", priority,
                        *extra], input=HTTP_REQUEST, capture_output=True, timeout=timeout)
    return p.stdout.decode(errors="replace") + p.stderr.decode(errors="replace")


# --------------------------------------------------------------------------- fixtures

class FleetCase(unittest.TestCase):
    """A Redis and a fleet of servers on it, per class (setUpClass) or per test (fleet())."""

    @classmethod
    def setUpClass(cls):
        require_redis()
        cls.certs = Certs()
        cls.addClassCleanup(cls.certs.cleanup)

    @classmethod
    def start_redis(cls, cleanup, **kw):
        r = Redis(**kw)
        cleanup(r.tmp.cleanup)
        r.start()
        cleanup(r.stop)
        return r

    @classmethod
    def start_servers(cls, cleanup, redis_url, names, **kw):
        servers = []
        for name in names:
            srv = Server(fleet_config(cls.certs, redis_url, name, **kw), workers=2)
            srv.start()
            cleanup(srv.stop)
            servers.append(srv)
        return servers

    def wait_fleet_keys(self, servers, timeout=15):
        ok = wait_for(lambda: all_on_fleet_key(servers), timeout=timeout, interval=0.2)
        self.assertTrue(ok, f"not every server encrypts with a fleet key after {timeout} s:\n{fleet_state(servers)}")

    def tmpfile(self, name):
        if not hasattr(self, "_tmp"):
            self._tmp = tempfile.TemporaryDirectory(prefix="tlsresume-fleet-")
            self.addCleanup(self._tmp.cleanup)
        return os.path.join(self._tmp.name, name)

    def new_session_id_on(self, srv, ctx):
        """A full TLS 1.2 handshake without tickets on srv (ctx: ctx12_session_id()), written
        to Redis: (session, id)."""
        before = writes(srv)
        body, sess, line = get(srv.port, ctx)
        self.assertEqual(line, "no", body)
        self.assertTrue(wait_for(lambda: writes(srv) > before, timeout=3), "the session was not written to Redis")
        return sess, body_field(body, "session")


# --------------------------------------------------------------------------- 1. three servers

class ThreeServersShareResumption(FleetCase):
    """A, B and C on one Redis: what A issues resumes on B and C, whatever the client."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.redis = cls.start_redis(cls.addClassCleanup)
        cls.a, cls.b, cls.c = cls.start_servers(cls.addClassCleanup, cls.redis.url, ["node-a", "node-b", "node-c"],
                                                hosts=[STATEFUL_HOST], default_extra=ONE_TICKET)
        cls.servers = [cls.a, cls.b, cls.c]
        if not wait_for(lambda: all_on_fleet_key(cls.servers), timeout=15, interval=0.2):
            raise AssertionError("no fleet key current everywhere after 15 s:\n" + fleet_state(cls.servers))

    def tearDown(self):
        for s in self.servers:
            self.assertEqual(failed(s), 0, f"a failed handshake on {fleet_json(s)['node']}")

    # --- openssl s_client ---
    def s_client_case(self, args, expected, servername="localhost", written=False):
        sess = self.tmpfile(f"s-{expected}-{len(args)}.pem")
        before = writes(self.a)
        first = s_client(self.a.port, "-sess_out", sess, *args, servername=servername)
        self.assertFalse(s_reused(first), first[-2000:])
        self.assertEqual(resumed_line(first), "no")
        self.assertTrue(os.path.exists(sess) and os.path.getsize(sess) > 0, first[-2000:])
        if written:
            self.assertTrue(wait_for(lambda: writes(self.a) > before, timeout=3), "not written to Redis")
        for srv in (self.b, self.c):
            hits = lookups(srv, "hit")
            out = s_client(srv.port, "-sess_in", sess, *args, servername=servername)
            self.assertTrue(s_reused(out), f"{expected} from A not resumed on {fleet_json(srv)['node']}:\n{out[-2000:]}")
            self.assertEqual(resumed_line(out), expected, out[-2000:])
            self.assertEqual(body_field(out, "session") is not None, True)
            if written:
                # B had no copy: it came through the fleet's store...
                self.assertTrue(wait_for(lambda: lookups(srv, "hit") >= hits + 1, timeout=2),
                                "the resumption did not come through a fleet lookup")
                # ...and is now in B's own store: the next resumption asks Redis nothing.
                out = s_client(srv.port, "-sess_in", sess, *args, servername=servername)
                self.assertEqual(resumed_line(out), expected, out[-2000:])
                self.assertEqual(lookups(srv, "hit"), hits + 1)

    def test_s_client_tls12_session_id(self):
        self.s_client_case(["-tls1_2", "-no_ticket"], "session-id", written=True)

    def test_s_client_tls12_ticket(self):
        self.s_client_case(["-tls1_2"], "ticket")

    def test_s_client_tls13_stateless_ticket(self):
        self.s_client_case(["-tls1_3"], "ticket")

    def test_s_client_tls13_stateful_ticket(self):
        self.s_client_case(["-tls1_3"], "stateful-ticket", servername="stateful.test", written=True)

    # --- gnutls-cli: its --resume reconnects to the same address; the relay sends the
    # --- second connection to B (or C)
    def gnutls_case(self, priority, expected, *extra, written=False):
        for other in (self.b, self.c):
            before = writes(self.a)

            def after_first(n):
                if n == 1 and written:
                    wait_for(lambda: writes(self.a) > before, timeout=3)

            proxy = SplitProxy([self.a.port, other.port], after_first)
            self.addCleanup(proxy.close)
            resumed_here = metric_sum(other, "tlsresume_handshakes_total", kind=expected)
            out = gnutls_resume(proxy.port, priority, *extra)
            self.assertEqual(proxy.routed, [self.a.port, other.port], out[-2000:])
            self.assertIn(GNUTLS_RESUMED, out, out[-3000:])
            self.assertEqual(resumed_line(out), expected, out[-3000:])
            self.assertTrue(wait_for(lambda: metric_sum(other, "tlsresume_handshakes_total",
                                                        kind=expected) >= resumed_here + 1),
                            "the resumption was not on the second server")

    def test_gnutls_tls12_session_id(self):
        self.gnutls_case("NORMAL:-VERS-ALL:+VERS-TLS1.2:%NO_TICKETS", "session-id", written=True)

    def test_gnutls_tls12_ticket(self):
        self.gnutls_case("NORMAL:-VERS-ALL:+VERS-TLS1.2", "ticket")

    def test_gnutls_tls13_stateless_ticket(self):
        self.gnutls_case("NORMAL:-VERS-ALL:+VERS-TLS1.3", "ticket", "--waitresumption")

    def test_gnutls_tls13_stateful_ticket(self):
        self.gnutls_case("NORMAL:-VERS-ALL:+VERS-TLS1.3", "stateful-ticket", "--waitresumption",
                         "--sni-hostname", "stateful.test", written=True)

    # --- Python's ssl: the session of a connection to A, on new connections to B and C
    def python_case(self, ctx, expected, server_hostname="localhost", written=False):
        before = writes(self.a)
        body, sess, line = get(self.a.port, ctx, server_hostname=server_hostname)
        self.assertEqual(line, "no", body)
        if written:
            self.assertTrue(wait_for(lambda: writes(self.a) > before, timeout=3), "not written to Redis")
        for srv in (self.b, self.c):
            body, _, line = get(srv.port, ctx, session=sess, server_hostname=server_hostname)
            self.assertEqual(line, expected, f"on {fleet_json(srv)['node']}:\n{body}")

    def test_python_tls12_session_id(self):
        self.python_case(ctx12_session_id(), "session-id", written=True)

    def test_python_tls12_ticket(self):
        self.python_case(client_context(ssl.TLSVersion.TLSv1_2), "ticket")

    def test_python_tls13_stateless_ticket(self):
        self.python_case(client_context(ssl.TLSVersion.TLSv1_3), "ticket")

    def test_python_tls13_stateful_ticket(self):
        self.python_case(client_context(ssl.TLSVersion.TLSv1_3), "stateful-ticket", server_hostname="stateful.test",
                         written=True)

    # --- what every server shows of the fleet
    def test_every_server_sees_the_same_fleet(self):
        views = [fleet_json(s) for s in self.servers]
        names = ["node-a", "node-b", "node-c"]
        self.assertEqual([v["node"] for v in views], names)
        holders = {v["lease_holder"] for v in views}
        self.assertEqual(len(holders), 1, views)
        self.assertIn(holders.pop(), names)
        for v in views:
            self.assertTrue(v["up"], v)
            self.assertTrue(v["keys_synced"], v)
            self.assertEqual(v["redis"], self.redis.url)
            self.assertEqual(v["revocations_pending"], 0)
            self.assertEqual(sorted(n["name"] for n in v["nodes"]), names, v)
        fleet_ids = [sorted(k["id"] for k in v["keys"] if k["origin"] == "fleet") for v in views]
        # Within a poll period every server has every key the fleet made (the lease holder
        # may have made the next one between two of these reads: compare again then).
        if len({tuple(i) for i in fleet_ids}) != 1:
            time.sleep(1.2)
            fleet_ids = [sorted(k["id"] for k in fleet_json(s)["keys"] if k["origin"] == "fleet") for s in self.servers]
        self.assertEqual(len({tuple(i) for i in fleet_ids}), 1, fleet_ids)
        created = sum(metric_sum(s, "tlsresume_fleet_keys_created_total") for s in self.servers)
        self.assertGreaterEqual(created, 1)
        for s in self.servers:
            p = s.ctl("fleet", "--json")
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(json.loads(p.stdout)["node"], fleet_json(s)["node"])
            text = s.ctl("fleet")
            self.assertEqual(text.returncode, 0, text.stderr)
            self.assertIn("lease holder", text.stdout)
            for n in names:
                self.assertIn(n, text.stdout)
            for out in (p.stdout, text.stdout, s.admin("GET", "/fleet")[1]):
                self.assertIsNone(HEX64.search(out), "key material in the fleet view:\n" + out)
        # What the fleet keeps in Redis, under the documented names only.
        keys = self.redis.keys("*")
        for k in keys:
            self.assertTrue(k.startswith(b"tlsresume:s:") or k.startswith(b"{tlsresume}:"), k)
        for control in (b"{tlsresume}:keys", b"{tlsresume}:lease", b"{tlsresume}:nodes"):
            self.assertIn(control, keys)


# --------------------------------------------------------------------------- 2. rotations

class TicketsThroughRotations(FleetCase):
    def test_continuous_load_through_three_rotations(self):
        redis = self.start_redis(self.addCleanup)
        servers = self.start_servers(self.addCleanup, redis.url, ["rot-a", "rot-b", "rot-c"], rotation="6s")
        ctxs = {"TLSv1.3": client_context(ssl.TLSVersion.TLSv1_3), "TLSv1.2": client_context(ssl.TLSVersion.TLSv1_2)}
        held = dict.fromkeys(ctxs)  # version -> (session, issued after every server was on a fleet key)
        sent = dict.fromkeys(ctxs, 0)
        offered = dict.fromkeys(ctxs, 0)
        resumed = dict.fromkeys(ctxs, 0)
        misses = []
        fleet_since = None
        current = []  # successive current fleet keys of the first server, once all are on one
        start = time.time()
        next_look = 0.0
        i = 0
        while time.time() < start + 50:
            now = time.time()
            if now >= next_look:
                next_look = now + 0.25
                if fleet_since is None:
                    if all_on_fleet_key(servers):
                        fleet_since = now
                else:
                    ids = fleet_keys(servers[0])
                    if ids and (not current or current[-1] != ids[0]):
                        current.append(ids[0])
                    if len(current) >= 4:
                        break
            version = ("TLSv1.3", "TLSv1.2")[i % 2]
            i += 1
            srv = servers[sent[version] % 3]  # each version goes A, B, C, A, ... with its last ticket
            sent[version] += 1
            in_fleet_era = fleet_since is not None
            session, sealed_by_fleet = held[version] or (None, False)
            body, new_session, line = get(srv.port, ctxs[version], session=session)
            self.assertIn(version, body)
            if session is not None and sealed_by_fleet:
                offered[version] += 1
                if line == "ticket":
                    resumed[version] += 1
                else:
                    misses.append((round(now - start, 2), version, fleet_json(srv)["node"], line))
            self.assertTrue(new_session.has_ticket, body)
            # A ticket got on a connection that started once every server encrypted with a
            # fleet key is sealed with a fleet key (a server's own key could not have opened
            # the previous hop's ticket, so no such ticket survives a hop).
            held[version] = (new_session, in_fleet_era)
        self.assertIsNotNone(fleet_since, "the fleet never had a key current everywhere:\n" + fleet_state(servers))
        self.assertLess(fleet_since - start, 12, "the fleet's first key took too long")
        self.assertGreaterEqual(len(current), 4, f"fewer than three rotations in the loop: {current}")
        self.assertEqual(misses, [], f"fleet tickets not resumed (of {offered} offered)")
        for version in ctxs:
            self.assertGreaterEqual(offered[version], 50, offered)
            self.assertEqual(resumed[version], offered[version])
        for s in servers:
            self.assertEqual(failed(s), 0, fleet_json(s)["node"])
            # Every server resumed tickets (the load really went round).
            self.assertGreater(metric_sum(s, "tlsresume_handshakes_total", kind="ticket"), 10)


# --------------------------------------------------------------------------- 3. Redis failures

class Load(threading.Thread):
    """Connections round the servers without pause: TLS 1.2 session ids and TLS 1.3 tickets,
    each reusing the last session. Records every client-side failure."""

    def __init__(self, servers):
        super().__init__(daemon=True)
        self.servers = servers
        self.halt = threading.Event()
        self.errors = []
        self.count = 0

    def run(self):
        ctxs = [ctx12_session_id(), client_context(ssl.TLSVersion.TLSv1_3)]
        sessions = [None, None]
        i = 0
        while not self.halt.is_set():
            k = i % 2
            srv = self.servers[(i // 2) % len(self.servers)]
            i += 1
            try:
                started = time.monotonic()
                body, sessions[k], _ = https_get(srv.port, ctxs[k], session=sessions[k])
                if "HTTP/1.1 200 OK" not in body:
                    self.errors.append((srv.port, k, body[-300:]))
                elif time.monotonic() - started > 3:
                    self.errors.append((srv.port, k, f"took {time.monotonic() - started:.1f} s"))
            except Exception as e:  # noqa: BLE001 - every failure is the finding
                self.errors.append((srv.port, k, repr(e)))
            self.count += 1
            time.sleep(0.005)

    def stop(self):
        self.halt.set()
        self.join(timeout=30)

    def wait_more(self, n, timeout=10):
        target = self.count + n
        return wait_for(lambda: self.count >= target, timeout=timeout)


class RedisFailures(FleetCase):
    def cross_server_session_id(self, a, b):
        """True if a session id made on a now resumes on b (through Redis)."""
        ctx = ctx12_session_id()
        before = writes(a)
        _, sess, _ = get(a.port, ctx)
        if not wait_for(lambda: writes(a) > before, timeout=1):
            return False
        _, _, line = get(b.port, ctx, session=sess)
        return line == "session-id"

    def test_redis_killed_restarted_paused_continued(self):
        redis = self.start_redis(self.addCleanup)
        servers = self.start_servers(self.addCleanup, redis.url, ["fail-a", "fail-b", "fail-c"])
        a, b, c = servers
        self.assertTrue(wait_for(lambda: all(fleet_up(s) for s in servers), timeout=5), fleet_state(servers))
        self.wait_fleet_keys(servers)
        ctx13 = client_context(ssl.TLSVersion.TLSv1_3)
        _, old_ticket, _ = get(a.port, ctx13)
        (old_key,) = fleet_keys(a)
        load = Load(servers)
        load.start()
        self.addCleanup(load.stop)
        self.assertTrue(wait_for(lambda: self.cross_server_session_id(a, b), timeout=5), "no fleet to start with")

        # --- killed: lookups are skipped, handshakes complete
        redis.kill()
        self.assertTrue(wait_for(lambda: not any(fleet_up(s) for s in servers), timeout=5),
                        "the servers did not notice Redis was gone:\n" + fleet_state(servers))
        for s in servers:
            self.assertTrue(fleet_json(s)["last_error"], fleet_json(s))
        ctx = ctx12_session_id()
        _, sess, _ = get(a.port, ctx)
        started = time.monotonic()
        _, _, line = get(b.port, ctx, session=sess)
        self.assertEqual(line, "no")
        self.assertLess(time.monotonic() - started, 1.0, "a handshake waited for a Redis that is down")
        # The same session still resumes where it was made.
        self.assertEqual(get(a.port, ctx, session=sess)[2], "session-id")
        self.assertTrue(load.wait_more(30), "the load stalled while Redis was down")

        # --- restarted on the same port: back without restarting any server
        redis.start()
        self.assertTrue(wait_for(lambda: self.cross_server_session_id(a, c), timeout=10, interval=0.2),
                        "cross-server resumption did not come back after Redis restarted:\n" + fleet_state(servers))
        self.assertTrue(wait_for(lambda: all(fleet_up(s) for s in servers), timeout=10), fleet_state(servers))
        # Redis came back empty: the lease holder makes a new first key. The key every server
        # learnt before goes on opening (and, until the new one starts, sealing) tickets, and
        # every server still shows it as the fleet's.
        self.assertTrue(wait_for(lambda: all(any(k["id"] != old_key for k in fleet_json(s)["keys"] if k["origin"] == "fleet")
                                             for s in servers), timeout=10, interval=0.2),
                        "no new fleet key after Redis restarted empty:\n" + fleet_state(servers))
        for s in servers:
            shown = {k["id"]: k for k in fleet_json(s)["keys"]}
            self.assertIn(old_key, shown, f"the key sealing before the restart vanished from /fleet:\n{fleet_state([s])}")
            self.assertEqual(shown[old_key]["origin"], "fleet")
        self.assertTrue(all_on_fleet_key(servers), fleet_state(servers))
        self.assertEqual(get(c.port, ctx13, session=old_ticket)[2], "ticket")

        # --- paused: a lookup ends at lookup_timeout, counted; the link drops after silence
        redis.pause()
        self.addCleanup(redis.resume)  # so that teardown's SIGKILL is not the only way out
        timeouts = lookups(b, "timeout")
        _, sess, _ = get(a.port, ctx)
        started = time.monotonic()
        _, _, line = get(b.port, ctx, session=sess)
        self.assertEqual(line, "no")
        self.assertLess(time.monotonic() - started, 1.0, "a handshake waited for a paused Redis")
        self.assertGreaterEqual(lookups(b, "timeout"), timeouts + 1, "the lookup to a paused Redis was not a timeout")
        self.assertTrue(wait_for(lambda: not any(fleet_up(s) for s in servers), timeout=5),
                        "the servers did not drop the link to a paused Redis:\n" + fleet_state(servers))
        self.assertTrue(load.wait_more(30), "the load stalled while Redis was paused")
        redis.resume()
        self.assertTrue(wait_for(lambda: self.cross_server_session_id(b, c), timeout=10, interval=0.2),
                        "cross-server resumption did not come back after SIGCONT:\n" + fleet_state(servers))
        self.assertTrue(wait_for(lambda: all(fleet_up(s) for s in servers), timeout=10), fleet_state(servers))

        load.stop()
        self.assertEqual(load.errors, [], f"client failures during the outages ({load.count} connections)")
        self.assertGreater(load.count, 100)
        for s in servers:
            node = fleet_json(s)["node"]
            self.assertEqual(failed(s), 0, f"failed handshakes on {node}")
            downs, ups = log_lines(s, DOWN_LINE), log_lines(s, UP_LINE)
            # Two outages: one line each when the link went and one when it came back
            # (after the first "up" at start), however many reconnection attempts failed.
            self.assertEqual(len(downs), 2, f"{node}: {downs}")
            self.assertEqual(len(ups), 3, f"{node}: {ups}")
            self.assertEqual(metric_sum(s, "tlsresume_fleet_link_downs_total"), 2, node)


# --------------------------------------------------------------------------- 4. revocation

class RevocationAcrossTheFleet(FleetCase):
    """A revocation on A is refused by B and C within one second, also for sessions that
    they had resumed (and so keep in their own stores) before it."""

    LIMIT = 1.0

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.redis = cls.start_redis(cls.addClassCleanup)
        cls.a, cls.b, cls.c = cls.start_servers(cls.addClassCleanup, cls.redis.url, ["rev-a", "rev-b", "rev-c"],
                                                hosts=[("rev.test", "")])
        cls.servers = [cls.a, cls.b, cls.c]
        if not wait_for(lambda: all_on_fleet_key(cls.servers), timeout=15, interval=0.2):
            raise AssertionError("no fleet key current everywhere after 15 s:\n" + fleet_state(cls.servers))

    def tearDown(self):
        for s in self.servers:
            self.assertEqual(failed(s), 0)

    def resumes_everywhere(self, ctx, sess, expected, server_hostname="localhost"):
        for srv in (self.b, self.c):
            _, _, line = get(srv.port, ctx, session=sess, server_hostname=server_hostname)
            self.assertEqual(line, expected, f"before the revocation, on {fleet_json(srv)['node']}")

    def revoke_on_a(self, query):
        """POSTs the revocation on A without waiting for the answer (for a host or a time A
        answers once the current second is over, so that what is issued after the answer is
        not covered); returns when it was sent. The answer is checked at cleanup."""
        answers = []
        poster = threading.Thread(target=lambda: answers.append(self.a.admin("POST", f"/revoke?{query}")), daemon=True)
        t0 = time.monotonic()
        poster.start()

        def answered():
            poster.join(timeout=15)
            self.assertEqual(len(answers), 1, "POST /revoke got no answer")
            self.assertEqual(answers[0][0], 200, answers[0])
        self.revocation_answered = answered
        self.addCleanup(answered)
        return t0

    def refused_within(self, t0, cases):
        """cases: label -> function giving the responder's resumed line. Polls until each is
        refused ("no"); fails if one is not within LIMIT of t0."""
        pending = dict(cases)
        seen = {}
        while pending and time.monotonic() < t0 + self.LIMIT + 2:
            for label, fn in list(pending.items()):
                line = fn()
                if line == "no":
                    seen[label] = round(time.monotonic() - t0, 3)
                    del pending[label]
            time.sleep(0.02)
        self.assertEqual(list(pending), [], f"still resumed after {self.LIMIT + 2} s (refused: {seen})")
        late = {k: v for k, v in seen.items() if v > self.LIMIT}
        self.assertEqual(late, {}, f"refused, but later than {self.LIMIT} s after the revocation: {seen}")

    def test_1_revoke_id(self):
        ctx = ctx12_session_id()
        victim, sid = self.new_session_id_on(self.a, ctx)
        bystander, _ = self.new_session_id_on(self.a, ctx)
        self.resumes_everywhere(ctx, victim, "session-id")
        self.resumes_everywhere(ctx, bystander, "session-id")
        merged = {s: metric_sum(s, "tlsresume_fleet_revocations_merged_total") for s in (self.b, self.c)}
        t0 = self.revoke_on_a(f"id={sid}")
        self.refused_within(t0, {f"{name} id": (lambda srv=srv: get(srv.port, ctx, session=victim)[2])
                                 for name, srv in (("B", self.b), ("C", self.c))})
        for s, before in merged.items():
            self.assertGreater(metric_sum(s, "tlsresume_fleet_revocations_merged_total"), before)
        self.resumes_everywhere(ctx, bystander, "session-id")  # only that id
        self.assertEqual(get(self.a.port, ctx, session=victim)[2], "no")

    def test_2_revoke_host(self):
        ctx = client_context(ssl.TLSVersion.TLSv1_3)
        _, victim, _ = get(self.a.port, ctx, server_hostname="rev.test")
        _, bystander, _ = get(self.a.port, ctx)
        self.resumes_everywhere(ctx, victim, "ticket", server_hostname="rev.test")
        self.resumes_everywhere(ctx, bystander, "ticket")
        t0 = self.revoke_on_a("host=rev.test")
        self.refused_within(t0, {
            f"{name} host": (lambda srv=srv: get(srv.port, ctx, session=victim, server_hostname="rev.test")[2])
            for name, srv in (("B", self.b), ("C", self.c))})
        self.resumes_everywhere(ctx, bystander, "ticket")  # only that host

    def test_3_revoke_before_now(self):
        sid_ctx, ticket_ctx, ctx13 = ctx12_session_id(), client_context(ssl.TLSVersion.TLSv1_2), client_context(
            ssl.TLSVersion.TLSv1_3)
        by_id, _ = self.new_session_id_on(self.a, sid_ctx)
        _, by_ticket, _ = get(self.a.port, ticket_ctx)
        _, by_tls13, _ = get(self.a.port, ctx13, server_hostname="rev.test")
        self.resumes_everywhere(sid_ctx, by_id, "session-id")
        self.resumes_everywhere(ticket_ctx, by_ticket, "ticket")
        t0 = self.revoke_on_a("before=now")
        cases = {}
        for name, srv in (("B", self.b), ("C", self.c)):
            cases[f"{name} session id"] = lambda srv=srv: get(srv.port, sid_ctx, session=by_id)[2]
            cases[f"{name} TLS 1.2 ticket"] = lambda srv=srv: get(srv.port, ticket_ctx, session=by_ticket)[2]
            cases[f"{name} TLS 1.3 ticket"] = (lambda srv=srv: get(srv.port, ctx13, session=by_tls13,
                                                                    server_hostname="rev.test")[2])
        self.refused_within(t0, cases)
        # A answers once the revocation's second is over: a session made after the answer is
        # not covered, on any server.
        self.revocation_answered()
        fresh, _ = self.new_session_id_on(self.a, sid_ctx)
        self.resumes_everywhere(sid_ctx, fresh, "session-id")


# --------------------------------------------------------------------------- 5. rediss + ACL

class TlsRedisWithAclUser(FleetCase):
    """rediss:// to a Redis that has the default user off and the fleet's user limited to the
    keys and commands docs/fleet.md lists."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.redis = Redis(tls=True, acl_lines=["user default off",
                                               "user admin on >admin-pw ~* &* +@all",
                                               f"user tlsresume on >fleet-pw {FLEET_ACL}"])
        cls.redis.admin_user = ("admin", "admin-pw")
        cls.addClassCleanup(cls.redis.tmp.cleanup)
        cls.redis.start()
        cls.addClassCleanup(cls.redis.stop)
        cls.good_pw = cls.certs.write("fleet.pw", "fleet-pw\n")
        cls.bad_pw = cls.certs.write("bad.pw", "not-the-password\n")

    def tls_fleet_extra(self, password_file):
        return (f'user = "tlsresume"\npassword_file = "{password_file}"\n'
                f'tls_ca_file = "{self.redis.ca_file}"\n')

    def test_tls_link_with_acl_user_shares_sessions_and_keys(self):
        self.assertTrue(self.redis.url.startswith("rediss://"))
        a, b = self.start_servers(self.addCleanup, self.redis.url, ["tls-a", "tls-b"],
                                  fleet_extra=self.tls_fleet_extra(self.good_pw))
        self.assertTrue(wait_for(lambda: fleet_up(a) and fleet_up(b), timeout=5), fleet_state([a, b]))
        ctx = ctx12_session_id()
        sess, _ = self.new_session_id_on(a, ctx)
        self.assertEqual(get(b.port, ctx, session=sess)[2], "session-id")
        self.wait_fleet_keys([a, b])
        ctx13 = client_context(ssl.TLSVersion.TLSv1_3)
        _, ticket, _ = get(a.port, ctx13)
        self.assertEqual(get(b.port, ctx13, session=ticket)[2], "ticket")
        for s in (a, b):
            self.assertEqual(metric_sum(s, "tlsresume_fleet_write_errors_total"), 0)
            self.assertEqual(metric_sum(s, "tlsresume_fleet_lookups_total", result="error"), 0)
            self.assertEqual(log_lines(s, DOWN_LINE), [])
        self.assertIn(b"{tlsresume}:keys", self.redis.keys("*"))
        # A revocation goes through the script the ACL allows.
        status, answer = a.admin("POST", f"/revoke?id={'ab' * 16}")
        self.assertEqual(status, 200, answer)
        self.assertTrue(wait_for(lambda: metric_sum(b, "tlsresume_fleet_revocations_merged_total") >= 1, timeout=3),
                        "the revocation did not reach the other server over rediss")
        self.assertEqual(metric_sum(a, "tlsresume_fleet_revocations_pending"), 0)

    def test_wrong_password_is_one_log_line_and_local_service(self):
        (srv,) = self.start_servers(self.addCleanup, self.redis.url, ["tls-wrong"],
                                    fleet_extra=self.tls_fleet_extra(self.bad_pw))
        self.assertTrue(wait_for(lambda: log_lines(srv, DOWN_LINE), timeout=5), srv.output()[-2000:])
        view = fleet_json(srv)
        self.assertFalse(view["up"])
        self.assertIn("WRONGPASS", view["last_error"])
        self.assertNotIn("not-the-password", srv.output())
        # Local service: handshakes complete, resumption on this server works.
        ctx = ctx12_session_id()
        _, sess, line = get(srv.port, ctx)
        self.assertEqual(line, "no")
        self.assertEqual(get(srv.port, ctx, session=sess)[2], "session-id")
        ctx13 = client_context(ssl.TLSVersion.TLSv1_3)
        _, ticket, _ = get(srv.port, ctx13)
        self.assertEqual(get(srv.port, ctx13, session=ticket)[2], "ticket")
        # The link keeps retrying (100 ms backoff, doubling): still the one line.
        time.sleep(1.6)
        downs = log_lines(srv, DOWN_LINE)
        self.assertEqual(len(downs), 1, downs)
        self.assertIn("WRONGPASS", downs[0])
        self.assertEqual(log_lines(srv, UP_LINE), [])
        self.assertEqual(failed(srv), 0)
        self.assertNotIn("not-the-password", srv.output())


# --------------------------------------------------------------------------- 6. Redis late

class ServerStartedBeforeRedis(FleetCase):
    def test_serves_alone_then_joins(self):
        redis = Redis()
        self.addCleanup(redis.tmp.cleanup)
        self.addCleanup(redis.stop)
        (alone,) = self.start_servers(self.addCleanup, redis.url, ["early"])
        view = fleet_json(alone)
        self.assertFalse(view["up"], view)
        ctx12, ctx13 = client_context(ssl.TLSVersion.TLSv1_2), client_context(ssl.TLSVersion.TLSv1_3)
        _, early12, line12 = get(alone.port, ctx12)
        _, early13, line13 = get(alone.port, ctx13)
        self.assertEqual((line12, line13), ("no", "no"))
        self.assertTrue(early12.has_ticket and early13.has_ticket)
        self.assertGreaterEqual(metric_sum(alone, "tlsresume_fleet_local_keys_total"), 1)
        self.assertEqual([k["origin"] for k in fleet_json(alone)["keys"]], ["local"])

        redis.start()
        self.assertTrue(wait_for(lambda: fleet_json(alone)["up"] and seals_with_fleet_key(alone), timeout=10, interval=0.2),
                        "did not join the fleet within 10 s of Redis appearing:\n" + fleet_state([alone]))
        ups = log_lines(alone, UP_LINE)
        self.assertEqual(len(ups), 1, ups)
        # What it sealed alone still resumes on it.
        self.assertEqual(get(alone.port, ctx12, session=early12)[2], "ticket")
        self.assertEqual(get(alone.port, ctx13, session=early13)[2], "ticket")

        (other,) = self.start_servers(self.addCleanup, redis.url, ["late"])
        self.wait_fleet_keys([alone, other], timeout=10)
        # Elsewhere a ticket sealed with the first server's own key costs a full handshake
        # (docs/fleet.md, "A server alone"), never a failed one...
        self.assertEqual(get(other.port, ctx13, session=early13)[2], "no")
        # ...while what it seals now resumes on the other server.
        _, joined, _ = get(alone.port, ctx13)
        self.assertEqual(get(other.port, ctx13, session=joined)[2], "ticket")
        for s in (alone, other):
            self.assertEqual(failed(s), 0)


# --------------------------------------------------------------------------- 7. bad config

class BadFleetConfig(unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="tlsresume-fleet-cfg-")
        self.addCleanup(self._tmp.cleanup)

    def refused(self, fleet_section):
        path = os.path.join(self._tmp.name, "bad.toml")
        with open(path, "w") as f:
            f.write("[fleet]\n" + fleet_section)
        listen = free_port()
        p = run_bin("serve", "--listen", f"127.0.0.1:{listen}", "--admin", "off", "--config", path, timeout=10)
        self.assertEqual(p.returncode, 2, f"exit {p.returncode}: {p.stderr!r}")
        lines = [l for l in p.stderr.splitlines() if l.strip()]
        self.assertEqual(len(lines), 1, p.stderr)
        return lines[0]

    def test_redis_url_of_another_scheme(self):
        self.assertIn("fleet.redis", self.refused('redis = "http://x"\n'))

    def test_missing_redis(self):
        self.assertIn("fleet.redis", self.refused('node_name = "n"\n'))

    def test_password_file_missing(self):
        missing = os.path.join(self._tmp.name, "no-such.pw")
        line = self.refused(f'redis = "redis://127.0.0.1:6379"\nuser = "tlsresume"\npassword_file = "{missing}"\n')
        self.assertIn("fleet.password_file", line)
        self.assertIn(missing, line)

    def test_key_wrap_file_missing(self):
        missing = os.path.join(self._tmp.name, "no-such.key")
        self.assertIn("fleet.key_wrap_file", self.refused(f'redis = "redis://127.0.0.1:6379"\nkey_wrap_file = "{missing}"\n'))

    def test_user_without_password_file(self):
        self.assertIn("fleet.user", self.refused('redis = "redis://127.0.0.1:6379"\nuser = "tlsresume"\n'))

    def test_lookup_timeout_out_of_range(self):
        self.assertIn("fleet.lookup_timeout", self.refused('redis = "redis://127.0.0.1:6379"\nlookup_timeout = "2s"\n'))


if __name__ == "__main__":
    unittest.main()
