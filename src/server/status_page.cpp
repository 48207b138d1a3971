#include "server/status_page.hpp"

#include <cctype>

namespace tlsresume::server {
namespace {

// Rules the page keeps:
// * Self-contained: inline CSS and JavaScript, no font, script, style or image from
//   anywhere; its Content-Security-Policy (a meta element: the admin endpoint's headers
//   are shared by every route) lets it connect to its own origin only.
// * Read-only: it only GETs /metrics, /keys, /revocations and /fleet. A browser sends no
//   Origin header with a same-origin GET or HEAD made by fetch() (the Fetch standard adds
//   Origin to those only in CORS mode; Chromium 156 checked, test_status_page.py renders the
//   page through it), so the endpoint's rule refusing requests with Origin holds unchanged:
//   POST /revoke and /rotate from any page, this one included, carry Origin and are refused.
// * Everything a server sends (host names, node names, key ids, revocation subjects) is
//   put in the document as text (textContent, setAttribute), never parsed as HTML.
// * Stable ids and data-* attributes carry the raw figures, for scripts and tests that read
//   the rendered page.
constexpr std::string_view kPage = R"html(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<title>tlsresume status</title>
<style>
:root {
  --bg: #f4f5f7; --card: #fff; --fg: #1d2330; --muted: #5d6677; --line: #dde1e8;
  --full: #d9822b; --resumed: #1f9e89; --failed: #c2413b;
  --introduced: #7f9fd9; --current: #2e9e5b; --retired: #d9a12b; --ok: #2e9e5b; --warn: #c27c0e; --bad: #c2413b;
  color-scheme: light dark;
}
@media (prefers-color-scheme: dark) {
  :root { --bg: #14171c; --card: #1d2128; --fg: #e4e7ec; --muted: #9aa3b2; --line: #323845; }
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; background: var(--bg); color: var(--fg);
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "DejaVu Sans", sans-serif; }
header { display: flex; flex-wrap: wrap; align-items: baseline; gap: 4px 16px; padding: 12px 16px 4px;
  max-width: 1200px; margin: 0 auto; }
h1 { font-size: 20px; margin: 0; }
h2 { font-size: 16px; margin: 0 0 8px; }
h3 { font-size: 13px; margin: 14px 0 6px; color: var(--muted); text-transform: uppercase; letter-spacing: .04em; }
#state { margin: 0; color: var(--muted); font-size: 13px; overflow-wrap: anywhere; }
#state[data-state="error"], #state[data-state="unauthorized"] { color: var(--bad); font-weight: 600; }
#state::before { content: "●"; margin-right: 6px; color: var(--muted); }
#state[data-state="live"]::before { color: var(--ok); }
#state[data-state="error"]::before, #state[data-state="unauthorized"]::before { color: var(--bad); }
main { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 500px), 1fr)); gap: 12px;
  padding: 8px 16px 16px; max-width: 1200px; margin: 0 auto; }
section { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; min-width: 0; }
section.wide { grid-column: 1 / -1; }
.tiles { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 8px; }
.tile { border: 1px solid var(--line); border-radius: 6px; padding: 6px 8px; min-width: 0; }
.tile .label { display: block; font-size: 12px; color: var(--muted); }
.tile .big { display: block; font-size: 22px; font-weight: 600; font-variant-numeric: tabular-nums; overflow-wrap: anywhere; }
.tile .sub { display: block; font-size: 12px; color: var(--muted); overflow-wrap: anywhere; }
table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { padding: 4px 6px; border-bottom: 1px solid var(--line); text-align: right; vertical-align: top; }
th { font-size: 12px; color: var(--muted); font-weight: 600; }
th:first-child, td:first-child, td.text, th.text { text-align: left; }
td.text, td:first-child { overflow-wrap: anywhere; }
code { font: 13px/1.3 ui-monospace, "DejaVu Sans Mono", monospace; overflow-wrap: anywhere; }
.muted { color: var(--muted); font-size: 13px; }
.badge { display: inline-block; padding: 0 7px; border-radius: 9px; font-size: 12px; font-weight: 600; color: #fff; background: var(--muted); }
.badge.introduced { background: var(--introduced); } .badge.current { background: var(--current); }
.badge.retired, .badge.pending { background: var(--retired); } .badge.ok { background: var(--ok); }
.badge.warn { background: var(--warn); } .badge.bad { background: var(--bad); }
.legend { display: flex; flex-wrap: wrap; gap: 4px 14px; font-size: 13px; color: var(--muted); margin: 4px 0 0; }
.legend span::before { content: ""; display: inline-block; width: 14px; height: 3px; margin: 0 5px 3px 0; vertical-align: middle; background: currentColor; }
.legend .full { color: var(--full); } .legend .resumed { color: var(--resumed); }
.legend .introduced { color: var(--introduced); } .legend .current { color: var(--current); } .legend .retired { color: var(--retired); }
.legend .now { color: var(--fg); }
#chart { width: 100%; min-height: 180px; }
#chart svg { display: block; }
#chart text { fill: var(--muted); font-size: 11px; }
#chart .grid { stroke: var(--line); stroke-width: 1; }
#chart .full { stroke: var(--full); } #chart .resumed { stroke: var(--resumed); }
#chart polyline { fill: none; stroke-width: 2; stroke-linejoin: round; }
.key { padding: 8px 0; border-bottom: 1px solid var(--line); }
.key-head { display: flex; flex-wrap: wrap; gap: 4px 10px; align-items: center; }
.track { position: relative; height: 14px; margin: 6px 0 4px; background: var(--bg); border-radius: 3px; overflow: hidden; }
.track .seg { position: absolute; top: 0; bottom: 0; }
.seg.introduced { background: var(--introduced); } .seg.current { background: var(--current); } .seg.retired { background: var(--retired); }
.track .now { position: absolute; top: 0; bottom: 0; width: 2px; margin-left: -1px; background: var(--fg); }
.key-times { display: grid; grid-template-columns: repeat(4, minmax(0, 1fr)); gap: 2px 10px; margin: 0; font-size: 12px; }
.key-times div { min-width: 0; }
.key-times dt { color: var(--muted); }
.key-times dd { margin: 0; font-variant-numeric: tabular-nums; overflow-wrap: anywhere; }
.axis { display: flex; justify-content: space-between; gap: 8px; font-size: 12px; color: var(--muted); margin-top: 6px; }
footer { max-width: 1200px; margin: 0 auto; padding: 0 16px 20px; color: var(--muted); font-size: 12px; }
[hidden] { display: none !important; }
/* Narrow screens (phones): each table row becomes a small card of "label value" lines,
   so no table is wider than the screen. */
@media (max-width: 640px) {
  header, main { padding-left: 8px; padding-right: 8px; }
  section { padding: 10px; }
  table.cards thead { display: none; }
  table.cards, table.cards tbody, table.cards tr, table.cards td { display: block; width: 100%; }
  table.cards tr { border: 1px solid var(--line); border-radius: 6px; margin: 0 0 8px; padding: 4px 8px; }
  table.cards td { display: flex; justify-content: space-between; gap: 12px; border: 0; padding: 2px 0; text-align: right; }
  table.cards td::before { content: attr(data-label); color: var(--muted); font-size: 12px; text-align: left; flex: none; }
  table.cards td:first-child { font-weight: 600; }
  table.compact th, table.compact td { padding: 3px 4px; font-size: 13px; }
  table.compact td + td { white-space: nowrap; }
  table.compact .ver { display: none; }  /* the split by TLS version: on wider screens */
  .key-times { grid-template-columns: repeat(2, minmax(0, 1fr)); }
}
</style>
</head>
<body>
<header>
  <h1>tlsresume</h1>
  <p id="state" data-state="loading" data-samples="0">loading…</p>
</header>
<noscript><p style="padding:0 16px">This page draws the admin endpoint's figures with JavaScript; without it, read /metrics, /keys, /revocations and /fleet directly.</p></noscript>
<main>
  <section id="resumption" class="wide">
    <h2>Resumption</h2>
    <div class="tiles">
      <div class="tile"><span class="label">resumed (of completed handshakes)</span><span class="big" id="rate-overall" data-value="">–</span><span class="sub" id="rate-overall-detail"></span></div>
      <div class="tile"><span class="label">full handshakes/s (last min)</span><span class="big" id="rate-full-now" data-value="">–</span></div>
      <div class="tile"><span class="label">resumed handshakes/s (last min)</span><span class="big" id="rate-resumed-now" data-value="">–</span></div>
      <div class="tile"><span class="label">failed handshakes</span><span class="big" id="failed-total" data-value="">–</span></div>
    </div>
    <h3>By kind</h3>
    <table id="by-kind" class="compact">
      <thead><tr><th class="text">kind</th><th class="ver">TLS 1.2</th><th class="ver">TLS 1.3</th><th>all</th><th>share</th><th>per s, 1 min</th></tr></thead>
      <tbody></tbody>
    </table>
    <h3>By virtual host</h3>
    <table id="by-vhost" class="cards">
      <thead><tr><th class="text">virtual host</th><th>full</th><th>session id</th><th>stateful ticket</th><th>ticket</th><th>failed</th><th>resumed</th></tr></thead>
      <tbody></tbody>
    </table>
  </section>
  <section id="rates" class="wide">
    <h2>Full and resumed handshakes per second</h2>
    <div id="chart" data-points="0"></div>
    <p class="legend"><span class="full">full</span><span class="resumed">resumed (session id, stateful ticket, ticket)</span></p>
    <p class="muted">Drawn from the samples this page took, one every 2 s since it was opened (the last 10 minutes).</p>
  </section>
  <section id="store">
    <h2>Session store</h2>
    <p><span id="store-fill" class="badge">–</span></p>
    <div class="tiles">
      <div class="tile"><span class="label">sessions stored</span><span class="big" id="store-entries" data-value="">–</span></div>
      <div class="tile"><span class="label">bytes used</span><span class="big" id="store-bytes" data-value="">–</span></div>
      <div class="tile"><span class="label">evictions</span><span class="big" id="store-evictions" data-value="">–</span><span class="sub" id="store-evictions-rate"></span></div>
      <div class="tile"><span class="label">expired</span><span class="big" id="store-expired" data-value="">–</span></div>
      <div class="tile"><span class="label">lookups found</span><span class="big" id="store-hit-ratio" data-value="">–</span><span class="sub" id="store-lookups"></span></div>
    </div>
    <p class="muted">The store is bounded by <code>session_cache.max_bytes</code>; it evicts only when a new session would exceed that budget.</p>
  </section>
  <section id="revocations">
    <h2>Revocations</h2>
    <p class="muted" id="revocations-count" data-count="0">–</p>
    <table id="revocations-table" class="cards">
      <thead><tr><th class="text">kind</th><th class="text">subject</th><th>time</th></tr></thead>
      <tbody></tbody>
    </table>
  </section>
  <section id="keys" class="wide" data-mode="unknown">
    <h2>Ticket keys</h2>
    <p class="legend"><span class="introduced">introduced (known, not yet encrypting)</span><span class="current">current (encrypts)</span><span class="retired">retired (decrypts only)</span><span class="now">now</span></p>
    <div id="keys-body"></div>
  </section>
  <section id="fleet" class="wide" data-mode="unknown" hidden>
    <h2>Fleet</h2>
    <div class="tiles">
      <div class="tile"><span class="label">Redis link</span><span class="big" id="fleet-link" data-up="">–</span><span class="sub" id="fleet-redis"></span></div>
      <div class="tile"><span class="label">this server</span><span class="sub" id="fleet-node">–</span></div>
      <div class="tile"><span class="label">key lease holder</span><span class="sub" id="fleet-lease">–</span></div>
      <div class="tile"><span class="label">keys in sync</span><span class="big" id="fleet-synced">–</span></div>
      <div class="tile"><span class="label">revocations to publish</span><span class="big" id="fleet-pending">–</span></div>
    </div>
    <h3>Servers seen</h3>
    <table id="fleet-nodes" class="cards">
      <thead><tr><th class="text">server</th><th>last seen</th></tr></thead>
      <tbody></tbody>
    </table>
    <h3>The fleet's keys</h3>
    <table id="fleet-keys" class="cards">
      <thead><tr><th class="text">id</th><th class="text">origin</th><th class="text">state</th><th class="text">made by</th><th>current from</th><th>current until</th><th>erased at</th></tr></thead>
      <tbody></tbody>
    </table>
  </section>
</main>
<footer>Read-only: this page reads /metrics, /keys, /revocations and /fleet and changes nothing. None of them carries key material. Times are this browser's local time.</footer>
<script>
"use strict";
(() => {
  const PERIOD_MS = 2000;
  const KEEP_MS = 10 * 60 * 1000;      // the chart's span
  const WINDOW_MS = 60 * 1000;         // "per second" figures: over the last minute
  const FLEET_RECHECK_MS = 30 * 1000;  // fleet mode off: ask again this often
  const KINDS = ["full", "session-id", "stateful-ticket", "ticket", "failed"];
  const RESUMED = ["session-id", "stateful-ticket", "ticket"];
  const KIND_NAMES = { "full": "full", "session-id": "session id", "stateful-ticket": "stateful ticket",
                       "ticket": "ticket", "failed": "failed" };
  const SVG = "http://www.w3.org/2000/svg";

  let samples = [];          // {t, kinds: {kind: total}, full, resumed, evictions}
  let fleetOffSince = null;  // when /fleet last said 404

  const $ = (id) => document.getElementById(id);
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null) continue;
      if (k === "class") e.className = v; else e.setAttribute(k, String(v));
    }
    for (const c of children) if (c !== undefined && c !== null) e.append(c instanceof Node ? c : String(c));
    return e;
  }
  function svg(tag, attrs) {
    const e = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
    return e;
  }
  function setFigure(id, value, text) {
    const e = $(id);
    e.dataset.value = value === null || value === undefined ? "" : String(value);
    e.textContent = text;
  }

  // --- formatting ---
  const int = (n) => Math.round(n).toLocaleString("en-US");
  const pct = (r) => (r === null ? "–" : (100 * r).toFixed(1) + "%");
  function perSecond(r) {
    if (r === null) return "–";
    return r >= 100 ? r.toFixed(0) : r >= 10 ? r.toFixed(1) : r.toFixed(2);
  }
  function bytes(n) {
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return (i ? n.toFixed(1) : String(n)) + " " + units[i];
  }
  const pad = (n) => String(n).padStart(2, "0");
  function clock(unixS) {
    const d = new Date(unixS * 1000), today = new Date();
    const hms = pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds());
    if (d.toDateString() === today.toDateString()) return hms;
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + " " + hms;
  }
  function relative(unixS) {
    const s = Math.round(unixS - Date.now() / 1000), a = Math.abs(s);
    if (a < 2) return "now";
    const text = a < 90 ? a + " s" : a < 5400 ? Math.round(a / 60) + " min" : a < 172800 ? (a / 3600).toFixed(1) + " h" : Math.round(a / 86400) + " d";
    return s > 0 ? "in " + text : text + " ago";
  }
  const when = (unixS) => clock(unixS) + " (" + relative(unixS) + ")";

  // --- Prometheus text ---
  function parseMetrics(text) {
    const out = new Map();
    for (const line of text.split("\n")) {
      if (!line || line[0] === "#") continue;
      const m = /^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
      if (!m) continue;
      const labels = {};
      if (m[2]) for (const l of m[2].matchAll(/([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
        labels[l[1]] = l[2].replace(/\\(.)/g, (_, c) => (c === "n" ? "\n" : c));
      if (!out.has(m[1])) out.set(m[1], []);
      out.get(m[1]).push({ labels, value: Number(m[3]) });
    }
    return out;
  }
  function total(metrics, name, match) {
    let t = 0;
    for (const s of metrics.get(name) || []) if (!match || match(s.labels)) t += s.value;
    return t;
  }

  // --- samples and rates ---
  function rate(pick) {
    if (samples.length < 2) return null;
    const last = samples[samples.length - 1];
    let first = samples.find((s) => last.t - s.t <= WINDOW_MS);
    if (first === last) first = samples[samples.length - 2];
    const dt = (last.t - first.t) / 1000;
    return dt > 0 ? Math.max(0, pick(last) - pick(first)) / dt : null;
  }
  function addSample(metrics) {
    const kinds = {};
    for (const k of KINDS) kinds[k] = total(metrics, "tlsresume_handshakes_total", (l) => l.kind === k);
    const s = { t: Date.now(), kinds, full: kinds["full"], resumed: RESUMED.reduce((a, k) => a + kinds[k], 0),
                evictions: total(metrics, "tlsresume_session_store_evictions_total") };
    const last = samples[samples.length - 1];
    // Counters that went down: the server restarted; its earlier samples say nothing now.
    if (last && (s.full < last.full || s.resumed < last.resumed)) samples = [];
    samples.push(s);
    while (samples.length && s.t - samples[0].t > KEEP_MS) samples.shift();
  }

  // --- handshakes ---
  function renderHandshakes(metrics) {
    const hosts = new Map();
    const byKind = {};
    for (const k of KINDS) byKind[k] = { "TLSv1.2": 0, "TLSv1.3": 0, all: 0 };
    for (const s of metrics.get("tlsresume_handshakes_total") || []) {
      const { vhost, kind, version } = s.labels;
      if (!hosts.has(vhost)) hosts.set(vhost, {});
      const row = hosts.get(vhost);
      row[kind] = (row[kind] || 0) + s.value;
      if (!byKind[kind]) byKind[kind] = { "TLSv1.2": 0, "TLSv1.3": 0, all: 0 };
      if (version in byKind[kind]) byKind[kind][version] += s.value;
      byKind[kind].all += s.value;
    }
    const full = byKind["full"].all, resumed = RESUMED.reduce((a, k) => a + byKind[k].all, 0);
    const everything = Object.values(byKind).reduce((a, v) => a + v.all, 0);
    const overall = full + resumed > 0 ? resumed / (full + resumed) : null;
    setFigure("rate-overall", overall === null ? null : overall.toFixed(4), pct(overall));
    $("rate-overall-detail").textContent = int(resumed) + " resumed, " + int(full) + " full";
    setFigure("failed-total", byKind["failed"].all, int(byKind["failed"].all));

    const kindRows = [];
    for (const k of Object.keys(byKind)) {
      const v = byKind[k];
      const r = rate((s) => (s.kinds[k] || 0));
      kindRows.push(el("tr", { "data-kind": k },
        el("td", { "data-label": "kind" }, KIND_NAMES[k] || k),
        el("td", { class: "ver", "data-kind": k, "data-version": "TLSv1.2", "data-value": v["TLSv1.2"] }, int(v["TLSv1.2"])),
        el("td", { class: "ver", "data-kind": k, "data-version": "TLSv1.3", "data-value": v["TLSv1.3"] }, int(v["TLSv1.3"])),
        el("td", { "data-label": "all", "data-kind-total": k, "data-value": v.all }, int(v.all)),
        el("td", { "data-label": "share" }, everything ? pct(v.all / everything) : "–"),
        el("td", { "data-label": "per s, 1 min", "data-kind-rate": k, "data-value": r === null ? "" : r.toFixed(3) }, perSecond(r))));
    }
    $("by-kind").tBodies[0].replaceChildren(...kindRows);

    const hostRows = [];
    for (const [host, row] of hosts) {
      const f = row["full"] || 0, res = RESUMED.reduce((a, k) => a + (row[k] || 0), 0);
      const r = f + res > 0 ? res / (f + res) : null;
      const cells = [el("td", { "data-label": "virtual host", class: "text" }, el("code", {}, host))];
      for (const k of KINDS)
        cells.push(el("td", { "data-label": KIND_NAMES[k], "data-vhost": host, "data-kind": k, "data-value": row[k] || 0 }, int(row[k] || 0)));
      cells.push(el("td", { "data-label": "resumed", "data-vhost": host, "data-rate": "resumed", "data-value": r === null ? "" : r.toFixed(4) }, pct(r)));
      hostRows.push(el("tr", { "data-vhost": host }, ...cells));
    }
    $("by-vhost").tBodies[0].replaceChildren(...hostRows);

    const fullNow = rate((s) => s.full), resumedNow = rate((s) => s.resumed);
    setFigure("rate-full-now", fullNow === null ? null : fullNow.toFixed(3), perSecond(fullNow));
    setFigure("rate-resumed-now", resumedNow === null ? null : resumedNow.toFixed(3), perSecond(resumedNow));
  }

  // --- the chart: full and resumed per second between consecutive samples ---
  function niceCeil(v) {
    if (!(v > 0)) return 1;
    const p = Math.pow(10, Math.floor(Math.log10(v)));
    for (const m of [1, 2, 5, 10]) if (v <= m * p) return m * p;
    return 10 * p;
  }
  function drawChart() {
    const box = $("chart");
    const w = Math.max(200, Math.floor(box.clientWidth || 600)), h = w < 500 ? 170 : 220;
    const L = 44, R = 10, T = 10, B = 24;
    const points = [];
    for (let i = 1; i < samples.length; i++) {
      const a = samples[i - 1], b = samples[i], dt = (b.t - a.t) / 1000;
      if (dt > 0) points.push({ t: b.t, full: Math.max(0, b.full - a.full) / dt, resumed: Math.max(0, b.resumed - a.resumed) / dt });
    }
    const now = samples.length ? samples[samples.length - 1].t : Date.now();
    const span = Math.min(KEEP_MS, Math.max(2 * 60 * 1000, samples.length ? now - samples[0].t : 0));
    const t0 = now - span;
    const ymax = niceCeil(Math.max(1, ...points.map((p) => Math.max(p.full, p.resumed))));
    const x = (t) => L + ((t - t0) / span) * (w - L - R);
    const y = (v) => T + (1 - v / ymax) * (h - T - B);
    const s = svg("svg", { viewBox: `0 0 ${w} ${h}`, width: w, height: h, role: "img",
                           "aria-label": "full and resumed handshakes per second" });
    for (const v of [0, ymax / 2, ymax]) {
      s.append(svg("line", { class: "grid", x1: L, x2: w - R, y1: y(v), y2: y(v) }));
      const label = svg("text", { x: L - 6, y: y(v) + 4, "text-anchor": "end" });
      label.textContent = perSecond(v).replace(/\.0+$/, "");
      s.append(label);
    }
    const step = span > 5 * 60 * 1000 ? 2 * 60 * 1000 : 60 * 1000;
    for (let back = 0; back <= span; back += step) {
      const label = svg("text", { x: x(now - back), y: h - 6, "text-anchor": back === 0 ? "end" : "middle" });
      label.textContent = back === 0 ? "now" : "−" + back / 60000 + " min";
      s.append(label);
    }
    for (const series of ["full", "resumed"]) {
      if (!points.length) continue;
      const line = svg("polyline", { class: series, "data-series": series,
        points: points.map((p) => x(p.t).toFixed(1) + "," + y(p[series]).toFixed(1)).join(" ") });
      s.append(line);
    }
    box.dataset.points = String(points.length);
    box.replaceChildren(s);
  }

  // --- the session store ---
  function renderStore(metrics) {
    const get = (n) => total(metrics, n);
    const entries = get("tlsresume_session_store_entries"), used = get("tlsresume_session_store_bytes");
    const evictions = get("tlsresume_session_store_evictions_total"), expired = get("tlsresume_session_store_expired_total");
    const hits = get("tlsresume_session_store_hits_total"), misses = get("tlsresume_session_store_misses_total");
    setFigure("store-entries", entries, int(entries));
    setFigure("store-bytes", used, bytes(used));
    setFigure("store-evictions", evictions, int(evictions));
    setFigure("store-expired", expired, int(expired));
    const ratio = hits + misses > 0 ? hits / (hits + misses) : null;
    setFigure("store-hit-ratio", ratio === null ? null : ratio.toFixed(4), pct(ratio));
    $("store-lookups").textContent = int(hits) + " of " + int(hits + misses) + " lookups";
    const evicting = rate((s) => s.evictions);
    $("store-evictions-rate").textContent = evicting === null ? "" : perSecond(evicting) + " per s (last min)";
    const fill = $("store-fill");
    if (evicting > 0) {
      fill.className = "badge warn"; fill.dataset.fill = "full";
      fill.textContent = "full: evicting to stay within its byte budget";
    } else {
      fill.className = "badge ok"; fill.dataset.fill = "room";
      fill.textContent = evictions > 0 ? "within budget (no eviction in the last minute)" : "within budget (nothing evicted yet)";
    }
  }

  // --- ticket keys: introduced → current → retired → erased ---
  function renderKeys(status, keys) {
    const box = $("keys-body"), section = $("keys");
    if (status === 404) {
      section.dataset.mode = "none";
      box.replaceChildren(el("p", { class: "muted" }, "Ticket keys are not managed by this server (no stateless tickets, or keys from elsewhere)."));
      return;
    }
    if (status !== 200 || !Array.isArray(keys)) return;
    section.dataset.mode = "keys";
    if (!keys.length) { box.replaceChildren(el("p", { class: "muted" }, "No ticket key yet.")); return; }
    const nowS = Date.now() / 1000;
    const lo = Math.min(nowS, ...keys.map((k) => k.created_at)), hi = Math.max(nowS, ...keys.map((k) => k.erase_at));
    const span = Math.max(1, hi - lo);
    const at = (t) => (100 * (Math.min(hi, Math.max(lo, t)) - lo) / span).toFixed(3) + "%";
    const width = (a, b) => (100 * Math.max(0, Math.min(hi, b) - Math.max(lo, a)) / span).toFixed(3) + "%";
    const rows = [];
    for (const k of [...keys].sort((a, b) => a.current_from - b.current_from || a.created_at - b.created_at)) {
      const track = el("div", { class: "track", "aria-hidden": "true" },
        el("div", { class: "seg introduced", style: `left:${at(k.created_at)};width:${width(k.created_at, k.current_from)}` }),
        el("div", { class: "seg current", style: `left:${at(k.current_from)};width:${width(k.current_from, k.current_until)}` }),
        el("div", { class: "seg retired", style: `left:${at(k.current_until)};width:${width(k.current_until, k.erase_at)}` }),
        el("div", { class: "now", style: `left:${at(nowS)}` }));
      const time = (label, t, name) => el("div", { "data-time": name, "data-value": t }, el("dt", {}, label), el("dd", {}, when(t)));
      rows.push(el("div", { class: "key", "data-key-id": k.id, "data-state": k.state },
        el("div", { class: "key-head" }, el("code", {}, k.id), el("span", { class: "badge " + k.state }, k.state),
           el("span", { class: "muted", "data-decrypts": k.decrypts }, int(k.decrypts) + " decrypts")),
        track,
        el("dl", { class: "key-times" }, time("introduced", k.created_at, "introduced"), time("current from", k.current_from, "current"),
           time("retired from", k.current_until, "retired"), time("erased at", k.erase_at, "erased"))));
    }
    rows.push(el("div", { class: "axis" }, el("span", {}, clock(lo)), el("span", {}, "now " + clock(nowS)), el("span", {}, clock(hi))));
    box.replaceChildren(...rows);
  }

  // --- revocations ---
  function renderRevocations(status, list) {
    if (status !== 200 || !Array.isArray(list)) return;
    const count = $("revocations-count");
    count.dataset.count = String(list.length);
    count.textContent = list.length ? list.length + (list.length === 1 ? " entry" : " entries") : "Nothing is revoked.";
    const rows = list.map((r) => {
      const t = r.kind === "id" ? r.kept_until : r.issued_before;
      const subject = r.kind === "before" ? "every virtual host" : r.subject;
      return el("tr", { "data-revocation-kind": r.kind, "data-subject": r.subject },
        el("td", { "data-label": "kind" }, r.kind),
        el("td", { "data-label": "subject", class: "text" }, el("code", {}, subject)),
        el("td", { "data-label": "time" },
           (r.kind === "id" ? "kept until " : "issued before ") + when(t)));
    });
    $("revocations-table").tBodies[0].replaceChildren(...rows);
    $("revocations-table").hidden = !list.length;
  }

  // --- fleet ---
  function renderFleet(status, f) {
    const section = $("fleet");
    if (status === 404) { section.dataset.mode = "off"; section.hidden = true; return; }
    if (status !== 200 || !f) return;
    section.dataset.mode = "on";
    section.hidden = false;
    const link = $("fleet-link");
    link.dataset.up = String(!!f.up);
    link.replaceChildren(el("span", { class: "badge " + (f.up ? "ok" : "bad") }, f.up ? "up" : "down"));
    $("fleet-redis").textContent = f.redis + (f.up || !f.last_error ? "" : " — " + f.last_error);
    $("fleet-node").textContent = f.node;
    $("fleet-lease").textContent = f.lease_holder || "none";
    $("fleet-lease").dataset.holder = f.lease_holder || "";
    $("fleet-synced").textContent = f.keys_synced ? "yes" : "no";
    $("fleet-pending").textContent = String(f.revocations_pending);
    const nowMs = Date.now();
    $("fleet-nodes").tBodies[0].replaceChildren(...(f.nodes || []).map((n) =>
      el("tr", { "data-node": n.name },
        el("td", { "data-label": "server", class: "text" }, el("code", {}, n.name), n.name === f.node ? " (this one)" : ""),
        el("td", { "data-label": "last seen" }, Math.max(0, (nowMs - n.last_seen_ms) / 1000).toFixed(1) + " s ago"))));
    $("fleet-keys").tBodies[0].replaceChildren(...(f.keys || []).map((k) =>
      el("tr", { "data-key-id": k.id, "data-state": k.state },
        el("td", { "data-label": "id" }, el("code", {}, k.id)),
        el("td", { "data-label": "origin", class: "text" }, k.origin),
        el("td", { "data-label": "state", class: "text" }, el("span", { class: "badge " + k.state }, k.state)),
        el("td", { "data-label": "made by", class: "text" }, k.creator || "–"),
        el("td", { "data-label": "current from" }, k.current_from ? clock(k.current_from) : "–"),
        el("td", { "data-label": "current until" }, k.current_until ? clock(k.current_until) : "–"),
        el("td", { "data-label": "erased at" }, k.erase_at ? clock(k.erase_at) : "–"))));
  }

  // --- the loop ---
  async function get(path, as) {
    const r = await fetch(path, { cache: "no-store", credentials: "same-origin" });
    let body = null;
    if (r.ok) body = as === "text" ? await r.text() : await r.json();
    return { status: r.status, body };
  }
  function setState(state, text) {
    const e = $("state");
    e.dataset.state = state;
    e.dataset.samples = String(samples.length);
    e.textContent = text;
  }
  async function tick() {
    const started = Date.now();
    try {
      const askFleet = fleetOffSince === null || started - fleetOffSince >= FLEET_RECHECK_MS;
      const [m, k, r, f] = await Promise.all([get("/metrics", "text"), get("/keys", "json"), get("/revocations", "json"),
                                              askFleet ? get("/fleet", "json") : Promise.resolve(null)]);
      if (m.status === 401) {
        setState("unauthorized", "This admin endpoint needs its bearer token: open this page through a proxy that adds it (docs/admin.md).");
        return;
      }
      if (m.status !== 200) { setState("error", "GET /metrics answered " + m.status); return; }
      const metrics = parseMetrics(m.body);
      addSample(metrics);
      renderHandshakes(metrics);
      drawChart();
      renderStore(metrics);
      renderKeys(k.status, k.body);
      renderRevocations(r.status, r.body);
      if (f) { fleetOffSince = f.status === 404 ? started : null; renderFleet(f.status, f.body); }
      setState("live", "live · updated " + clock(Date.now() / 1000) + " · every " + PERIOD_MS / 1000 + " s");
    } catch (e) {
      setState("error", "cannot reach the admin endpoint (" + (e && e.message ? e.message : e) + "); retrying");
    } finally {
      // What the page's width came to, for a check that it fits (no horizontal scroll).
      const root = document.documentElement;
      $("state").dataset.scrollWidth = String(root.scrollWidth);
      $("state").dataset.viewWidth = String(root.clientWidth);
      setTimeout(tick, Math.max(0, PERIOD_MS - (Date.now() - started)));
    }
  }
  window.addEventListener("resize", drawChart);
  tick();
})();
</script>
</body>
</html>
)html";

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::string_view statusPageHtml() noexcept { return kPage; }

bool acceptsHtml(std::string_view accept) noexcept {
  // Media ranges separated by commas, each "type/subtype[;param...]"; text/html with q=0
  // means "not HTML" (RFC 9110 §12.5.1).
  while (!accept.empty()) {
    const std::size_t comma = accept.find(',');
    std::string_view range = accept.substr(0, comma);
    accept = comma == std::string_view::npos ? std::string_view{} : accept.substr(comma + 1);
    const std::size_t semi = range.find(';');
    if (!iequals(trim(range.substr(0, semi)), "text/html")) continue;
    bool refused = false;
    for (std::string_view params = semi == std::string_view::npos ? std::string_view{} : range.substr(semi + 1);
         !params.empty();) {
      const std::size_t next = params.find(';');
      const std::string_view p = trim(params.substr(0, next));
      params = next == std::string_view::npos ? std::string_view{} : params.substr(next + 1);
      if (p.size() >= 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=')
        refused = trim(p.substr(2)).find_first_not_of("0.") == std::string_view::npos;
    }
    if (!refused) return true;
  }
  return false;
}

}  // namespace tlsresume::server
