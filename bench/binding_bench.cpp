// What a ticket costs on the path that ships: real handshakes between two OpenSSL
// endpoints over a memory BIO pair, through our TlsFrontend (OpenSSL
// seals and opens the ticket; the binding picks the per-host key from the keyring and checks
// the ticket's app data), the same harness the unit tests drive
// (tests/unit/handshake_harness.*). Each figure is one whole connection, client and server
// together in one thread: handshake, one byte of application data, close_notify. No
// sockets. Set side by side, the TLS 1.2 rows show what a ticket costs against a session id
// and what a tampered ticket costs (a full handshake). Prints figures, asserts nothing.
#include <benchmark/benchmark.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <vector>

#include "handshake_harness.hpp"

namespace tlsresume {
namespace {

using testing::ClientOptions;
using testing::HandshakeResult;
using testing::ServerFixture;

ServerFixture& fixture() {
  static ServerFixture fx({{"default", ResumptionPolicy{}}});
  return fx;
}

// A session to offer, from one full handshake with these options.
tls::SessionPtr sessionFor(ClientOptions o) {
  HandshakeResult r = fixture().connect(o);
  return std::move(r.session);
}

// `chain`: each connection offers the newest session the last one received, as a TLS 1.3
// client does (RFC 8446 appendix C.4: a ticket is used once).
void run(benchmark::State& state, ClientOptions o, bool want_reused, bool chain = false) {
  std::int64_t wrong = 0;
  tls::SessionPtr latest;
  for (auto _ : state) {
    HandshakeResult r = fixture().connect(o);
    if (!r.ok) {
      state.SkipWithError("handshake failed");
      break;
    }
    wrong += r.reused != want_reused;
    if (chain && r.session) {
      latest = std::move(r.session);
      o.session = latest.get();
    }
  }
  if (wrong) state.SkipWithError(want_reused ? "a connection did not resume" : "a connection resumed");
}

void BM_FullTls12(benchmark::State& state) {
  run(state, ClientOptions{.version = TLS1_2_VERSION, .tickets = false}, false);
}
BENCHMARK(BM_FullTls12)->Unit(benchmark::kMicrosecond);

// The full handshake that issues a ticket: OpenSSL seals the session with the binding's key.
void BM_FullTls12IssuingTicket(benchmark::State& state) {
  run(state, ClientOptions{.version = TLS1_2_VERSION, .tickets = true}, false);
}
BENCHMARK(BM_FullTls12IssuingTicket)->Unit(benchmark::kMicrosecond);

void BM_ResumeTls12SessionId(benchmark::State& state) {
  ClientOptions o{.version = TLS1_2_VERSION, .tickets = false};
  const auto session = sessionFor(o);
  o.session = session.get();
  run(state, o, true);
}
BENCHMARK(BM_ResumeTls12SessionId)->Unit(benchmark::kMicrosecond);

// The ticket is opened (MAC, decryption, app data checks) and not renewed.
void BM_ResumeTls12Ticket(benchmark::State& state) {
  ClientOptions o{.version = TLS1_2_VERSION, .tickets = true};
  const auto session = sessionFor(o);
  o.session = session.get();
  run(state, o, true);
}
BENCHMARK(BM_ResumeTls12Ticket)->Unit(benchmark::kMicrosecond);

// A ticket with one byte changed inside its sealed state: refused, full handshake, new ticket.
void BM_TamperedTls12Ticket(benchmark::State& state) {
  ClientOptions o{.version = TLS1_2_VERSION, .tickets = true};
  const auto good = sessionFor(o);
  const unsigned char* tick = nullptr;
  std::size_t len = 0;
  SSL_SESSION_get0_ticket(good.get(), &tick, &len);
  // OpenSSL has no setter for a session's ticket: the tampered copy is decoded from the
  // session's DER with one byte of the ticket changed in place.
  const int der_len = i2d_SSL_SESSION(good.get(), nullptr);
  std::vector<unsigned char> der(static_cast<std::size_t>(std::max(der_len, 0)));
  unsigned char* w = der.data();
  i2d_SSL_SESSION(good.get(), &w);
  const auto at = len ? std::search(der.begin(), der.end(), tick, tick + len) : der.end();
  if (at == der.end()) {
    state.SkipWithError("no ticket to tamper with");
    return;
  }
  at[static_cast<std::ptrdiff_t>(len / 2)] ^= 1;
  const unsigned char* r = der.data();
  const tls::SessionPtr tampered(d2i_SSL_SESSION(nullptr, &r, der_len));
  o.session = tampered.get();
  run(state, o, false);
}
BENCHMARK(BM_TamperedTls12Ticket)->Unit(benchmark::kMicrosecond);

void BM_FullTls13(benchmark::State& state) {
  run(state, ClientOptions{.version = TLS1_3_VERSION, .tickets = false}, false);
}
BENCHMARK(BM_FullTls13)->Unit(benchmark::kMicrosecond);

// TLS 1.3 resumption by ticket: one opened, two new ones sealed (tickets_per_connection).
void BM_ResumeTls13Ticket(benchmark::State& state) {
  ClientOptions o{.version = TLS1_3_VERSION};
  const auto session = sessionFor(o);
  o.session = session.get();
  run(state, o, true, true);
}
BENCHMARK(BM_ResumeTls13Ticket)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace tlsresume

BENCHMARK_MAIN();
