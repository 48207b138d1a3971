"""A real Redis Cluster for the fleet tests: 3 masters and 3 replicas (six redis-server
processes on free 127.0.0.1 ports, persistence off, node timeout 2 s), joined with
`redis-cli --cluster create`; killed at teardown. Each node is a redis_fixture.Redis
started with cluster mode on, so its RESP client, kill() and pause() apply to a node.

Every wait is bounded."""
import os
import random
import socket
import subprocess
import tempfile
import time

import redis_fixture
from redis_fixture import Redis, RedisError

REDIS_CLI = "/usr/bin/redis-cli"
NODE_TIMEOUT_MS = 2000


def available():
    """None if a cluster can be made here, else the reason it cannot."""
    reason = redis_fixture.available()
    if reason:
        return reason
    if not os.path.exists(REDIS_CLI):
        return f"{REDIS_CLI} is not installed (scripts/install-deps.sh installs redis-tools)"
    return None


def _bindable(port):
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def cluster_port(taken):
    """A free port P whose cluster bus port P + 10000 is free too (and below 65536)."""
    for _ in range(500):
        p = random.randint(20000, 29999)
        if p in taken or p + 10000 in taken:
            continue
        if _bindable(p) and _bindable(p + 10000):
            return p
    raise RuntimeError("no free port pair (P, P + 10000) on 127.0.0.1")


class ClusterNode(Redis):
    """One node of the cluster: a Redis with cluster mode on, its nodes file in its own
    directory."""

    def __init__(self, port):
        super().__init__()
        self.port = port

    def args(self):
        return super().args() + ["--cluster-enabled", "yes", "--cluster-config-file",
                                 os.path.join(self.dir, f"nodes-{self.port}.conf"),
                                 "--cluster-node-timeout", str(NODE_TIMEOUT_MS)]

    @property
    def addr(self):
        return f"127.0.0.1:{self.port}"

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def info(self, section):
        text = self.command("INFO", section)
        return dict(l.split(":", 1) for l in text.decode().splitlines() if ":" in l)

    def node_id(self):
        return self.command("CLUSTER", "MYID").decode()

    def cluster_state_ok(self):
        try:
            return b"cluster_state:ok" in self.command("CLUSTER", "INFO", timeout=2)
        except (OSError, RedisError):
            return False


class RedisCluster:
    """Six nodes, three masters with one replica each. Use as a context manager, or
    start() / stop()."""

    def __init__(self, size=6, replicas=1):
        self.tmp = tempfile.TemporaryDirectory(prefix="tlsresume-cluster-")
        taken = set()
        self.nodes = []
        for _ in range(size):
            p = cluster_port(taken)
            taken.update({p, p + 10000})
            self.nodes.append(ClusterNode(p))
        self.replicas = replicas

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    @property
    def seeds(self):
        return [n.addr for n in self.nodes]

    def start(self, timeout=60.0):
        for n in self.nodes:
            n.start()
        p = subprocess.run([REDIS_CLI, "--cluster", "create", *self.seeds, "--cluster-replicas", str(self.replicas),
                            "--cluster-yes"], capture_output=True, text=True, timeout=timeout)
        if p.returncode != 0:
            self.stop()
            raise RuntimeError(f"redis-cli --cluster create failed ({p.returncode}):\n{p.stdout[-3000:]}{p.stderr[-2000:]}")
        if not self.wait_ok(timeout):
            states = {n.addr: n.cluster_state_ok() for n in self.nodes}
            self.stop()
            raise RuntimeError(f"the cluster did not reach cluster_state:ok within {timeout} s: {states}")
        return self

    def stop(self):
        for n in self.nodes:
            n.kill()
        for n in self.nodes:
            n.tmp.cleanup()
        self.tmp.cleanup()

    def live(self):
        return [n for n in self.nodes if n.alive()]

    def wait_ok(self, timeout=30.0):
        """cluster_state:ok on every live node, and every live node sees every slot served
        by a live master."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if all(n.cluster_state_ok() for n in self.live()) and self._slots_on_live_masters():
                return True
            time.sleep(0.1)
        return False

    def _slots_on_live_masters(self):
        live = {n.port for n in self.live()}
        for n in self.live():
            try:
                covered = 0
                for start, end, master, *_ in n.command("CLUSTER", "SLOTS", timeout=2):
                    if master[1] not in live:
                        return False
                    covered += end - start + 1
                if covered != 16384:
                    return False
            except (OSError, RedisError):
                return False
        return True

    def by_port(self, port):
        return next(n for n in self.nodes if n.port == port)

    def masters(self):
        """The live masters that own slots, as a live node's CLUSTER SLOTS names them:
        [(node, [(first slot, last slot), ...])]."""
        ranges = {}
        for start, end, master, *_ in self.live()[0].command("CLUSTER", "SLOTS"):
            ranges.setdefault(master[1], []).append((start, end))
        return [(self.by_port(port), sorted(r)) for port, r in sorted(ranges.items())]

    def keyslot(self, key):
        return self.live()[0].command("CLUSTER", "KEYSLOT", key)

    def owner(self, key):
        """The master serving key's slot."""
        slot = self.keyslot(key)
        for node, ranges in self.masters():
            if any(a <= slot <= b for a, b in ranges):
                return node
        raise AssertionError(f"no master serves slot {slot}")

    def reshard(self, source, target, slots, timeout=120.0):
        """Moves `slots` slots (and their keys) from master `source` to master `target` with
        redis-cli, slot by slot (MIGRATING/IMPORTING, MIGRATE, SETSLOT NODE)."""
        p = subprocess.run([REDIS_CLI, "--cluster", "reshard", source.addr, "--cluster-from", source.node_id(),
                            "--cluster-to", target.node_id(), "--cluster-slots", str(slots), "--cluster-yes"],
                           capture_output=True, text=True, timeout=timeout)
        if p.returncode != 0:
            raise RuntimeError(f"redis-cli --cluster reshard failed ({p.returncode}):\n{p.stdout[-3000:]}{p.stderr[-2000:]}")
        return p.stdout

    def dbsizes(self):
        return {node.addr: node.command("DBSIZE") for node, _ in self.masters()}

    def keys_on(self, node, pattern):
        return sorted(node.command("KEYS", pattern) or [])

