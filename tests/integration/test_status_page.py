"""The admin endpoint's live status page (GET / from a browser), rendered by a real
browser: Debian's chromium, headless, loads it from a running `tlsresume serve`, lets its
script fetch /metrics, /keys, /revocations and /fleet, and dumps the DOM it drew. The
figures in that DOM are checked against the admin routes read directly, and screenshots
at a laptop's and a phone's size are kept under the build dir (their paths are printed).

Handshakes of every kind come first (Python's ssl: full, session id, TLS 1.2 and 1.3
tickets on the default host, stateful tickets on a second host, one garbage ClientHello),
so that no figure checked is zero."""
import html.parser
import http.client
import http.server
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import unittest
import urllib.parse
import urllib.request

import redis_fixture
from harness import BIN, Server, body_field, client_context, https_get, make_cert, wait_for
from redis_fixture import Redis

CHROMIUM = shutil.which("chromium")
ARTEFACTS = os.path.join(os.environ.get("TLSRESUME_BUILD_DIR") or os.path.dirname(os.path.abspath(BIN)), "artefacts")
# Virtual time the page gets before the DOM is taken: a first sample at once and two more
# 2 s apart, so the per-second figures and the chart have something to draw. Chromium
# fast-forwards idle virtual time and holds it while a fetch is under way.
BUDGET_MS = 5000
KINDS = ("full", "session-id", "stateful-ticket", "ticket", "failed")
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


def require_chromium():
    # Not skipped: scripts/install-deps.sh installs chromium, and in CI a skip fails the run.
    if not CHROMIUM:
        raise AssertionError("chromium is not installed: run scripts/install-deps.sh (or apt-get install chromium)")


class Dom(html.parser.HTMLParser):
    """The elements of a dumped document: tag, attributes and the text inside each."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.elements = []
        self._open = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        e = {"tag": tag, "attrs": dict(attrs), "text": ""}
        self.elements.append(e)
        if tag not in VOID:
            self._open.append(e)

    def handle_startendtag(self, tag, attrs):
        self.elements.append({"tag": tag, "attrs": dict(attrs), "text": ""})

    def handle_endtag(self, tag):
        for i in range(len(self._open) - 1, -1, -1):
            if self._open[i]["tag"] == tag:
                del self._open[i:]
                break

    def handle_data(self, data):
        for e in self._open:
            e["text"] += data

    def find(self, **attrs):
        """Elements whose attributes include attrs (data_vhost="x" means data-vhost="x")."""
        tag = attrs.pop("tag", None)
        want = {k.replace("_", "-"): v for k, v in attrs.items()}
        return [e for e in self.elements if (tag is None or e["tag"] == tag) and
                all((k in e["attrs"]) if v is True else e["attrs"].get(k) == v for k, v in want.items())]

    def one(self, **attrs):
        found = self.find(**attrs)
        assert len(found) == 1, (attrs, found)
        return found[0]

    def by_id(self, ident):
        return self.one(id=ident)


def chromium(url, *args, size="1280,900", budget_ms=BUDGET_MS):
    """Runs headless chromium on url with its own throw-away profile; returns stdout."""
    with tempfile.TemporaryDirectory(prefix="tlsresume-chromium-") as profile:
        cmd = [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
               "--no-default-browser-check", "--disable-extensions", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--hide-scrollbars", "--force-color-profile=srgb",
               f"--user-data-dir={profile}", f"--window-size={size}", f"--virtual-time-budget={budget_ms}",
               *args, url]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, f"chromium exited {p.returncode}: {p.stderr[-2000:]}"
        return p.stdout


def dump(url, size="1280,900"):
    return Dom(chromium(url, "--dump-dom", size=size))


def screenshot(url, name, size):
    os.makedirs(ARTEFACTS, exist_ok=True)
    path = os.path.join(ARTEFACTS, name)
    if os.path.exists(path):
        os.unlink(path)
    chromium(url, f"--screenshot={path}", size=size)
    assert os.path.getsize(path) > 10_000, f"{path}: {os.path.getsize(path)} bytes, an empty page?"
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n", path
    print(f"\nstatus page screenshot ({size.replace(',', 'x')}): {path}", flush=True)
    return path


FRAME = """<!doctype html>
<html><head><meta charset="utf-8"><style>html, body {{ margin: 0 }} iframe {{ border: 0; display: block }}</style></head>
<body><iframe id="page" src="/" width="{w}" height="{h}"></iframe><div id="frame-state"></div>
<script>
// The framed page is of this origin: its #state attributes are copied here, where --dump-dom sees them.
setInterval(() => {{
  const doc = document.getElementById("page").contentDocument;
  const s = doc && doc.getElementById("state");
  if (s) Object.assign(document.getElementById("frame-state").dataset, s.dataset);
}}, 250);
</script></body></html>
"""


class Proxy:
    """What docs/admin.md has an operator put in front of an admin endpoint with a token:
    a reverse proxy, of its own origin, adding "Authorization: Bearer" to every request.
    It also serves /frame?w=W&h=H: the page in an iframe of that size and of the same
    origin, which is how the page is laid out at a phone's width here (headless chromium
    lays a window out at least 500 px wide)."""

    def __init__(self, admin_port, token=None):
        class Handler(http.server.BaseHTTPRequestHandler):
            def forward(self):
                if self.path.startswith("/frame?"):
                    q = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
                    return self.answer(200, "text/html; charset=utf-8",
                                       FRAME.format(w=int(q["w"][0]), h=int(q["h"][0])).encode())
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in ("host", "connection", "authorization", "content-length")}
                if token:
                    headers["Authorization"] = f"Bearer {token}"
                length = int(self.headers.get("Content-Length") or 0)
                conn = http.client.HTTPConnection("127.0.0.1", admin_port, timeout=10)
                try:
                    conn.request(self.command, self.path, body=self.rfile.read(length) if length else None,
                                 headers=headers)
                    r = conn.getresponse()
                    self.answer(r.status, r.getheader("Content-Type") or "text/plain", r.read())
                finally:
                    conn.close()

            def answer(self, status, content_type, body):
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            do_GET = do_HEAD = do_POST = forward

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def admin_get(port, path, headers=None, method="GET"):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers or {}, method=method,
                                 data=b"" if method == "POST" else None)
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, r.headers, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode()


def resume(port, ctx, times, server_hostname="localhost"):
    """One full handshake, then `times` resumptions, each offering the latest session."""
    body, session, reused = https_get(port, ctx, server_hostname=server_hostname)
    assert not reused and "HTTP/1.1 200 OK" in body, body
    first = body
    for _ in range(times):
        body, newer, reused = https_get(port, ctx, session=session, server_hostname=server_hostname)
        assert reused, f"did not resume: {body}"
        session = newer or session
    return first


def handshake_counts(metrics_text):
    """{(vhost, version, kind): n} from /metrics."""
    out = {}
    for m in re.finditer(r'(?m)^tlsresume_handshakes_total\{vhost="([^"]*)",version="([^"]*)",kind="([^"]*)"\} (\S+)$',
                         metrics_text):
        out[(m.group(1), m.group(2), m.group(3))] = float(m.group(4))
    return out


def metric(metrics_text, name):
    m = re.search(rf"(?m)^{name} (\S+)$", metrics_text)
    assert m, name
    return float(m.group(1))


class StatusPage(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_chromium()
        cls.tmp = tempfile.TemporaryDirectory(prefix="tlsresume-status-")
        cert, key = make_cert(cls.tmp.name, "shop", "shop.test")
        cls.server = Server(config=(f'[[hosts]]\nname = "shop"\nserver_names = ["shop.test"]\ncert = "{cert}"\n'
                                    f'key = "{key}"\ntls13_tickets = "stateful"\n'))
        cls.server.start()
        port = cls.server.port
        ctx12_ids = client_context(ssl.TLSVersion.TLSv1_2)
        ctx12_ids.options |= ssl.OP_NO_TICKET
        cls.revoked_id = body_field(resume(port, ctx12_ids, 3), "session")   # 1 full, 3 session-id
        resume(port, client_context(ssl.TLSVersion.TLSv1_2), 2)              # 1 full, 2 ticket (TLS 1.2)
        resume(port, client_context(ssl.TLSVersion.TLSv1_3), 2)              # 1 full, 2 ticket (TLS 1.3)
        resume(port, client_context(ssl.TLSVersion.TLSv1_3), 2, "shop.test")  # shop: 1 full, 2 stateful-ticket
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:  # a failed handshake
            s.sendall(b"\x16\x03\x01\x00\x05garbage")
            try:
                s.recv(100)
            except OSError:
                pass
        status, _, body = admin_get(cls.server.admin_port, f"/revoke?id={cls.revoked_id}", method="POST")
        assert status == 200, body
        wait_for(lambda: sum(v for (h, _, k), v in handshake_counts(cls.server.admin("GET", "/metrics")[1]).items()
                             if k == "failed") >= 1)
        cls.url = f"http://127.0.0.1:{cls.server.admin_port}/"
        cls.dom = dump(cls.url)
        # Read right after the browser: the page's own requests make no handshake, so these
        # are the figures its last sample saw.
        cls.metrics = cls.server.admin("GET", "/metrics")[1]
        cls.keys = json.loads(cls.server.admin("GET", "/keys")[1])
        cls.revocations = json.loads(cls.server.admin("GET", "/revocations")[1])

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.tmp.cleanup()

    def test_the_page_ran_and_is_live(self):
        state = self.dom.by_id("state")
        self.assertEqual(state["attrs"]["data-state"], "live", state)
        # Its fetch() GETs reached the endpoint: a same-origin GET carries no Origin header,
        # which the endpoint refuses (403) on every route.
        self.assertGreaterEqual(int(state["attrs"]["data-samples"]), 2, state)
        self.assertGreaterEqual(int(self.dom.by_id("chart")["attrs"]["data-points"]), 1)
        self.assertEqual(len(self.dom.find(tag="polyline")), 2)

    def test_handshakes_by_host_and_kind_match_the_metrics(self):
        counts = handshake_counts(self.metrics)
        hosts = {h for (h, _, _) in counts}
        self.assertEqual(hosts, {"default", "shop"})
        for host in hosts:
            for kind in KINDS:
                with self.subTest(host=host, kind=kind):
                    expected = sum(v for (h, _, k), v in counts.items() if h == host and k == kind)
                    cell = self.dom.one(tag="td", data_vhost=host, data_kind=kind)
                    self.assertEqual(float(cell["attrs"]["data-value"]), expected)
                    self.assertEqual(cell["text"].replace(",", ""), str(int(expected)))
        # The figures made above, as the page shows them.
        cell = lambda host, kind: int(float(self.dom.one(tag="td", data_vhost=host, data_kind=kind)["attrs"]["data-value"]))
        self.assertEqual(cell("default", "session-id"), 3)
        self.assertEqual(cell("default", "ticket"), 4)
        self.assertEqual(cell("default", "full"), 3)
        self.assertEqual(cell("shop", "stateful-ticket"), 2)
        self.assertEqual(cell("shop", "full"), 1)
        self.assertGreaterEqual(sum(cell(h, "failed") for h in hosts), 1)
        # Per host, resumed of completed handshakes: default 7 of 10, shop 2 of 3.
        rate = lambda host: float(self.dom.one(tag="td", data_vhost=host, data_rate="resumed")["attrs"]["data-value"])
        self.assertAlmostEqual(rate("default"), 0.7, places=4)
        self.assertAlmostEqual(rate("shop"), 2 / 3, places=4)
        self.assertEqual(self.dom.one(tag="td", data_vhost="default", data_rate="resumed")["text"], "70.0%")

    def test_resumption_by_kind_and_overall(self):
        counts = handshake_counts(self.metrics)
        by_kind = {k: sum(v for (_, _, kk), v in counts.items() if kk == k) for k in KINDS}
        for kind in KINDS:
            with self.subTest(kind=kind):
                cell = self.dom.one(tag="td", data_kind_total=kind)
                self.assertEqual(float(cell["attrs"]["data-value"]), by_kind[kind])
                for version in ("TLSv1.2", "TLSv1.3"):
                    expected = sum(v for (_, ver, kk), v in counts.items() if kk == kind and ver == version)
                    got = self.dom.one(tag="td", data_kind=kind, data_version=version)
                    self.assertEqual(float(got["attrs"]["data-value"]), expected)
        resumed = by_kind["session-id"] + by_kind["stateful-ticket"] + by_kind["ticket"]
        overall = self.dom.by_id("rate-overall")
        self.assertAlmostEqual(float(overall["attrs"]["data-value"]), resumed / (resumed + by_kind["full"]), places=4)
        self.assertEqual(overall["text"], "69.2%")  # 9 resumed of 13
        self.assertEqual(float(self.dom.by_id("failed-total")["attrs"]["data-value"]), by_kind["failed"])
        # Nothing happened while the page sampled: its per-second figures are zero.
        self.assertEqual(float(self.dom.by_id("rate-full-now")["attrs"]["data-value"]), 0)
        self.assertEqual(float(self.dom.by_id("rate-resumed-now")["attrs"]["data-value"]), 0)

    def test_session_store(self):
        for ident, name in (("store-entries", "tlsresume_session_store_entries"),
                            ("store-bytes", "tlsresume_session_store_bytes"),
                            ("store-evictions", "tlsresume_session_store_evictions_total"),
                            ("store-expired", "tlsresume_session_store_expired_total")):
            with self.subTest(name=name):
                self.assertEqual(float(self.dom.by_id(ident)["attrs"]["data-value"]), metric(self.metrics, name))
        self.assertGreaterEqual(metric(self.metrics, "tlsresume_session_store_entries"), 1)
        hits = metric(self.metrics, "tlsresume_session_store_hits_total")
        misses = metric(self.metrics, "tlsresume_session_store_misses_total")
        self.assertAlmostEqual(float(self.dom.by_id("store-hit-ratio")["attrs"]["data-value"]), hits / (hits + misses),
                               places=4)
        self.assertEqual(self.dom.by_id("store-fill")["attrs"]["data-fill"], "room")

    def test_ticket_key_timeline(self):
        self.assertTrue(self.keys)
        shown = {e["attrs"]["data-key-id"]: e for e in self.dom.find(tag="div", data_key_id=True)}
        self.assertEqual(set(shown), {k["id"] for k in self.keys})
        self.assertIn("current", {k["state"] for k in self.keys})
        for k in self.keys:
            with self.subTest(key=k["id"]):
                e = shown[k["id"]]
                self.assertEqual(e["attrs"]["data-state"], k["state"])
                self.assertIn(k["state"], e["text"])
                for phase, field in (("introduced", "created_at"), ("current", "current_from"),
                                     ("retired", "current_until"), ("erased", "erase_at")):
                    self.assertIn(str(k[field]), {t["attrs"]["data-value"] for t in self.dom.find(data_time=phase)})
        self.assertEqual(self.dom.by_id("keys")["attrs"]["data-mode"], "keys")

    def test_revocations(self):
        self.assertEqual(len(self.revocations), 1)
        self.assertEqual(self.dom.by_id("revocations-count")["attrs"]["data-count"], "1")
        row = self.dom.one(tag="tr", data_revocation_kind="id")
        self.assertEqual(row["attrs"]["data-subject"], self.revoked_id)
        self.assertIn(self.revoked_id, row["text"])
        self.assertIn("kept until", row["text"])

    def test_fleet_section_hidden_without_fleet_mode(self):
        fleet = self.dom.by_id("fleet")
        self.assertEqual(fleet["attrs"]["data-mode"], "off")
        self.assertIn("hidden", fleet["attrs"])

    def test_no_key_material_and_nothing_from_elsewhere(self):
        status, headers, page = admin_get(self.server.admin_port, "/", {"Accept": "text/html"})
        self.assertEqual(status, 200)
        self.assertEqual(headers["Content-Type"], "text/html; charset=utf-8")
        # The only absolute URL is the SVG namespace, a name that is never fetched.
        self.assertEqual(set(re.findall(r"[a-z]+://[^\s\"'<>)]+", page)), {"http://www.w3.org/2000/svg"})
        self.assertNotRegex(page, r"(?i)<(script|link|img|iframe)[^>]+(src|href)=[\"'](?!data:)")
        self.assertIn("connect-src 'self'", page)
        # What the page drew holds no more than the routes serve: no secret-looking field.
        rendered = json.dumps([e["attrs"] for e in self.dom.elements]) + " ".join(e["text"] for e in self.dom.elements)
        for word in ("master", "secret", "aes_key", "hmac_key", "material"):
            self.assertNotIn(word, rendered.replace("No key material", "").replace("carries key material", ""))

    def test_route_rules(self):
        port = self.server.admin_port
        # Tools that do not ask for HTML still get the 404 listing the routes.
        self.assertEqual(admin_get(port, "/")[0], 404)
        self.assertEqual(admin_get(port, "/", {"Accept": "application/json"})[0], 404)
        self.assertEqual(admin_get(port, "/", {"Accept": "text/html;q=0, */*"})[0], 404)
        self.assertEqual(admin_get(port, "/", {"Accept": "text/html"}, method="POST")[0], 405)
        self.assertEqual(admin_get(port, "/", {"Accept": "text/html"}, method="HEAD")[0], 200)
        # The page's data routes are still refused to a request carrying Origin, and so is
        # a page trying to revoke.
        origin = {"Origin": f"http://127.0.0.1:{port}"}
        self.assertEqual(admin_get(port, "/", {"Accept": "text/html", **origin})[0], 403)
        self.assertEqual(admin_get(port, "/metrics", origin)[0], 403)
        self.assertEqual(admin_get(port, "/revoke?before=now", origin, method="POST")[0], 403)

    def test_fits_a_laptop_and_a_phone(self):
        # No horizontal scroll: the document is no wider than its window (or frame).
        state = dump(self.url, size="1280,900").by_id("state")["attrs"]
        self.assertEqual((state["data-state"], state["data-view-width"]), ("live", "1280"), state)
        self.assertLessEqual(int(state["data-scroll-width"]), 1280, state)
        with Proxy(self.server.admin_port) as proxy:
            state = dump(f"{proxy.url}/frame?w=390&h=844").by_id("frame-state")["attrs"]
            self.assertEqual((state["data-state"], state["data-view-width"]), ("live", "390"), state)
            self.assertLessEqual(int(state["data-scroll-width"]), 390, state)
            screenshot(self.url, "status-page.png", "1280,900")
            screenshot(f"{proxy.url}/frame?w=390&h=844", "status-page-phone.png", "390,844")
            # The whole page at a phone's width, for a reader of the artefacts.
            screenshot(f"{proxy.url}/frame?w=390&h=2600", "status-page-phone-full.png", "390,2600")


class WithToken(unittest.TestCase):
    """admin_token_file: the page needs the token like every route (operators reach it
    through a proxy that adds the header, docs/admin.md); without it a browser gets 401."""

    def test_the_page_needs_the_token(self):
        require_chromium()
        with tempfile.TemporaryDirectory(prefix="tlsresume-status-token-") as d:
            token = "0123456789abcdef0123456789abcdef"
            path = os.path.join(d, "admin.token")
            with open(path, "w") as f:
                f.write(token + "\n")
            with Server(config=f'admin_token_file = "{path}"\n') as srv:
                html_accept = {"Accept": "text/html"}
                status, headers, body = admin_get(srv.admin_port, "/", html_accept)
                self.assertEqual(status, 401)
                self.assertNotIn("<html", body)
                status, headers, body = admin_get(srv.admin_port, "/", {**html_accept, "Authorization": f"Bearer {token}"})
                self.assertEqual(status, 200)
                self.assertIn("<title>tlsresume status</title>", body)
                # A browser straight at the endpoint: refused, nothing drawn.
                dom = dump(f"http://127.0.0.1:{srv.admin_port}/")
                self.assertFalse(dom.find(id="state"))
                # Through a proxy that adds the token, the page and its requests get through.
                with Proxy(srv.admin_port, token) as proxy:
                    dom = dump(proxy.url + "/")
                self.assertEqual(dom.by_id("state")["attrs"]["data-state"], "live")
                self.assertTrue(dom.find(tag="td", data_vhost="default", data_kind="full"))


class Fleet(unittest.TestCase):
    """Fleet mode on one Redis: the page shows the link, the servers seen, the lease
    holder and the fleet's keys."""

    def test_fleet_section(self):
        require_chromium()
        reason = redis_fixture.available()
        if reason:
            raise AssertionError(reason)
        with Redis() as redis, Server(config=f'[fleet]\nredis = "{redis.url}"\nnode_name = "status-a"\n') as srv:
            fleet = lambda: json.loads(srv.admin("GET", "/fleet")[1])
            self.assertTrue(wait_for(lambda: (f := fleet())["up"] and f["nodes"] and f["lease_holder"] and f["keys"],
                                     timeout=15), fleet())
            before = fleet()
            dom = dump(f"http://127.0.0.1:{srv.admin_port}/")
            expected = fleet()
            section = dom.by_id("fleet")
            self.assertEqual(section["attrs"]["data-mode"], "on")
            self.assertNotIn("hidden", section["attrs"])
            self.assertEqual(dom.by_id("fleet-link")["attrs"]["data-up"], "true")
            self.assertEqual(dom.by_id("fleet-node")["text"], "status-a")
            self.assertEqual(dom.by_id("fleet-lease")["attrs"]["data-holder"], expected["lease_holder"])
            self.assertEqual({e["attrs"]["data-node"] for e in dom.find(tag="tr", data_node=True)},
                             {n["name"] for n in expected["nodes"]})
            # The keys the page drew: those listed before and after it ran, and none that
            # neither listed (one may have been made ahead in between).
            shown = {e["attrs"]["data-key-id"] for e in dom.find(tag="tr", data_key_id=True)}
            ids = lambda f: {k["id"] for k in f["keys"]}
            self.assertLessEqual(ids(before) & ids(expected), shown)
            self.assertLessEqual(shown, ids(before) | ids(expected))
            self.assertTrue(shown)
            screenshot(f"http://127.0.0.1:{srv.admin_port}/", "status-page-fleet.png", "1280,2000")


if __name__ == "__main__":
    unittest.main()
