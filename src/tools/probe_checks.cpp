#include "tools/probe_checks.hpp"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <thread>

#include "tools/bench_process.hpp"
#include "tools/bench_types.hpp"

namespace tlsresume::tools::probe {
namespace {

using Clock = std::chrono::steady_clock;

// Tickets compared for the RFC 5077 layout.
constexpr int kLayoutTickets = 3;
// A gnutls-cli run: two handshakes and the wait for a ticket.
constexpr int kGnutlsRunsPerTimeout = 3;

struct Checker {
  const Options& o;
  std::vector<Finding> out;

  ClientSpec spec(int version, bool no_ticket = false, bool wait_tickets = false) const {
    ClientSpec s;
    s.version = version;
    s.no_ticket = no_ticket;
    s.wait_tickets = wait_tickets;
    s.server_name = o.server_name;
    return s;
  }
  Outcome connect(const ClientSpec& s, SSL_SESSION* offer = nullptr) const {
    return connectOnce(o.target, s, offer);
  }
  void add(std::string name, Verdict v, std::string reason) { out.push_back({std::move(name), v, std::move(reason)}); }
  void add(Finding f) { out.push_back(std::move(f)); }
};

// The result of offering a session again: "resumed", "full handshake" or the failure.
std::string describe(const Outcome& r) {
  if (!r.ok()) return r.error;
  return r.reused ? "resumed" : "full handshake";
}

// --- TLS 1.2 session ids, and a session id offered with another cipher list -------
SSL_SESSION* checkSessionIds(Checker& c, tls::SessionPtr& keep, bool& tls12) {
  Outcome a = c.connect(c.spec(TLS1_2_VERSION, true));
  tls12 = a.ok();
  if (!a.ok()) {
    c.add("tls12", Verdict::info, "TLS 1.2 refused: " + a.error);
    return nullptr;
  }
  SSL_SESSION* s = a.sessions.empty() ? nullptr : a.sessions.back().get();
  if (!s || sessionIdLength(s) == 0) {
    c.add("tls12-session-ids", Verdict::info, "no session id issued: TLS 1.2 clients without tickets never resume");
    return nullptr;
  }
  const Outcome b = c.connect(c.spec(TLS1_2_VERSION, true), s);
  if (!b.ok()) {
    c.add("tls12-session-ids", Verdict::fail, "offering a session id the server issued failed: " + b.error);
    return nullptr;
  }
  if (!b.reused) {
    c.add("tls12-session-ids", Verdict::info,
          "a session id is issued but the next connection did not resume (no server-side session cache?)");
    return nullptr;
  }
  c.add("tls12-session-ids", Verdict::ok, "issued and resumed (" + a.cipher + ")");
  keep = std::move(a.sessions.back());
  return keep.get();
}

void checkCipherChange(Checker& c, SSL_SESSION* s) {
  const std::string name = "tls12-session-cipher-change";
  if (!s) {
    c.add(notMeasured(name, "TLS 1.2 session ids do not resume"));
    return;
  }
  const std::string used = SSL_CIPHER_get_name(SSL_SESSION_get0_cipher(s));
  ClientSpec other = c.spec(TLS1_2_VERSION, true);
  other.ciphers = "DEFAULT:!" + used;
  const Outcome control = c.connect(other);
  if (!control.ok()) {
    c.add(notMeasured(name, "no TLS 1.2 suite but " + used + " is shared with the server: " + control.error));
    return;
  }
  const Outcome r = c.connect(other, s);
  if (r.ok() && !r.reused) {
    c.add(name, Verdict::ok, "a session made with " + used + ", offered without that suite, gets a full handshake");
  } else if (r.ok()) {
    c.add(name, Verdict::fail, "a session made with " + used + " resumed though the client no longer offers the suite");
  } else if (r.failure == Failure::alert) {
    c.add(name, Verdict::warn,
          "a session made with " + used + ", offered without that suite, ends the handshake (" + r.error +
              "): a client whose suites changed fails once instead of a full handshake");
  } else {
    c.add(name, Verdict::fail, "a session made with " + used + ", offered without that suite: " + r.error);
  }
}

// --- TLS 1.2 tickets ------------------------------------------------------------
struct Tls12Tickets {
  tls::SessionPtr session;  // resumable, with a ticket
  bool resumes = false;
  bool stable_layout = false;
  std::size_t key_name_bytes = kKeyNameBytes;  // when stable_layout
};

Tls12Tickets checkTls12Tickets(Checker& c) {
  Tls12Tickets t;
  std::vector<std::vector<unsigned char>> tickets;
  std::uint32_t hint = 0;
  std::string failure;
  for (int i = 0; i < kLayoutTickets; ++i) {
    Outcome a = c.connect(c.spec(TLS1_2_VERSION));
    if (!a.ok()) {
      failure = a.error;
      break;
    }
    SSL_SESSION* s = lastWithTicket(a);
    if (!s) break;
    tickets.push_back(ticketOf(s));
    if (!t.session) {
      hint = lifetimeHintOf(s);
      for (auto& owned : a.sessions)
        if (owned.get() == s) t.session = std::move(owned);
    }
  }
  if (tickets.empty()) {
    c.add("tls12-tickets", Verdict::info, failure.empty() ? "not issued" : "not measured (" + failure + ")");
    return t;
  }
  const Outcome r = c.connect(c.spec(TLS1_2_VERSION), t.session.get());
  t.resumes = r.ok() && r.reused;
  const std::string size = std::to_string(tickets.front().size()) + "-byte tickets";
  if (t.resumes)
    c.add("tls12-tickets", Verdict::ok, "issued and resumed (" + size + ")");
  else
    c.add("tls12-tickets", Verdict::warn, "issued (" + size + ") but the next connection offering one: " + describe(r));
  c.add(judgeLifetimeHint("tls12-ticket-lifetime", hint, false));
  Finding layout = judgeTicketLayout(tickets, &t.key_name_bytes);
  t.stable_layout = layout.verdict == Verdict::ok;
  c.add(std::move(layout));
  return t;
}

// --- TLS 1.3 tickets ------------------------------------------------------------
struct Tls13Tickets {
  tls::SessionPtr session;  // an unused one, with a ticket
  bool resumes = false;
};

Tls13Tickets checkTls13Tickets(Checker& c) {
  Tls13Tickets t;
  Outcome a = c.connect(c.spec(TLS1_3_VERSION, false, true));
  if (!a.ok()) {
    c.add("tls13", Verdict::info, "TLS 1.3 refused: " + a.error);
    return t;
  }
  std::vector<SSL_SESSION*> with_ticket;
  for (const auto& s : a.sessions)
    if (SSL_SESSION_has_ticket(s.get())) with_ticket.push_back(s.get());
  c.add("tls13-tickets-per-connection", Verdict::info, std::to_string(with_ticket.size()) + " NewSessionTicket" +
                                                           (with_ticket.size() == 1 ? "" : "s") + " on one connection");
  if (with_ticket.empty()) {
    c.add("tls13-tickets", Verdict::info, "not issued");
    return t;
  }
  SSL_SESSION* first = with_ticket.front();
  const Outcome r = c.connect(c.spec(TLS1_3_VERSION), first);
  t.resumes = r.ok() && r.reused;
  if (t.resumes)
    c.add("tls13-tickets", Verdict::ok, "issued and resumed (" + r.cipher + ")");
  else
    c.add("tls13-tickets", Verdict::warn, "issued but the next connection offering one: " + describe(r));
  const std::vector<unsigned char> ticket = ticketOf(first);
  c.add("tls13-ticket-size", Verdict::info, judgeTls13TicketSize(ticket));
  c.add(judgeLifetimeHint("tls13-ticket-lifetime", lifetimeHintOf(first), true));
  // Keep an unused ticket of the same connection (stateful servers may let one resume once).
  for (auto& s : a.sessions)
    if (s.get() != first && SSL_SESSION_has_ticket(s.get())) t.session = std::move(s);
  if (!t.session) {
    Outcome again = c.connect(c.spec(TLS1_3_VERSION, false, true));
    for (auto& s : again.sessions)
      if (SSL_SESSION_has_ticket(s.get())) t.session = std::move(s);
  }
  return t;
}

// --- psk_ke: resumption without (EC)DHE -------------------------------------------
// OpenSSL 3.0's client always offers psk_dhe_ke (SSL_OP_ALLOW_NO_DHE_KEX only adds
// psk_ke beside it: tls_construct_ctos_psk_kex_modes), and an OpenSSL 3.0 server then
// picks psk_dhe_ke. A client offering psk_ke alone needs another TLS stack: GnuTLS's
// gnutls-cli sends psk_key_exchange_modes = [psk_ke] when its priority string enables
// the PSK key exchange and neither DHE-PSK nor ECDHE-PSK (lib/ext/psk_ke_modes.c), and
// [psk_dhe_ke] for the reverse, which is the control. The external PSK it is given is a
// dummy the server does not know; the ticket of its first connection is what it offers.
struct GnutlsRun {
  bool ran = false;
  bool resumed = false;
  // The first handshake completed but no ticket came to resume with (--waitresumption
  // waits for one until the time-out): a server may refuse tickets to a client whose
  // psk_key_exchange_modes it would never resume (BoringSSL does, for psk_ke alone).
  bool no_ticket = false;
  std::string tail;
};

GnutlsRun runGnutls(const Options& o, const std::string& host, std::uint16_t port, const std::string& priority) {
  GnutlsRun g;
  bench::TempDir dir;
  bench::SpawnSpec spec;
  spec.argv = {o.gnutls_cli, "--insecure", "--resume", "--waitresumption", "-p", std::to_string(port), host,
               "--priority", priority, "--pskusername=tlsresume-probe", "--pskkey=00112233445566778899aabbccddeeff"};
  if (o.server_name.empty())
    spec.argv.push_back("--disable-sni");
  else
    spec.argv.push_back("--sni-hostname=" + o.server_name);
  spec.log_path = dir.path() + "/gnutls-cli.log";
  try {
    bench::ChildProcess p = bench::ChildProcess::spawn(spec);
    const auto status = p.wait(std::chrono::milliseconds(o.target.timeout_ms * kGnutlsRunsPerTimeout));
    if (!status) {
      g.tail = "gnutls-cli did not finish within " + std::to_string(o.target.timeout_ms * kGnutlsRunsPerTimeout / 1000) + " s";
      std::ifstream in(spec.log_path);
      const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      // "- Description:" is printed once the first handshake completed.
      g.no_ticket = text.find("- Description:") != std::string::npos &&
                    text.find("*** This is a resumed session") == std::string::npos;
      return g;
    }
    g.tail = p.logTail(300);
  } catch (const bench::BenchError& e) {
    g.tail = e.what();
    return g;
  }
  std::ifstream in(spec.log_path);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  g.ran = true;
  g.resumed = text.find("*** This is a resumed session") != std::string::npos;
  return g;
}

std::string oneLine(std::string s) {
  for (char& ch : s)
    if (ch == '\n' || ch == '\r') ch = ' ';
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

void checkPskKe(Checker& c, const std::string& host, bool tls13_resumes) {
  const std::string name = "tls13-psk-ke-only";
  if (!tls13_resumes) {
    c.add(notMeasured(name, "TLS 1.3 tickets do not resume"));
    return;
  }
  if (host.empty() || access(c.o.gnutls_cli.c_str(), X_OK) != 0) {
    c.add(notMeasured(name, c.o.gnutls_cli + " not found (apt-get install gnutls-bin); OpenSSL 3.0's client "
                                             "cannot offer psk_ke alone"));
    return;
  }
  const std::uint16_t port = c.o.target.port;
  const GnutlsRun control = runGnutls(c.o, host, port, "NORMAL:-VERS-ALL:+VERS-TLS1.3:+ECDHE-PSK:+DHE-PSK");
  if (!control.ran || !control.resumed) {
    c.add(notMeasured(name, "gnutls-cli offering psk_dhe_ke did not resume either: " + oneLine(control.tail)));
    return;
  }
  const GnutlsRun r = runGnutls(c.o, host, port, "NORMAL:-VERS-ALL:+VERS-TLS1.3:+PSK");
  if (r.no_ticket)
    c.add(name, Verdict::ok,
          "a client offering psk_ke only is issued no ticket, so never resumes without (EC)DHE (psk_dhe_ke required)");
  else if (!r.ran)
    c.add(notMeasured(name, oneLine(r.tail)));
  else if (r.resumed)
    c.add(name, Verdict::warn,
          "resumes a client offering psk_ke only: such connections have no fresh (EC)DHE, so no forward secrecy "
          "(RFC 9325 §3.4)");
  else
    c.add(name, Verdict::ok, "a client offering psk_ke only gets a full handshake (psk_dhe_ke required)");
}

// --- tampered tickets -------------------------------------------------------------
void checkTamper(Checker& c, const std::string& name, int version, SSL_SESSION* s) {
  if (!s) {
    c.add(notMeasured(name, "no ticket that resumes"));
    return;
  }
  const auto points = flipPoints(ticketOf(s).size());
  std::string regions;
  for (const auto& p : points) {
    tls::SessionPtr flipped = withFlippedTicketByte(s, p.offset);
    if (!flipped) {
      c.add(notMeasured(name, std::string("cannot re-encode the session with its ") + p.region + " byte flipped"));
      return;
    }
    const Outcome r = c.connect(c.spec(version), flipped.get());
    if (r.ok() && r.reused) {
      c.add(name, Verdict::fail, std::string("a ticket with a ") + p.region + " byte flipped resumed");
      return;
    }
    if (!r.ok()) {
      c.add(name, Verdict::fail,
            std::string("a ticket with a ") + p.region + " byte flipped ends the handshake: " + r.error);
      return;
    }
    regions += (regions.empty() ? "" : ", ") + std::string(p.region);
  }
  c.add(name, Verdict::ok,
        std::to_string(points.size()) + " tickets with one byte flipped (" + regions +
            ", as RFC 5077 lays a ticket out) each got a full handshake");
}

// --- one server name's session offered under another --------------------------------
void checkIsolation(Checker& c) {
  const std::vector<std::string>& names = c.o.sni_pair;
  const std::string prefix = "sni-isolation";
  if (names.size() != 2) {
    c.add(notMeasured(prefix, "give two names served on this address: --sni a.example,b.example"));
    return;
  }
  const std::string& a = names[0];
  const std::string& b = names[1];
  auto under = [&](std::string sni, int version, bool no_ticket, bool wait) {
    ClientSpec s = c.spec(version, no_ticket, wait);
    s.server_name = std::move(sni);
    return s;
  };
  const Outcome fa = c.connect(under(a, 0, false, false));
  const Outcome fb = c.connect(under(b, 0, false, false));
  if (!fa.ok() || !fb.ok()) {
    c.add(notMeasured(prefix, "a full handshake under " + (fa.ok() ? b : a) + " failed: " + (fa.ok() ? fb : fa).error));
    return;
  }
  const bool same_cert = fa.peer_cert_sha256 == fb.peer_cert_sha256;
  struct Kind {
    const char* name;
    const char* what;
    int version;
    bool no_ticket;
  };
  for (const Kind& k : {Kind{"sni-isolation-session-id", "TLS 1.2 session id", TLS1_2_VERSION, true},
                        Kind{"sni-isolation-tls12-ticket", "TLS 1.2 ticket", TLS1_2_VERSION, false},
                        Kind{"sni-isolation-tls13-ticket", "TLS 1.3 ticket", TLS1_3_VERSION, false}}) {
    const bool tls13 = k.version == TLS1_3_VERSION;
    Outcome made = c.connect(under(a, k.version, k.no_ticket, tls13));
    std::vector<SSL_SESSION*> usable;
    for (const auto& s : made.sessions)
      if (k.no_ticket ? sessionIdLength(s.get()) > 0 && !SSL_SESSION_has_ticket(s.get()) : SSL_SESSION_has_ticket(s.get()))
        usable.push_back(s.get());
    // Two sessions: one to prove it resumes under its own name (a stateful TLS 1.3
    // ticket may resume only once), one to offer under the other. TLS 1.2 sessions
    // (and stateless tickets) can be offered twice.
    if (usable.empty()) {
      c.add(notMeasured(k.name, std::string("no ") + k.what + " issued under " + a));
      continue;
    }
    SSL_SESSION* control_s = usable.front();
    SSL_SESSION* offer_s = usable.back();
    if (tls13 && usable.size() < 2) {
      c.add(notMeasured(k.name, "one TLS 1.3 ticket per connection: none left to offer under " + b));
      continue;
    }
    Outcome control = c.connect(under(a, k.version, k.no_ticket, false), control_s);
    // A server may store a TLS 1.2 session after its last flight has left (OpenSSL calls
    // the new-session callback once its Finished is flushed): a client as quick as this one
    // can be back first. Once more, a moment later, before calling it "does not resume".
    if (control.ok() && !control.reused && k.no_ticket) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      control = c.connect(under(a, k.version, k.no_ticket, false), control_s);
    }
    if (!control.ok() || !control.reused) {
      c.add(notMeasured(k.name, std::string("a ") + k.what + " does not resume even under " + a + ": " + describe(control)));
      continue;
    }
    const Outcome r = c.connect(under(b, k.version, k.no_ticket, false), offer_s);
    const std::string made_for = std::string("a ") + k.what + " made for " + a;
    if (r.ok() && r.reused) {
      if (tls13 && same_cert)
        c.add(k.name, Verdict::info,
              made_for + " resumed under " + b + ": RFC 8446 §4.6.1 allows it, both names get the same certificate");
      else
        c.add(k.name, Verdict::fail,
              made_for + " resumed under " + b +
                  (tls13 ? " (which gets another certificate)" : " (RFC 6066 §3: MUST NOT)"));
    } else if (r.ok()) {
      c.add(k.name, Verdict::ok, made_for + " offered under " + b + " gets a full handshake");
    } else {
      c.add(k.name, Verdict::warn, made_for + " offered under " + b + " ends the handshake: " + r.error);
    }
  }
}

// --- watching the ticket key ------------------------------------------------------
struct Sample {
  double at = 0;
  tls::SessionPtr session;
};

std::string secondsText(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0f s", s);
  return buf;
}

void watch(Checker& c, bool tls12_tickets, bool stable_layout, std::size_t key_name_bytes, bool tls13_tickets) {
  const Options& o = c.o;
  const bool use12 = tls12_tickets;
  if (!use12 && !tls13_tickets) {
    c.add(notMeasured("ticket-watch", "the server issues no tickets to watch"));
    return;
  }
  std::vector<KeySample> keys;
  std::vector<Sample> samples;
  const auto start = Clock::now();
  const auto end = start + o.watch;
  std::size_t changes = 0;
  std::string last_key;
  for (auto next = start;; next += o.interval) {
    if (next > end) next = end;
    std::this_thread::sleep_until(next);
    const double at = std::chrono::duration<double>(Clock::now() - start).count();
    Outcome a = c.connect(use12 ? c.spec(TLS1_2_VERSION) : c.spec(TLS1_3_VERSION, false, true));
    if (SSL_SESSION* s = lastWithTicket(a)) {
      KeySample k{at, {}};
      if (use12 && stable_layout) k.key_name = keyNameOf(ticketOf(s), key_name_bytes).value_or("");
      if (!k.key_name.empty() && !last_key.empty() && k.key_name != last_key) ++changes;
      if (!k.key_name.empty()) last_key = k.key_name;
      keys.push_back(k);
      for (auto& owned : a.sessions)
        if (owned.get() == s) samples.push_back({at, std::move(owned)});
    }
    if (o.progress) {
      std::fprintf(stderr, "\r\033[Kwatching %s: %.0f of %lld s, %zu tickets, key changed %zu times",
                   o.target.connect_text.c_str(), at, static_cast<long long>(o.watch.count()), samples.size(), changes);
      std::fflush(stderr);
    }
    if (next >= end) break;
  }
  if (o.progress) std::fprintf(stderr, "\r\033[K");

  if (!use12)
    c.add(notMeasured("tls12-ticket-key-rotation", "no TLS 1.2 tickets"));
  else if (!stable_layout)
    c.add(notMeasured("tls12-ticket-key-rotation", "the tickets carry no stable key name"));
  else
    c.add(judgeKeyRotation(countRotations(keys), o.watch));

  if (samples.empty()) {
    c.add(notMeasured("ticket-max-age", "no ticket issued while watching"));
    return;
  }
  const ClientSpec again = use12 ? c.spec(TLS1_2_VERSION) : c.spec(TLS1_3_VERSION);
  const double now_s = std::chrono::duration<double>(Clock::now() - start).count();
  // The first ticket, offered at the end: does it resume past its lifetime hint?
  const std::uint32_t hint = lifetimeHintOf(samples.front().session.get());
  const double age = now_s - samples.front().at;
  const Outcome first = c.connect(again, samples.front().session.get());
  const bool first_resumed = first.ok() && first.reused;
  const std::string label = use12 ? "TLS 1.2" : "TLS 1.3";
  if (hint == 0 || age <= hint)
    c.add(notMeasured("ticket-past-lifetime", "the watch (" + secondsText(age) + ") ended within the lifetime hint " +
                                                  (hint ? seconds(hint) : std::string("(none given)"))));
  else if (first_resumed)
    c.add("ticket-past-lifetime", Verdict::warn,
          "a " + label + " ticket resumed " + secondsText(age) + " after issue, past its lifetime hint of " + seconds(hint));
  else
    c.add("ticket-past-lifetime", Verdict::ok,
          "a " + label + " ticket " + secondsText(age) + " old, past its hint of " + seconds(hint) + ": " + describe(first));

  if (!o.max_age_probe) return;
  // The oldest ticket that still resumes, oldest first (each offered once, at the end).
  if (first_resumed) {
    c.add("ticket-max-age", Verdict::info,
          "the first " + label + " ticket, " + secondsText(age) + " old, still resumes (the oldest this watch can test)");
    return;
  }
  for (std::size_t i = 1; i < samples.size(); ++i) {
    const Outcome r = c.connect(again, samples[i].session.get());
    if (r.ok() && r.reused) {
      c.add("ticket-max-age", Verdict::info,
            "the oldest " + label + " ticket that still resumes is " + secondsText(now_s - samples[i].at) +
                " old; one " + secondsText(now_s - samples[i - 1].at) + " old did not");
      return;
    }
  }
  c.add("ticket-max-age", Verdict::info,
        "no " + label + " ticket from the watch resumes any more; the newest is " +
            secondsText(now_s - samples.back().at) + " old");
}

}  // namespace

std::vector<Finding> runChecks(const Options& o) {
  Checker c{o, {}};
  const Outcome first = c.connect(c.spec(0, false, true));
  if (!first.ok()) throw ProbeError(first.error);
  c.add("tls", Verdict::info, first.version_name + " " + first.cipher);

  tls::SessionPtr sid_keep;
  bool tls12 = false;
  SSL_SESSION* sid = checkSessionIds(c, sid_keep, tls12);
  Tls12Tickets t12;
  if (tls12) {
    t12 = checkTls12Tickets(c);
    checkCipherChange(c, sid);
  }
  Tls13Tickets t13 = checkTls13Tickets(c);
  checkPskKe(c, first.peer_address, t13.resumes);

  // TLS 1.2 tickets: the one secret whose theft decrypts recorded traffic.
  if (!t12.session)
    c.add("tls12-ticket-key", Verdict::ok, tls12 ? "no TLS 1.2 tickets: no long-lived key decrypts recorded TLS 1.2 traffic"
                                                 : "no TLS 1.2");
  else if (o.watch.count() == 0)
    c.add("tls12-ticket-key", Verdict::info,
          "TLS 1.2 tickets are issued; whether their key rotates was not measured (run with --watch DURATION)");

  checkTamper(c, "tls12-ticket-tamper", TLS1_2_VERSION, t12.resumes ? t12.session.get() : nullptr);
  checkTamper(c, "tls13-ticket-tamper", TLS1_3_VERSION, t13.resumes ? t13.session.get() : nullptr);
  checkIsolation(c);
  if (o.watch.count() > 0) watch(c, t12.session != nullptr, t12.stable_layout, t12.key_name_bytes, t13.resumes);
  return c.out;
}

}  // namespace tlsresume::tools::probe
