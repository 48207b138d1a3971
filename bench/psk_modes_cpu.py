#!/usr/bin/env python3
"""Server CPU per TLS 1.3 resumption with psk_dhe_ke and with psk_ke, on our server.

OpenSSL's client always offers psk_dhe_ke (and OpenSSL 3.0's server then uses it), so the
psk_ke-only client here is gnutls-cli with priority "+PSK" (psk_key_exchange_modes =
[psk_ke]). Each run of `gnutls-cli --resume` makes a full handshake and then a resumed
one; a run without --resume makes the full handshake alone, so

    CPU(resumed) = (CPU(N runs with --resume) - CPU(N runs without)) / N

measured from /proc/PID/stat of the server (utime + stime), back to back in one run.
Prints figures; asserts nothing."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "integration"))
from harness import Server  # noqa: E402

N = int(os.environ.get("PSK_BENCH_RUNS", "100"))
REQUEST = b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
PSK_KE_ONLY = ["--priority", "NORMAL:-VERS-ALL:+VERS-TLS1.3:+PSK",
               "--pskusername=nobody", "--pskkey=00112233445566778899aabbccddeeff"]
PSK_DHE = ["--priority", "NORMAL:-VERS-ALL:+VERS-TLS1.3"]
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def runs(server, args, resume):
    before = cpu_seconds(server.proc.pid)
    resumed = 0
    for _ in range(N):
        cmd = ["gnutls-cli", "--insecure", "-p", str(server.port), "127.0.0.1", *args] + (["--resume"] if resume else [])
        out = subprocess.run(cmd, input=REQUEST, capture_output=True, timeout=20)
        resumed += b"This is a resumed session" in out.stdout
    return cpu_seconds(server.proc.pid) - before, resumed


def main():
    with Server(config='[default_host]\ntls13_psk_modes = "any"\n', workers=1, admin=False) as server:
        full_only, _ = runs(server, PSK_DHE, False)
        dhe, dhe_resumed = runs(server, PSK_DHE, True)
        ke, ke_resumed = runs(server, PSK_KE_ONLY, True)
    per = lambda total: total / N * 1e6  # noqa: E731
    full_us = per(full_only)
    rows = [("full handshake (ECDHE, ECDSA P-256)", full_us, N),
            ("resumed, psk_dhe_ke (forward secret)", per(dhe - full_only), dhe_resumed),
            ("resumed, psk_ke (no forward secrecy)", per(ke - full_only), ke_resumed)]
    print(f"server CPU per TLS 1.3 handshake, {N} runs each (clock tick {1e6 / TICKS:.0f} us: figures are coarse)")
    print(f"{'handshake':40} {'CPU us':>8} {'vs full':>8} {'resumed':>8}")
    for name, us, ok in rows:
        print(f"{name:40} {us:8.0f} {us / full_us if full_us else 0:8.2f} {ok:>5}/{N}")


if __name__ == "__main__":
    main()
