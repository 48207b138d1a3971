// Real handshakes through TlsFrontend (tickets included) over memory BIOs, with a fake clock.
#include <gtest/gtest.h>

#include "handshake_harness.hpp"

using namespace std::chrono_literals;
using namespace tlsresume;
using testing_fixture = tlsresume::testing::ServerFixture;
using tlsresume::testing::ClientOptions;
using tlsresume::testing::copySession;
using tlsresume::testing::withCipherSuite;

namespace {

ResumptionPolicy policy(Tls13Tickets t13 = Tls13Tickets::stateless) {
  ResumptionPolicy p;
  p.tls13_tickets = t13;
  return p;
}

std::string rawId(const std::string& hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

// A copy of `session` whose ticket is `ticket` (same length), through a DER round trip:
// the public API has no ticket setter.
tlsresume::tls::SessionPtr withTicket(SSL_SESSION* session, const std::vector<unsigned char>& ticket) {
  size_t len = 0;
  const unsigned char* tick = nullptr;
  SSL_SESSION_get0_ticket(session, &tick, &len);
  if (len != ticket.size()) return nullptr;
  const std::vector<unsigned char> original(tick, tick + len);
  tlsresume::tls::SessionPtr copy = tlsresume::testing::copySession(session);
  if (!copy) return nullptr;
  tlsresume::testing::clearTicketAppData(copy.get());
  const int der_len = i2d_SSL_SESSION(copy.get(), nullptr);
  std::vector<unsigned char> der(static_cast<size_t>(der_len));
  unsigned char* out = der.data();
  i2d_SSL_SESSION(copy.get(), &out);
  auto it = std::search(der.begin(), der.end(), original.begin(), original.end());
  if (it == der.end()) return nullptr;
  std::copy(ticket.begin(), ticket.end(), it);
  const unsigned char* in = der.data();
  return tlsresume::tls::SessionPtr(d2i_SSL_SESSION(nullptr, &in, der_len));
}

std::vector<unsigned char> ticketOf(SSL_SESSION* session) {
  size_t len = 0;
  const unsigned char* tick = nullptr;
  SSL_SESSION_get0_ticket(session, &tick, &len);
  return {tick, tick + len};
}

}  // namespace

TEST(TlsFrontend, Tls12ClientsWithoutTicketsResumeBySessionId) {
  testing_fixture f({{"default", policy()}});
  auto first = f.connect({TLS1_2_VERSION, false});
  ASSERT_TRUE(first.ok);
  EXPECT_EQ(first.kind, HandshakeKind::full);
  auto second = f.connect({TLS1_2_VERSION, false, "localhost", first.session.get()});
  ASSERT_TRUE(second.ok);
  EXPECT_EQ(second.kind, HandshakeKind::session_id);
  EXPECT_GE(f.store.stats().hits, 1u);
}

TEST(TlsFrontend, Tls12And13TicketsResumeAsTickets) {
  testing_fixture f({{"default", policy()}});
  for (int v : {TLS1_2_VERSION, TLS1_3_VERSION}) {
    auto first = f.connect({v});
    ASSERT_TRUE(first.ok);
    auto second = f.connect({v, true, "localhost", first.session.get()});
    EXPECT_EQ(second.kind, HandshakeKind::ticket) << v;
    EXPECT_EQ(second.resumption_id, first.resumption_id) << "the chain keeps its id";
  }
  EXPECT_EQ(f.stats.count(TicketResult::ok), 2);
}

TEST(TlsFrontend, StatelessTls13TicketsStoreNothing) {
  testing_fixture f({{"default", policy()}});
  f.connect({TLS1_3_VERSION});
  EXPECT_EQ(f.store.stats().entries, 0u);
}

TEST(TlsFrontend, StatefulTls13TicketsResumeThroughTheStore) {
  testing_fixture f({{"default", policy(Tls13Tickets::stateful)}});
  auto first = f.connect({TLS1_3_VERSION});
  EXPECT_GE(f.store.stats().entries, 1u);
  auto second = f.connect({TLS1_3_VERSION, true, "localhost", first.session.get()});
  EXPECT_EQ(second.kind, HandshakeKind::stateful_ticket);
}

TEST(TlsFrontend, TicketsOffMeansNoTls13Resumption) {
  testing_fixture f({{"default", policy(Tls13Tickets::off)}});
  auto first = f.connect({TLS1_3_VERSION});
  EXPECT_EQ(first.tickets_received, 0);
  auto second = f.connect({TLS1_3_VERSION, true, "localhost", first.session.get()});
  EXPECT_EQ(second.kind, HandshakeKind::full);
}

TEST(TlsFrontend, TicketsPerConnectionIsHonoured) {
  auto p = policy();
  p.tickets_per_connection = 4;
  testing_fixture f({{"default", p}});
  EXPECT_EQ(f.connect({TLS1_3_VERSION}).tickets_received, 4);
}

// RFC 8446 C.4: a resumed TLS 1.3 client gets fresh tickets, never only its old one.
// OpenSSL sends one after a resumption; BoringSSL sends tickets_per_connection (its
// num_tickets) after every handshake, resumed ones included.
TEST(TlsFrontend, ATls13ResumptionIssuesFreshTickets) {
  auto p = policy();
  p.tickets_per_connection = 3;
  testing_fixture f({{"default", p}});
  auto full = f.connect({TLS1_3_VERSION});
  ASSERT_EQ(full.tickets_received, 3);
  auto resumed = f.connect({TLS1_3_VERSION, true, "localhost", full.session.get()});
  ASSERT_EQ(resumed.kind, HandshakeKind::ticket);
#if defined(OPENSSL_IS_BORINGSSL)
  EXPECT_EQ(resumed.tickets_received, 3);
#else
  EXPECT_EQ(resumed.tickets_received, 1);
#endif
  for (const auto& fresh : resumed.received) {
    EXPECT_NE(ticketOf(fresh.get()), ticketOf(full.session.get()));
    EXPECT_EQ(f.connect({TLS1_3_VERSION, true, "localhost", fresh.get()}).resumption_id, full.resumption_id)
        << "every fresh ticket continues the chain";
  }
}

TEST(TlsFrontend, AHostsSessionsAndTicketsNeverResumeOnAnotherHost) {
  testing_fixture f({{"default", policy()}, {"a.test", policy()}, {"b.test", policy()}});
  for (bool tickets : {false, true}) {
    for (int v : {TLS1_2_VERSION, TLS1_3_VERSION}) {
      auto on_a = f.connect({v, tickets, "a.test"});
      ASSERT_EQ(on_a.host, 1u);
      auto on_b = f.connect({v, tickets, "b.test", on_a.session.get()});
      ASSERT_TRUE(on_b.ok) << "a foreign session costs a full handshake, never a failure";
      EXPECT_EQ(on_b.host, 2u);
      EXPECT_EQ(on_b.kind, HandshakeKind::full) << "tickets=" << tickets << " version=" << v;
      auto again_a = f.connect({v, tickets, "a.test", on_a.session.get()});
      EXPECT_NE(again_a.kind, HandshakeKind::full) << "still good on its own host";
    }
  }
  EXPECT_GE(f.stats.count(TicketResult::foreign_host), 2);
}

TEST(TlsFrontend, TheServerEnforcesSessionLifetimeWhateverTheClientThinks) {
  auto p = policy();
  p.session_lifetime = 60s;
  testing_fixture f({{"default", p}});
  auto ticket = f.connect({TLS1_3_VERSION});
  auto id = f.connect({TLS1_2_VERSION, false});
  f.clock.advance(61s);
  EXPECT_EQ(f.connect({TLS1_3_VERSION, true, "localhost", ticket.session.get()}).kind, HandshakeKind::full);
  EXPECT_EQ(f.connect({TLS1_2_VERSION, false, "localhost", id.session.get()}).kind, HandshakeKind::full);
  EXPECT_EQ(f.stats.count(TicketResult::expired), 1);
}

namespace {
// The bytes a ticket starts with that name its key: OpenSSL's RFC 5077 §4 layout has a
// 16-byte key name; our BoringSSL format (src/boringssl/ticket_format.hpp) a 4-byte one.
#if defined(OPENSSL_IS_BORINGSSL)
constexpr std::size_t kTicketKeyNameBytes = 4;
#else
constexpr std::size_t kTicketKeyNameBytes = 16;
#endif

std::string keyNameOf(SSL_SESSION* session) {
  const std::vector<unsigned char> ticket = ticketOf(session);
  if (ticket.size() < kTicketKeyNameBytes) return {};
  return std::string(ticket.begin(), ticket.begin() + kTicketKeyNameBytes);
}
}  // namespace

TEST(TlsFrontend, AfterRotationOldTicketsResumeAndAreRenewedUnderTheNewKey) {
  for (int v : {TLS1_2_VERSION, TLS1_3_VERSION}) {
    SCOPED_TRACE(v == TLS1_2_VERSION ? "TLS 1.2" : "TLS 1.3");
    testing_fixture f({{"default", policy()}});
    auto first = f.connect({v});
    ASSERT_TRUE(first.ok);
    const std::string old_name = keyNameOf(first.session.get());
    ASSERT_EQ(old_name.size(), kTicketKeyNameBytes);
    ASSERT_TRUE(f.keyring->rotateNow());
    auto second = f.connect({v, true, "localhost", first.session.get()});
    EXPECT_EQ(second.kind, HandshakeKind::ticket);
    EXPECT_EQ(second.resumption_id, first.resumption_id) << "the chain keeps its id";
#if defined(OPENSSL_IS_BORINGSSL)
    if (v == TLS1_2_VERSION) {
      // BoringSSL's ticket AEAD method has no "renew" answer: a TLS 1.2 ticket under a
      // retired key resumes, is counted ok, and the client keeps it (no NewSessionTicket).
      EXPECT_EQ(f.stats.count(TicketResult::ok), 1);
      EXPECT_EQ(f.stats.count(TicketResult::renewed), 0);
      EXPECT_EQ(second.tickets_received, 0);
      EXPECT_EQ(ticketOf(second.session.get()), ticketOf(first.session.get()));
      // Its next full handshake brings a ticket under the current key.
      auto fresh = f.connect({v});
      ASSERT_TRUE(fresh.ok);
      EXPECT_NE(keyNameOf(fresh.session.get()), old_name);
      continue;
    }
#endif
    EXPECT_EQ(f.stats.count(TicketResult::renewed), 1);
    EXPECT_EQ(f.stats.count(TicketResult::ok), 0);
    // The client's newest session holds the replacement (OpenSSL's client updates a
    // resumed TLS 1.2 session's ticket in place; TLS 1.3 tickets arrive as new sessions).
    EXPECT_NE(ticketOf(second.session.get()), ticketOf(first.session.get())) << "a ticket under a retired key is replaced";
    EXPECT_NE(keyNameOf(second.session.get()), old_name) << "the renewed ticket is sealed under another key name";
    for (const auto& renewed : second.received) EXPECT_NE(keyNameOf(renewed.get()), old_name);
  }
}

TEST(TlsFrontend, TicketsOfAnErasedKeyNoLongerResume) {
  KeyringOptions k;
  k.rotation_period = 60s;
  k.decrypt_window = 60s;
  k.introduce_ahead = 10s;
  auto p = policy();
  p.session_lifetime = 1h;  // longer than the key lives: the key's erasure must still win
  testing_fixture f({{"default", p}}, k);
  auto first = f.connect({TLS1_3_VERSION});
  for (int i = 0; i < 30; ++i) {
    f.clock.advance(10s);
    f.keyring->tick();
  }
  auto later = f.connect({TLS1_3_VERSION, true, "localhost", first.session.get()});
  EXPECT_EQ(later.kind, HandshakeKind::full);
  EXPECT_EQ(f.stats.count(TicketResult::unknown_key), 1);
}

TEST(TlsFrontend, ARevokedTicketChainOrSessionGetsAFullHandshake) {
  testing_fixture f({{"default", policy()}});
  auto ticket = f.connect({TLS1_3_VERSION});
  auto renewed = f.connect({TLS1_3_VERSION, true, "localhost", ticket.session.get()});
  ASSERT_EQ(renewed.kind, HandshakeKind::ticket);
  f.revocations.revokeId(rawId(ticket.resumption_id), f.clock.now() + 1h);
  EXPECT_EQ(f.connect({TLS1_3_VERSION, true, "localhost", renewed.session.get()}).kind, HandshakeKind::full)
      << "revoking the id revokes the renewed ticket of the same chain";
  EXPECT_EQ(f.stats.count(TicketResult::revoked), 1);

  auto id = f.connect({TLS1_2_VERSION, false});
  unsigned len = 0;
  const unsigned char* sid = SSL_SESSION_get_id(id.session.get(), &len);
  f.revocations.revokeId(std::string(reinterpret_cast<const char*>(sid), len), f.clock.now() + 1h);
  EXPECT_EQ(f.connect({TLS1_2_VERSION, false, "localhost", id.session.get()}).kind, HandshakeKind::full);
}

TEST(TlsFrontend, AllTicketsOfOneFullHandshakeShareOneChain) {
  // Two tickets per full TLS 1.3 handshake (the default): revoking the chain id the
  // connection reports must stop both, not only the last.
  testing_fixture f({{"default", policy()}});
  auto full = f.connect({TLS1_3_VERSION});
  ASSERT_EQ(full.received.size(), 2u);
  f.revocations.revokeId(rawId(full.resumption_id), f.clock.now() + 1h);
  for (const auto& ticket : full.received)
    EXPECT_EQ(f.connect({TLS1_3_VERSION, true, "localhost", ticket.get()}).kind, HandshakeKind::full);
  EXPECT_EQ(f.stats.count(TicketResult::revoked), 2);
}

TEST(TlsFrontend, RevokingAHostOrEverythingBeforeTStopsItsResumptions) {
  testing_fixture f({{"default", policy()}, {"a.test", policy()}});
  auto a = f.connect({TLS1_3_VERSION, true, "a.test"});
  auto d = f.connect({TLS1_3_VERSION, true, "localhost"});
  f.clock.advance(1s);
  f.revocations.revokeHost("a.test", f.clock.now());
  EXPECT_EQ(f.connect({TLS1_3_VERSION, true, "a.test", a.session.get()}).kind, HandshakeKind::full);
  EXPECT_EQ(f.connect({TLS1_3_VERSION, true, "localhost", d.session.get()}).kind, HandshakeKind::ticket);
  f.clock.advance(1s);
  f.revocations.revokeAllBefore(f.clock.now());
  EXPECT_EQ(f.connect({TLS1_3_VERSION, true, "localhost", d.session.get()}).kind, HandshakeKind::full);
  f.clock.advance(1s);
  auto fresh = f.connect({TLS1_3_VERSION, true, "localhost"});
  EXPECT_EQ(f.connect({TLS1_3_VERSION, true, "localhost", fresh.session.get()}).kind, HandshakeKind::ticket)
      << "sessions made after the revocation resume";
}

TEST(TlsFrontend, AResumptionChainEndsAtMaxResumptionAge) {
  auto p = policy();
  p.max_resumption_age = 10min;
  testing_fixture f({{"default", p}});
  auto current = f.connect({TLS1_3_VERSION});
  for (int i = 0; i < 3; ++i) {
    f.clock.advance(3min);
    auto next = f.connect({TLS1_3_VERSION, true, "localhost", current.session.get()});
    ASSERT_EQ(next.kind, HandshakeKind::ticket) << "renewal " << i;
    current = std::move(next);
  }
  f.clock.advance(2min);  // 11 minutes after the full handshake, each ticket younger than 3
  EXPECT_EQ(f.connect({TLS1_3_VERSION, true, "localhost", current.session.get()}).kind, HandshakeKind::full);
}

TEST(TlsFrontend, GarbageTicketsGiveAFullHandshakeNotAnAlert) {
  testing_fixture f({{"default", policy()}});
  auto first = f.connect({TLS1_2_VERSION});
  size_t len = 0;
  const unsigned char* tick = nullptr;
  SSL_SESSION_get0_ticket(first.session.get(), &tick, &len);
  ASSERT_GT(len, 64u);
  const std::vector<unsigned char> original(tick, tick + len);
  // Flip a byte in the key name, the IV, the body and the MAC; then truncate.
  for (size_t pos : {size_t{3}, size_t{20}, len / 2, len - 5}) {
    std::vector<unsigned char> bad = original;
    bad[pos] ^= 0x5a;
    tls::SessionPtr tampered = withTicket(first.session.get(), bad);
    ASSERT_TRUE(tampered);
    auto r = f.connect({TLS1_2_VERSION, true, "localhost", tampered.get()});
    EXPECT_TRUE(r.ok) << "byte " << pos;
    EXPECT_NE(r.kind, HandshakeKind::ticket) << "byte " << pos;
  }
  EXPECT_EQ(f.stats.count(TicketResult::unknown_key), 1);
  EXPECT_EQ(f.stats.count(TicketResult::bad_mac), 3);
}

// RFC 8446 section 4.2.11: a ClientHello may carry several PSK identities; the server
// tries them in order. Each one that fails is judged and counted (metrics must not hide
// the second of two bad identities), and failing all of them is a full handshake.
// (BoringSSL opens only the first identity, and its client cannot offer a second one:
// test_tickets.SeveralPskIdentities holds both libraries to their behaviour with
// OpenSSL's s_client.)
TEST(TlsFrontend, EveryPskIdentityOfOneClientHelloIsJudgedAndCounted) {
  ClientOptions probe_client;
  probe_client.external_psk_identity = "e";
  if (const std::string why = tlsresume::testing::clientCannot(probe_client); !why.empty())
    GTEST_SKIP() << why << "; the server opens only the first PSK identity on this library";
  testing_fixture f({{"default", policy()}});
  auto first = f.connect({TLS1_3_VERSION});
  ASSERT_TRUE(first.ok);
  std::vector<unsigned char> bad = ticketOf(first.session.get());
  ASSERT_GT(bad.size(), 64u);
  bad[bad.size() / 2] ^= 0x5a;
  tls::SessionPtr tampered = withTicket(first.session.get(), bad);
  ASSERT_TRUE(tampered);
  const std::size_t before = f.stats.tickets.size();

  ClientOptions two_identities{TLS1_3_VERSION, true, "localhost", tampered.get()};
  two_identities.external_psk_identity = std::string(80, 'e');  // long enough to be opened as a ticket
  auto r = f.connect(two_identities);
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.kind, HandshakeKind::full);
  ASSERT_EQ(f.stats.tickets.size(), before + 2);
  EXPECT_EQ(f.stats.tickets[before], TicketResult::bad_mac);         // the tampered ticket
  EXPECT_EQ(f.stats.tickets[before + 1], TicketResult::unknown_key);  // the foreign identity

  // The good ticket beside a foreign identity still resumes: the first identity wins.
  ClientOptions good_first{TLS1_3_VERSION, true, "localhost", first.session.get()};
  good_first.external_psk_identity = std::string(80, 'e');
  EXPECT_EQ(f.connect(good_first).kind, HandshakeKind::ticket);
}

// What the library would decline is declined by us first and counted for what it is, not
// as "ok": a ticket of the other protocol version. The client-side copy is relabelled so
// that the client offers it.
TEST(TlsFrontend, TicketsOfTheOtherVersionAreCountedAsSuch) {
  testing_fixture f({{"default", policy()}});
  auto tls13 = f.connect({TLS1_3_VERSION});
  auto tls12 = f.connect({TLS1_2_VERSION});
  ASSERT_TRUE(tls13.ok && tls12.ok);
  tls::SessionPtr as12 = copySession(tls13.session.get());
  ASSERT_EQ(SSL_SESSION_set_protocol_version(as12.get(), TLS1_2_VERSION), 1);
  f.stats.tickets.clear();
  EXPECT_EQ(f.connect({TLS1_2_VERSION, true, "localhost", as12.get()}).kind, HandshakeKind::full);
  EXPECT_EQ(f.stats.count(TicketResult::wrong_version), 1);

  tls::SessionPtr as13 = withCipherSuite(tls12.session.get(), 0x1301);  // TLS_AES_128_GCM_SHA256
  ASSERT_TRUE(as13);
  ASSERT_EQ(SSL_SESSION_set_protocol_version(as13.get(), TLS1_3_VERSION), 1);
  f.stats.tickets.clear();
  EXPECT_EQ(f.connect({TLS1_3_VERSION, true, "localhost", as13.get()}).kind, HandshakeKind::full);
  EXPECT_EQ(f.stats.count(TicketResult::wrong_version), 1);
  EXPECT_EQ(f.stats.count(TicketResult::ok), 0);
}

// A TLS 1.3 ticket whose hash is not the chosen suite's cannot be used (RFC 8446 §4.2.11):
// declined and counted as cipher_not_offered. (BoringSSL's client cannot restrict its TLS
// 1.3 suites; test_tickets.TicketSuites holds BoringSSL's own rule, the exact suite, with
// OpenSSL's s_client.)
TEST(TlsFrontend, ATls13TicketOfAnotherHashIsCountedAsSuch) {
  ClientOptions sha256_only{TLS1_3_VERSION, true, "localhost"};
  sha256_only.tls13_ciphersuites = "TLS_AES_128_GCM_SHA256";
  if (const std::string why = tlsresume::testing::clientCannot(sha256_only); !why.empty()) GTEST_SKIP() << why;
  testing_fixture f({{"default", policy()}});
  auto tls13 = f.connect({TLS1_3_VERSION});
  ASSERT_TRUE(tls13.ok);
  // The server prefers TLS_AES_256_GCM_SHA384; a client that now offers only a SHA-256
  // suite cannot use that PSK.
  ASSERT_STREQ(SSL_CIPHER_get_name(SSL_SESSION_get0_cipher(tls13.session.get())), "TLS_AES_256_GCM_SHA384");
  sha256_only.session = tls13.session.get();
  f.stats.tickets.clear();
  EXPECT_EQ(f.connect(sha256_only).kind, HandshakeKind::full);
  EXPECT_EQ(f.stats.count(TicketResult::cipher_not_offered), 1);
  EXPECT_EQ(f.stats.count(TicketResult::ok), 0);
}
