"""Fleet mode on a Redis Cluster: three real `tlsresume serve` processes with
`[fleet] cluster = [seed nodes]` on a real 3-master, 3-replica cluster
(redis_cluster_fixture) share their stored sessions, ticket keys and revocations; the
sessions spread over every master while the control keys share one slot; a slot
migration and a master's death under load cost no handshake and no restart.

The clients, the observations and the load are test_fleet's. Every wait is bounded.

Run: cd tests/integration && TLSRESUME_BIN=/path/to/tlsresume python3 run_tests.py test_fleet_cluster
"""
import json
import ssl
import threading
import time
import unittest

import redis_cluster_fixture
import test_fleet as fleet
from harness import Server, client_context, metric_sum, wait_for
from redis_cluster_fixture import RedisCluster

NAMES = ["cl-a", "cl-b", "cl-c"]
CONTROL_KEYS = ["{tlsresume}:keys", "{tlsresume}:lease", "{tlsresume}:nodes", "{tlsresume}:revocations",
                "{tlsresume}:revocations:version"]
# The replica of a killed master is promoted after the node timeout (2 s) and an election;
# the servers then learn the new owner from the slot table. Generous for a busy 2-core machine.
RESTORE_WITHIN = 20


def cluster_config(certs, seeds, node, **kw):
    """test_fleet's server configuration with the cluster's seed nodes instead of one Redis."""
    cfg = fleet.fleet_config(certs, "SEEDS", node, **kw)
    return cfg.replace('redis = "SEEDS"', "cluster = [" + ", ".join(f'"{s}"' for s in seeds) + "]")


class FleetOnRedisCluster(fleet.FleetCase):
    """A cluster and three servers, for the whole class. The tests run in their numbered
    order: the slot migration and the master's death come last and change the cluster."""

    @classmethod
    def setUpClass(cls):
        reason = redis_cluster_fixture.available()
        if reason:
            raise unittest.SkipTest(reason)
        super().setUpClass()
        cls.cluster = RedisCluster()
        cls.addClassCleanup(cls.cluster.stop)
        cls.cluster.start()
        # Two seeds, both masters at creation: the servers learn every other node from them.
        cls.seeds = cls.cluster.seeds[:2]
        cls.servers = []
        for name in NAMES:
            srv = Server(cluster_config(cls.certs, cls.seeds, name, hosts=[fleet.STATEFUL_HOST],
                                      default_extra=fleet.ONE_TICKET), workers=2)
            srv.start()
            cls.addClassCleanup(srv.stop)
            cls.servers.append(srv)
        cls.a, cls.b, cls.c = cls.servers
        if not wait_for(lambda: fleet.all_on_fleet_key(cls.servers), timeout=20, interval=0.2):
            raise AssertionError("no fleet key current everywhere after 20 s:\n" + fleet.fleet_state(cls.servers))

    def tearDown(self):
        for s in self.servers:
            self.assertEqual(fleet.failed(s), 0, f"a failed handshake on {fleet.fleet_json(s)['node']}")

    # --- what a client sees: made on one server, resumed on the two others
    def resumes_across(self, ctx, expected, server_hostname="localhost", written=False):
        for origin in self.servers:
            before = fleet.writes(origin)
            body, sess, line = fleet.get(origin.port, ctx, server_hostname=server_hostname)
            self.assertEqual(line, "no", body)
            if written:
                self.assertTrue(wait_for(lambda: fleet.writes(origin) > before, timeout=3), "not written to the cluster")
            for srv in self.servers:
                if srv is origin:
                    continue
                body, _, line = fleet.get(srv.port, ctx, session=sess, server_hostname=server_hostname)
                self.assertEqual(line, expected, f"{expected} from {fleet.fleet_json(origin)['node']} on "
                                                 f"{fleet.fleet_json(srv)['node']}:\n{body}")

    def cross_server_session_ids(self, n=6):
        """True if n session ids in a row, each made on one server, resume on the next one
        (through the cluster)."""
        ctx = fleet.ctx12_session_id()
        for i in range(n):
            a, b = self.servers[i % 3], self.servers[(i + 1) % 3]
            before = fleet.writes(a)
            _, sess, _ = fleet.get(a.port, ctx)
            if not wait_for(lambda: fleet.writes(a) > before, timeout=1):
                return False
            if fleet.get(b.port, ctx, session=sess)[2] != "session-id":
                return False
        return True

    def cross_server_stateful(self):
        ctx = client_context(ssl.TLSVersion.TLSv1_3)
        before = fleet.writes(self.c)
        _, sess, _ = fleet.get(self.c.port, ctx, server_hostname="stateful.test")
        if not wait_for(lambda: fleet.writes(self.c) > before, timeout=1):
            return False
        return fleet.get(self.a.port, ctx, session=sess, server_hostname="stateful.test")[2] == "stateful-ticket"

    def restored(self):
        return self.cross_server_session_ids() and self.cross_server_stateful()

    def run_load(self):
        load = fleet.Load(self.servers)
        load.start()
        self.addCleanup(load.stop)
        self.assertTrue(load.wait_more(20, timeout=15), "the load did not start")
        return load

    def check_load(self, load, during):
        load.stop()
        self.assertEqual(load.errors, [], f"client failures during {during} ({load.count} connections)")
        self.assertGreater(load.count, 50, f"too little load through {during}")
        for s in self.servers:
            self.assertEqual(fleet.failed(s), 0, f"failed handshakes on {fleet.fleet_json(s)['node']} during {during}")

    # ------------------------------------------------------------------ tests

    def test_1_session_ids(self):
        self.resumes_across(fleet.ctx12_session_id(), "session-id", written=True)

    def test_1_tls12_tickets(self):
        self.resumes_across(client_context(ssl.TLSVersion.TLSv1_2), "ticket")

    def test_1_tls13_stateless_tickets(self):
        self.resumes_across(client_context(ssl.TLSVersion.TLSv1_3), "ticket")

    def test_1_tls13_stateful_tickets(self):
        self.resumes_across(client_context(ssl.TLSVersion.TLSv1_3), "stateful-ticket", server_hostname="stateful.test",
                            written=True)

    def test_2_sessions_spread_over_masters_control_keys_in_one_slot(self):
        ctx = fleet.ctx12_session_id()
        written = sum(fleet.writes(s) for s in self.servers)
        for i in range(45):
            fleet.get(self.servers[i % 3].port, ctx)
        self.assertTrue(wait_for(lambda: sum(fleet.writes(s) for s in self.servers) >= written + 45, timeout=5))
        masters = self.cluster.masters()
        self.assertEqual(len(masters), 3, masters)
        sessions = {}
        control = {}
        for node, _ in masters:
            self.assertGreater(node.command("DBSIZE"), 0, node.addr)
            sessions[node.addr] = len(self.cluster.keys_on(node, "tlsresume:s:*"))
            control[node.addr] = self.cluster.keys_on(node, "{tlsresume}:*")
        self.assertTrue(all(n > 0 for n in sessions.values()), f"a master holds no session: {sessions}")
        self.assertGreaterEqual(sum(sessions.values()), 45, sessions)
        # The control keys: one slot, so one master holds them all and no other holds any.
        slots = {self.cluster.keyslot(k) for k in CONTROL_KEYS}
        self.assertEqual(len(slots), 1, slots)
        holders = {addr: keys for addr, keys in control.items() if keys}
        self.assertEqual(len(holders), 1, control)
        (held,) = holders.values()
        for k in (b"{tlsresume}:keys", b"{tlsresume}:lease", b"{tlsresume}:nodes"):
            self.assertIn(k, held)
        self.assertEqual(list(holders), [self.cluster.owner(CONTROL_KEYS[0]).addr])

    def test_3_ctl_fleet_shows_the_cluster_up(self):
        for s in self.servers:
            p = s.ctl("fleet", "--json")
            self.assertEqual(p.returncode, 0, p.stderr)
            view = json.loads(p.stdout)
            self.assertTrue(view["up"], view)
            self.assertEqual(view["last_error"], "", view)
            self.assertTrue(view["keys_synced"], view)
            self.assertEqual(view["redis"], "cluster " + ",".join(self.seeds), view)
            self.assertEqual(sorted(n["name"] for n in view["nodes"]), NAMES, view)
            self.assertIn(view["lease_holder"], NAMES)
            text = s.ctl("fleet")
            self.assertEqual(text.returncode, 0, text.stderr)
            self.assertIn(f"cluster {','.join(self.seeds)} (up)", text.stdout)
            for n in NAMES:
                self.assertIn(n, text.stdout)
            self.assertEqual(metric_sum(s, "tlsresume_fleet_up"), 1)

    def test_4_slot_migration_under_load(self):
        load = self.run_load()
        (source, before), (target, _), _ = self.cluster.masters()
        moved_before = sum(b - a + 1 for a, b in before)
        # Sessions made now land in every slot, the migrated ones among them: resumed while
        # their slot moves (ASK), and after (MOVED).
        foreground = threading.Event()

        def keep_resuming():
            while not foreground.is_set():
                self.cross_server_session_ids(3)

        resumer = threading.Thread(target=keep_resuming, daemon=True)
        resumer.start()
        started = time.monotonic()
        try:
            self.cluster.reshard(source, target, 2000)
        finally:
            foreground.set()
            resumer.join(timeout=30)
        took = time.monotonic() - started
        self.assertTrue(self.cluster.wait_ok(20), "the cluster is not ok after the migration")
        after = dict((n.addr, r) for n, r in self.cluster.masters())
        self.assertEqual(sum(b - a + 1 for a, b in after[source.addr]), moved_before - 2000, after)
        self.assertTrue(wait_for(self.restored, timeout=RESTORE_WITHIN, interval=0.2),
                        f"cross-server resumption not back {RESTORE_WITHIN} s after the migration ({took:.1f} s):\n"
                        + fleet.fleet_state(self.servers))
        self.assertTrue(load.wait_more(20, timeout=15), "the load stalled after the migration")
        self.check_load(load, f"the migration of 2000 slots ({took:.1f} s)")
        print(f"\n  migration: 2000 slots {source.addr} -> {target.addr} in {took:.1f} s under load "
              f"({load.count} connections, none failed)", flush=True)

    def test_5_master_killed_under_load_revocation_reaches_every_server(self):
        # A session id every server holds in its own store before the failover: only the
        # fleet's revocation list can make B and C refuse it.
        ctx = fleet.ctx12_session_id()
        victim, sid = self.new_session_id_on(self.a, ctx)
        for srv in (self.b, self.c):
            self.assertEqual(fleet.get(srv.port, ctx, session=victim)[2], "session-id")
        merged = {s: metric_sum(s, "tlsresume_fleet_revocations_merged_total") for s in (self.b, self.c)}
        load = self.run_load()
        # The master of the control keys' slot: the revocation list, its version and the key
        # lease go through the failover.
        dead = self.cluster.owner(CONTROL_KEYS[0])
        dead.kill()
        killed = time.monotonic()
        status, answer = self.a.admin("POST", f"/revoke?id={sid}")
        self.assertEqual(status, 200, answer)
        self.assertEqual(fleet.get(self.a.port, ctx, session=victim)[2], "no", "A still resumes what it revoked")
        self.assertTrue(self.cluster.wait_ok(RESTORE_WITHIN), "no replica took over within "
                        f"{RESTORE_WITHIN} s: {[(n.addr, n.cluster_state_ok()) for n in self.cluster.live()]}")
        promoted = time.monotonic()
        self.assertNotEqual(self.cluster.owner(CONTROL_KEYS[0]).port, dead.port)

        pending = {"B": self.b, "C": self.c}
        refused = {}
        while pending and time.monotonic() < promoted + 10:
            for name, srv in list(pending.items()):
                if fleet.get(srv.port, ctx, session=victim)[2] == "no":
                    refused[name] = round(time.monotonic() - killed, 2)
                    del pending[name]
            time.sleep(0.05)
        self.assertEqual(list(pending), [], f"the revocation made during the failover did not reach {list(pending)} "
                                            f"10 s after the promotion ({promoted - killed:.1f} s after the kill):\n"
                                            + fleet.fleet_state(self.servers))
        for s, before in merged.items():
            self.assertGreater(metric_sum(s, "tlsresume_fleet_revocations_merged_total"), before)
        self.assertTrue(wait_for(lambda: metric_sum(self.a, "tlsresume_fleet_revocations_pending") == 0, timeout=5))

        self.assertTrue(wait_for(self.restored, timeout=RESTORE_WITHIN, interval=0.2),
                        f"cross-server resumption not back {RESTORE_WITHIN} s after the promotion:\n"
                        + fleet.fleet_state(self.servers))
        # A revocation made after the failover reaches every server too.
        after, after_sid = self.new_session_id_on(self.b, ctx)
        for srv in (self.a, self.c):
            self.assertEqual(fleet.get(srv.port, ctx, session=after)[2], "session-id")
        t0 = time.monotonic()
        status, answer = self.b.admin("POST", f"/revoke?id={after_sid}")
        self.assertEqual(status, 200, answer)
        self.assertTrue(wait_for(lambda: all(fleet.get(s.port, ctx, session=after)[2] == "no" for s in self.servers),
                                 timeout=3, interval=0.05), "a revocation after the failover did not reach every server")
        late = round(time.monotonic() - t0, 2)
        self.assertTrue(load.wait_more(20, timeout=15), "the load stalled after the failover")
        self.check_load(load, "the master's death and failover")
        for s in self.servers:
            view = fleet.fleet_json(s)
            self.assertTrue(view["up"], view)
            self.assertTrue(view["keys_synced"], view)
        print(f"\n  failover: replica promoted {promoted - killed:.1f} s after SIGKILL; revocation refused at {refused} "
              f"s after it; a later one everywhere within {late} s", flush=True)


if __name__ == "__main__":
    unittest.main()
