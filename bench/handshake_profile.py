#!/usr/bin/env python3
"""Where a server handshake spends its work: instructions per handshake by library
(callgrind) and system calls per connection (strace), for our server and, on request,
nginx and HAProxy driven the same way.

Instruction counts do not drift with the machine's load the way CPU time does, so this
is the tool for "did that change make the handshake cheaper?" on a noisy 2-core box.

    bench/handshake_profile.py                       # session-id and ticket-tls13, self
    bench/handshake_profile.py -s ticket-tls12 -n 3000 --nginx --haproxy
    bench/handshake_profile.py --json out/profile.json
    TLSRESUME_BIN=build-boringssl/tlsresume bench/handshake_profile.py   # the BoringSSL build

The load comes from the same binary's bench client, so a BoringSSL build is driven by a
BoringSSL client. valgrind's virtual CPU lacks some extensions BoringSSL's assembly picks
at run time (the SHA extensions among them): its libcrypto share under callgrind is that
of slower fallback code; our code's and libssl's counts are unaffected.

Needs valgrind and strace (scripts/install-deps.sh installs both).
"""
import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("TLSRESUME_BIN", os.path.join(ROOT, "build", "tlsresume"))
LIBS = (("libssl", "libssl"), ("libcrypto", "libcrypto"), ("libc", "libc.so"),
        ("libstdc++", "libstdc++"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return True
        except OSError:
            time.sleep(0.2)
    return False


def progress(msg):
    if sys.stderr.isatty():
        print(msg, file=sys.stderr, flush=True)


def drive(port, scenario, count):
    """The load: our own bench client against HOST:PORT, pinned away from the server."""
    cmd = [BIN, "bench", "--target", f"127.0.0.1:{port}", "-s", scenario, "-n", str(count), "-c", "4"]
    if shutil.which("taskset") and os.cpu_count() and os.cpu_count() > 1:
        cmd = ["taskset", "-c", "1"] + cmd
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        raise RuntimeError(f"bench against 127.0.0.1:{port} failed: {p.stderr.strip()[-300:]}")
    return p.stdout


def serve_cmd(port):
    return [BIN, "serve", "--listen", f"127.0.0.1:{port}", "--workers", "1", "--admin", "off", "--log-level", "warn"]


def nginx_cmd(port, workdir):
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", f"{workdir}/k.pem", "-out", f"{workdir}/c.pem", "-subj", "/CN=localhost", "-days", "1"],
                   check=True, capture_output=True)
    conf = f"""daemon off; master_process off; worker_processes 1; pid {workdir}/nginx.pid; error_log stderr warn;
events {{ worker_connections 4096; }}
http {{ access_log off; client_body_temp_path {workdir}/b; proxy_temp_path {workdir}/p;
  fastcgi_temp_path {workdir}/f; uwsgi_temp_path {workdir}/u; scgi_temp_path {workdir}/s;
  server {{ listen 127.0.0.1:{port} ssl deferred; ssl_certificate {workdir}/c.pem;
    ssl_certificate_key {workdir}/k.pem; ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_cache shared:S:16m; ssl_session_tickets on;
    location / {{ return 200 "ok\\n"; }} }} }}
"""
    with open(f"{workdir}/nginx.conf", "w") as f:
        f.write(conf)
    return [shutil.which("nginx") or "/usr/sbin/nginx", "-p", workdir + "/", "-e", "stderr", "-c",
            f"{workdir}/nginx.conf"]


def haproxy_cmd(port, workdir):
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", f"{workdir}/hk.pem", "-out", f"{workdir}/hc.pem", "-subj", "/CN=localhost", "-days", "1"],
                   check=True, capture_output=True)
    with open(f"{workdir}/haproxy.pem", "w") as out:
        for part in ("hc.pem", "hk.pem"):
            with open(f"{workdir}/{part}") as f:
                out.write(f.read())
    conf = f"""global
  nbthread 1
  maxconn 8192
  tune.ssl.cachesize 100000
  tune.ssl.lifetime 3600
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
frontend profile
  bind 127.0.0.1:{port} ssl crt {workdir}/haproxy.pem defer-accept
  http-request return status 200 content-type text/plain string "ok"
"""
    with open(f"{workdir}/haproxy.cfg", "w") as f:
        f.write(conf)
    return [shutil.which("haproxy") or "/usr/sbin/haproxy", "-db", "-f", f"{workdir}/haproxy.cfg"]


def server_cmd(server, port, workdir):
    if server == "self":
        return serve_cmd(port)
    return nginx_cmd(port, workdir) if server == "nginx" else haproxy_cmd(port, workdir)


def stop(proc):
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def callgrind_by_library(server, scenario, count, workdir):
    """Instructions of a whole server run (start, `count` handshakes, stop) by library."""
    port = free_port()
    out = f"{workdir}/callgrind.{server}.{scenario}.{count}"
    proc = subprocess.Popen(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"] +
                            server_cmd(server, port, workdir),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        if not wait_port(port, timeout=60):
            raise RuntimeError(f"{server} under valgrind did not listen")
        drive(port, scenario, 50)  # warm-up: first-use costs are not the handshake's
        if count:
            drive(port, scenario, count)
    finally:
        stop(proc)
    text = subprocess.run(["callgrind_annotate", "--inclusive=no", "--threshold=100", out], capture_output=True,
                          text=True).stdout
    by_lib = {"ours": 0}
    by_lib.update({name: 0 for name, _ in LIBS})
    by_lib["other"] = 0
    own = "/" + (os.path.basename(BIN) if server == "self" else server)
    for line in text.splitlines():
        m = re.match(r"\s*([\d,]+) \([^)]*\)\s+\S.*\[(.*)\]\s*$", line)
        if not m:
            continue
        n = int(m.group(1).replace(",", ""))
        where = m.group(2)
        if where.endswith(own):
            by_lib["ours"] += n
            continue
        for name, needle in LIBS:
            if needle in where:
                by_lib[name] += n
                break
        else:
            by_lib["other"] += n
    return by_lib


def instructions(server, scenario, count, workdir):
    """Instructions per handshake, split by the library that ran them: a run with `count`
    handshakes minus a run without them, so start-up and shutdown cancel out. (callgrind's
    mid-run dump or zero would charge a whole interval to the frames active at that moment.)"""
    with_load = callgrind_by_library(server, scenario, count, workdir)
    without = callgrind_by_library(server, scenario, 0, workdir)
    diff = {k: with_load[k] - without[k] for k in with_load}
    total = sum(diff.values())
    if total <= 0:
        raise RuntimeError(f"{server} {scenario}: the run with handshakes counted no more instructions than the "
                           "run without; was the load refused?")
    # A library can come out a few instructions negative (noise in start-up work); shown as 0.
    return {"per_handshake": total // count,
            "share": {k: round(100.0 * max(0, v) / total, 1) for k, v in diff.items()}}


def tcp_out_segments():
    """Segments sent by every TCP socket of this machine (/proc/net/snmp, Tcp OutSegs)."""
    with open("/proc/net/snmp") as f:
        rows = [line.split() for line in f if line.startswith("Tcp:")]
    return int(rows[1][rows[0].index("OutSegs")])


@contextlib.contextmanager
def warm_server(server, scenario, workdir):
    """The server started (not under valgrind) and warmed up with 50 handshakes; yields
    (port, process)."""
    port = free_port()
    proc = subprocess.Popen(server_cmd(server, port, workdir),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        if not wait_port(port):
            raise RuntimeError(f"{server} did not listen")
        drive(port, scenario, 50)
        yield port, proc
    finally:
        stop(proc)


def segments(server, scenario, count, workdir):
    """TCP segments per connection, both directions (loopback: the machine's OutSegs
    counter moves by exactly what client and server send, if nothing else talks TCP)."""
    with warm_server(server, scenario, workdir) as (port, _):
        before = tcp_out_segments()
        drive(port, scenario, count)
        return round((tcp_out_segments() - before) / count, 1)


def syscalls(server, scenario, count, workdir):
    """System calls per connection (strace -c on the serving process)."""
    with warm_server(server, scenario, workdir) as (port, proc):
        out = f"{workdir}/strace.{server}.{scenario}"
        tracer = subprocess.Popen(["strace", "-f", "-c", "-o", out, "-p", str(proc.pid)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.5)
        drive(port, scenario, count)
        tracer.send_signal(signal.SIGINT)
        tracer.wait(timeout=30)
    calls = {}
    with open(out) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 5 and parts[0][0].isdigit() and parts[-1] not in ("total", "rt_sigtimedwait"):
                calls[parts[-1]] = int(parts[3])
    per_conn = {k: round(v / count, 2) for k, v in sorted(calls.items(), key=lambda kv: -kv[1]) if v >= count / 10}
    return {"per_connection": round(sum(calls.values()) / count, 1), "calls": per_conn}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-s", "--scenarios", default="session-id,ticket-tls13",
                    help="comma list of tlsresume bench scenarios [session-id,ticket-tls13]")
    ap.add_argument("-n", "--count", type=int, default=2000, help="handshakes measured per cell [2000]")
    ap.add_argument("--nginx", action="store_true", help="profile nginx (Debian package) the same way")
    ap.add_argument("--haproxy", action="store_true", help="profile HAProxy (Debian package) the same way")
    ap.add_argument("--json", help="write the figures to FILE")
    args = ap.parse_args()
    for tool in ("valgrind", "callgrind_annotate", "strace"):
        if not shutil.which(tool):
            sys.exit(f"handshake_profile: {tool} not found; run scripts/install-deps.sh")
    if not os.access(BIN, os.X_OK):
        sys.exit(f"handshake_profile: {BIN} not built; run make build")
    servers = ["self"] + (["nginx"] if args.nginx else []) + (["haproxy"] if args.haproxy else [])
    for peer, package in (("nginx", "nginx-light"), ("haproxy", "haproxy")):
        if peer in servers and not (shutil.which(peer) or os.path.exists(f"/usr/sbin/{peer}")):
            sys.exit(f"handshake_profile: {peer} not installed (apt-get install {package})")
    rows = []
    with tempfile.TemporaryDirectory(prefix="tlsresume-profile-") as workdir:
        for scenario in args.scenarios.split(","):
            for server in servers:
                progress(f"[{server} {scenario}] callgrind, {args.count} handshakes ...")
                ins = instructions(server, scenario, args.count, workdir)
                progress(f"[{server} {scenario}] strace, {args.count} handshakes ...")
                sc = syscalls(server, scenario, args.count, workdir)
                segs = segments(server, scenario, args.count, workdir)
                rows.append({"server": server, "scenario": scenario, "instructions": ins, "syscalls": sc,
                             "segments_per_connection": segs})
    head = f"{'server':7} {'scenario':14} {'instr/hs':>9}  {'own code':>8} {'libssl':>7} {'libcrypto':>9} " \
           f"{'libc':>6}  {'segs/conn':>9}  {'syscalls/conn':>13}  top calls per connection"
    print(head)
    for r in rows:
        s = r["instructions"]["share"]
        top = ", ".join(f"{k} {v:g}" for k, v in list(r["syscalls"]["calls"].items())[:7])
        print(f"{r['server']:7} {r['scenario']:14} {r['instructions']['per_handshake']:>9}  {s['ours']:>7}% "
              f"{s['libssl']:>6}% {s['libcrypto']:>8}% {s['libc']:>5}%  {r['segments_per_connection']:>9}  "
              f"{r['syscalls']['per_connection']:>13}  {top}")
    print("segs/conn: TCP segments per connection, both directions (this machine's OutSegs counter; other TCP "
          "traffic during the run adds to it).")
    print("own code: instructions in the server's own binary (for a peer: nginx or haproxy itself); libc is "
          "mostly the TLS library's malloc/free/memset.")
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump({"count": args.count, "rows": rows}, f, indent=2)


if __name__ == "__main__":
    main()
