"""A real redis-server for the fleet tests: started on a free 127.0.0.1 port with
persistence off, stopped (killed) at teardown, restartable on the same port, pausable
with SIGSTOP. Plain TCP or TLS (rediss), optionally with an ACL file.

Commands go through a minimal RESP client over a Python socket, so no redis-cli or
client library is needed. Every wait is bounded."""
import os
import signal
import socket
import ssl
import subprocess
import tempfile
import time

from harness import free_port

REDIS_SERVER = "/usr/bin/redis-server"


def available():
    """None if redis-server can be run, else the reason it cannot."""
    if not os.path.exists(REDIS_SERVER):
        return f"{REDIS_SERVER} is not installed (scripts/install-deps.sh installs redis-server)"
    return None


class RedisError(Exception):
    pass


def _encode(args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        b = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(b), b))
    return b"".join(out)


class _Reader:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def _line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise RedisError("connection closed by Redis")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exact(self, n):
        while len(self.buf) < n + 2:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise RedisError("connection closed by Redis")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def reply(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RedisError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n)
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self.reply() for _ in range(n)]
        raise RedisError(f"unexpected RESP reply {line!r}")


class Redis:
    """A redis-server process. tls=True serves TLS only (on self.port) with a CA and a
    server certificate made here (self.ca_file); acl_lines go to an ACL file."""

    def __init__(self, tls=False, acl_lines=None):
        self.tmp = tempfile.TemporaryDirectory(prefix="tlsresume-redis-")
        self.dir = self.tmp.name
        self.port = free_port()
        self.tls = tls
        self.acl_lines = acl_lines
        self.proc = None
        self.log_path = os.path.join(self.dir, "redis.log")
        self.ca_file = None
        if tls:
            self._make_certs()

    # --- lifecycle ---
    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        self.tmp.cleanup()

    @property
    def url(self):
        return f"{'rediss' if self.tls else 'redis'}://127.0.0.1:{self.port}"

    def args(self):
        a = [REDIS_SERVER, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", self.dir,
             "--logfile", self.log_path, "--daemonize", "no"]
        if self.tls:
            a += ["--port", "0", "--tls-port", str(self.port), "--tls-cert-file", self.cert_file,
                  "--tls-key-file", self.key_file, "--tls-ca-cert-file", self.ca_file, "--tls-auth-clients", "no"]
        else:
            a += ["--port", str(self.port)]
        if self.acl_lines is not None:
            acl = os.path.join(self.dir, "users.acl")
            with open(acl, "w") as f:
                f.write("\n".join(self.acl_lines) + "\n")
            a += ["--aclfile", acl]
        return a

    def start(self, timeout=10.0):
        """Starts (or restarts, on the same port) and waits until it answers PING."""
        self.proc = subprocess.Popen(self.args(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                if self.command("PING", auth=self._admin_auth()) == "PONG":
                    return self
            except (OSError, RedisError, ssl.SSLError) as e:
                last = e
            time.sleep(0.05)
        log = ""
        try:
            with open(self.log_path) as f:
                log = f.read()[-2000:]
        except OSError:
            pass
        self.kill()
        raise RuntimeError(f"redis-server did not start on {self.port}: {last}\n{log}")

    def kill(self):
        """SIGKILL (also of a stopped process) and wait: the port is free again after this."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    stop = kill

    def pause(self):
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self):
        self.proc.send_signal(signal.SIGCONT)

    # --- commands ---
    admin_user = None  # (user, password) for command() when the default user is off

    def _admin_auth(self):
        return self.admin_user

    def connect(self, timeout=5.0):
        raw = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        if not self.tls:
            return raw
        ctx = ssl.create_default_context(cafile=self.ca_file)
        return ctx.wrap_socket(raw, server_hostname="127.0.0.1")

    def command(self, *args, auth="default-admin", timeout=5.0):
        """One command on a fresh connection; returns the decoded RESP reply."""
        if auth == "default-admin":
            auth = self._admin_auth()
        with self.connect(timeout) as s:
            reader = _Reader(s)
            if auth:
                s.sendall(_encode(["AUTH", *auth]))
                reader.reply()
            s.sendall(_encode(list(args)))
            return reader.reply()

    def keys(self, pattern):
        return sorted(self.command("KEYS", pattern) or [])

    # --- TLS material ---
    def _make_certs(self):
        d = self.dir
        self.ca_file = os.path.join(d, "ca.pem")
        ca_key = os.path.join(d, "ca.key")
        self.cert_file = os.path.join(d, "redis.pem")
        self.key_file = os.path.join(d, "redis.key")
        csr = os.path.join(d, "redis.csr")
        ext = os.path.join(d, "redis.ext")
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]

        def run(*cmd):
            subprocess.run(["openssl", *cmd], check=True, capture_output=True, timeout=30)

        run("req", "-x509", "-nodes", *ec, "-keyout", ca_key, "-out", self.ca_file, "-days", "2",
            "-subj", "/CN=tlsresume test Redis CA")
        run("req", "-new", "-nodes", *ec, "-keyout", self.key_file, "-out", csr, "-subj", "/CN=127.0.0.1")
        with open(ext, "w") as f:
            f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n"
                    "keyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n")
        run("x509", "-req", "-in", csr, "-CA", self.ca_file, "-CAkey", ca_key, "-CAcreateserial",
            "-out", self.cert_file, "-days", "2", "-extfile", ext)

