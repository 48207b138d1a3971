"""Shared helpers for integration tests: start the real `tlsresume` binary on free
loopback ports, talk to it with real clients, read its admin endpoint.

Everything binds 127.0.0.1 only. Every wait is bounded."""
import os
import re
import socket
import ssl
import subprocess
import tempfile
import time
import unittest
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BIN = os.environ.get("TLSRESUME_BIN") or os.path.join(ROOT, "build", "tlsresume")

_library = None


def tls_library():
    """The TLS library the binary under test links, "openssl" or "boringssl", from its
    --version line (which names the library and its version)."""
    global _library
    if _library is None:
        out = subprocess.run([BIN, "--version"], capture_output=True, text=True, timeout=15).stdout
        _library = "boringssl" if "BoringSSL" in out else "openssl"
    return _library


# The prefix of every skip that a library's nature explains (run_tests.py lets these
# through in CI: they hold on every machine, so they hide no lost coverage).
LIBRARY_SKIP = "not on this TLS library"


def only_on(library, why):
    """Skips a test (or class) that cannot apply to the other TLS library, visibly and
    with the reason: what the library does instead, or why the question does not arise."""
    return unittest.skipUnless(tls_library() == library, f"{LIBRARY_SKIP} ({tls_library()}): {why}")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=10.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


class Server:
    """A running `tlsresume serve`. Use as a context manager."""

    def __init__(self, config=None, args=(), workers=2, admin=True, files=None):
        self.port = free_port()
        self.admin_port = free_port() if admin else None
        self.tmp = tempfile.TemporaryDirectory(prefix="tlsresume-it-")
        self.args = [BIN, "serve", "--listen", f"127.0.0.1:{self.port}",
                     "--admin", f"127.0.0.1:{self.admin_port}" if admin else "off",
                     "--workers", str(workers)]
        if config is not None:
            path = os.path.join(self.tmp.name, "tlsresume.toml")
            with open(path, "w") as f:
                f.write(config)
            self.args += ["--config", path]
        self.args += list(args)
        self.proc = None
        self.log_path = os.path.join(self.tmp.name, "server.log")

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self):
        self.log = open(self.log_path, "w+")
        self.proc = subprocess.Popen(self.args, stdout=self.log, stderr=subprocess.STDOUT)
        if not wait_port(self.port):
            self.stop()
            raise RuntimeError("server did not start: " + self.output())
        if self.admin_port and not wait_port(self.admin_port):
            self.stop()
            raise RuntimeError("admin did not start: " + self.output())

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if getattr(self, "log", None) and not self.log.closed:
            self.log.flush()
        # Under ASan/UBSan/TSan builds a report in the server's output fails the test that
        # owned the server: "zero reports allowed" holds for the real binary too.
        out = self.output()
        for marker in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:", "WARNING: ThreadSanitizer"):
            if marker in out:
                raise AssertionError(f"sanitizer report from tlsresume serve:\n{out[-4000:]}")
        return self.proc.returncode if self.proc else None

    def output(self):
        try:
            if getattr(self, "log", None) and not self.log.closed:
                self.log.flush()
            with open(self.log_path) as f:
                return f.read()
        except OSError:
            return ""

    def alive(self):
        return self.proc.poll() is None

    # --- admin endpoint ---
    def admin(self, method, path):
        req = urllib.request.Request(f"http://127.0.0.1:{self.admin_port}{path}", method=method, data=b"" if method == "POST" else None)
        try:
            with urllib.request.urlopen(req, timeout=5) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def metrics(self):
        status, body = self.admin("GET", "/metrics")
        assert status == 200, body
        out = {}
        for line in body.splitlines():
            if not line or line.startswith("#"):
                continue
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
        return out

    def handshakes(self, kind, version=None, vhost="default"):
        total = 0
        for k, v in self.metrics().items():
            if not k.startswith("tlsresume_handshakes_total{"):
                continue
            if f'kind="{kind}"' in k and f'vhost="{vhost}"' in k and (version is None or f'version="{version}"' in k):
                total += v
        return int(total)

    def ctl(self, *args):
        return subprocess.run([BIN, "ctl", "--admin", f"127.0.0.1:{self.admin_port}", *args],
                              capture_output=True, text=True, timeout=15)


def s_client(port, *args, request=b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
             servername="localhost", timeout=15):
    """Runs `openssl s_client`, sends one HTTP request, returns (stdout+stderr) text."""
    cmd = ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-ign_eof"]
    if servername:
        cmd += ["-servername", servername]
    else:
        cmd += ["-noservername"]
    cmd += list(args)
    p = subprocess.run(cmd, input=request, capture_output=True, timeout=timeout)
    return p.stdout.decode(errors="replace") + p.stderr.decode(errors="replace")


def resumed_line(text):
    """The built-in responder's "resumed:" value, or None."""
    m = re.search(r"^resumed: (\S+)", text, re.M)
    return m.group(1) if m else None


def body_field(text, name):
    m = re.search(rf"^{name}: (\S+)", text, re.M)
    return m.group(1) if m else None


def client_context(version=None):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if version is not None:
        ctx.minimum_version = version
        ctx.maximum_version = version
    return ctx


def read_to_eof(sock):
    """Everything a (TLS) socket delivers until the peer closes."""
    data = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk


def read_http_head(sock):
    """An HTTP message head from a (TLS) socket: bytes up to and including the blank line,
    or everything until the peer closed if it never came."""
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(4096)
        if not chunk:
            break
        head += chunk
    return head


def tls_connect(port, ctx=None, server_hostname="localhost", session=None):
    """A TLS connection to 127.0.0.1:port made with Python's ssl (handshake done)."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    return (ctx or client_context()).wrap_socket(raw, server_hostname=server_hostname, session=session)


def https_get(port, ctx, session=None, server_hostname="localhost"):
    """One request with Python's ssl; returns (body text, ssl session, session_reused)."""
    with tls_connect(port, ctx, server_hostname, session) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        data = read_to_eof(s)
        return data.decode(errors="replace"), s.session, s.session_reused


def make_cert(directory, name, cn, key_type="ec"):
    """A self-signed certificate made by the openssl CLI; returns (cert, key) paths."""
    cert = os.path.join(directory, f"{name}.crt")
    key = os.path.join(directory, f"{name}.key")
    newkey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"] if key_type == "ec" else ["-newkey", "rsa:2048"]
    subprocess.run(["openssl", "req", "-x509", "-nodes", *newkey, "-keyout", key, "-out", cert, "-days", "2",
                    "-subj", f"/CN={cn}", "-addext", f"subjectAltName=DNS:{cn}"],
                   check=True, capture_output=True, timeout=30)
    return cert, key


def make_cert_with_dates(directory, name, cn, not_before, not_after):
    """A self-signed EC certificate valid from not_before to not_after ("YYYYMMDDHHMMSSZ"),
    made by `openssl ca`: `openssl req -x509 -days` (OpenSSL 3.0) cannot date one in the
    past. Returns (cert, key) paths."""
    work = tempfile.mkdtemp(prefix=f"ca-{name}-", dir=directory)
    cert = os.path.join(directory, f"{name}.crt")
    key = os.path.join(directory, f"{name}.key")
    csr = os.path.join(work, "req.csr")
    conf = os.path.join(work, "ca.cnf")
    with open(conf, "w") as f:
        f.write(f"[ca]\ndefault_ca = selfsigned\n[selfsigned]\ndatabase = {work}/index\nnew_certs_dir = {work}\n"
                f"serial = {work}/serial\ndefault_md = sha256\npolicy = any\n[any]\ncommonName = supplied\n")
    open(os.path.join(work, "index"), "w").close()
    with open(os.path.join(work, "serial"), "w") as f:
        f.write("01\n")
    subprocess.run(["openssl", "req", "-new", "-nodes", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-keyout", key, "-out", csr, "-subj", f"/CN={cn}"], check=True, capture_output=True, timeout=30)
    subprocess.run(["openssl", "ca", "-batch", "-config", conf, "-selfsign", "-keyfile", key, "-in", csr,
                    "-out", cert, "-notext", "-startdate", not_before, "-enddate", not_after],
                   check=True, capture_output=True, timeout=30)
    return cert, key


# --- helpers added for the serve/proxy/sni/config/resumption/revocation tests ---

def wait_for(predicate, timeout=5.0, interval=0.05):
    """Polls predicate() until it is truthy or timeout passes; returns its last value."""
    deadline = time.time() + timeout
    while True:
        value = predicate()
        if value or time.time() >= deadline:
            return value
        time.sleep(interval)


def port_open(port, host="127.0.0.1"):
    """True if something accepts TCP connections on host:port right now."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def run_bin(*args, timeout=15, **kwargs):
    """Runs the tlsresume binary to completion; returns the CompletedProcess (text mode)."""
    return subprocess.run([BIN, *args], capture_output=True, text=True, timeout=timeout, **kwargs)


def metric_sum(server, name, **labels):
    """Sum of every sample of metric `name` whose labels include `labels`."""
    total = 0.0
    for key, value in server.metrics().items():
        base = key.split("{", 1)[0]
        if base != name:
            continue
        if all(f'{k}="{v}"' in key for k, v in labels.items()):
            total += value
    return total
