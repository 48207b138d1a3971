#include "redis/redis_link.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace tlsresume::redis {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

constexpr const char* kRedisServer = "/usr/bin/redis-server";
constexpr auto kPatience = 10s;  // an upper bound for anything that should happen "soon"

// Polls `ready` until it holds or the deadline passes.
template <typename Pred>
bool waitFor(Pred ready, std::chrono::milliseconds limit = kPatience) {
  const auto deadline = Clock::now() + limit;
  while (!ready()) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

std::uint16_t freePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

bool portAccepts(std::uint16_t port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  close(fd);
  return ok;
}

// A real redis-server on loopback, in its own scratch directory, killed with the test.
class RedisProcess {
 public:
  RedisProcess(std::uint16_t port, std::vector<std::string> extra, fs::path dir) : port_(port), dir_(std::move(dir)) {
    args_ = {kRedisServer, "--port", std::to_string(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
             "no",         "--dir",  dir_.string()};
    for (auto& e : extra) args_.push_back(std::move(e));
    start();
  }
  ~RedisProcess() { kill(); }

  void start() {
    pid_ = fork();
    if (pid_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive a crashed test
      const int null = open("/dev/null", O_WRONLY);
      dup2(null, 1);
      dup2(null, 2);
      std::vector<char*> argv;
      for (auto& a : args_) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(kRedisServer, argv.data());
      _exit(127);
    }
  }
  void kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  void pause() { ::kill(pid_, SIGSTOP); }
  void resume() { ::kill(pid_, SIGCONT); }
  bool listening(std::uint16_t port) const {
    return waitFor([&] { return portAccepts(port); });
  }
  std::uint16_t port() const { return port_; }

 private:
  std::uint16_t port_;
  fs::path dir_;
  std::vector<std::string> args_;
  pid_t pid_ = -1;
};

class Recorder final : public LinkObserver {
 public:
  virtual ~Recorder() = default;
  void onLinkUp() noexcept override { ++ups; }
  void onLinkDown(std::string_view reason) noexcept override {
    std::lock_guard lock(mutex);
    reasons.emplace_back(reason);
    ++downs;
  }
  std::string lastReason() {
    std::lock_guard lock(mutex);
    return reasons.empty() ? std::string() : reasons.back();
  }
  std::atomic<int> ups{0};
  std::atomic<int> downs{0};
  std::mutex mutex;
  std::vector<std::string> reasons;
};

// The result of one command, waited for from the test thread.
struct Result {
  std::mutex mutex;
  std::condition_variable cv;
  bool done = false;
  Outcome outcome = Outcome::error;
  Reply reply;
  Clock::time_point at;

  RedisLink::Callback callback() {
    return [this](Outcome o, Reply&& r) {
      std::lock_guard lock(mutex);
      outcome = o;
      reply = std::move(r);
      at = Clock::now();
      done = true;
      cv.notify_all();
    };
  }
  bool wait(std::chrono::milliseconds limit = kPatience) {
    std::unique_lock lock(mutex);
    return cv.wait_for(lock, limit, [&] { return done; });
  }
};

Result& run(RedisLink& link, std::vector<std::string> args, Result& r, std::chrono::milliseconds timeout = 2s) {
  link.command(std::move(args), timeout, r.callback());
  EXPECT_TRUE(r.wait());
  return r;
}

class RedisLinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (access(kRedisServer, X_OK) != 0) GTEST_SKIP() << kRedisServer << " is not installed";
    dir_ = fs::temp_directory_path() / ("tlsresume-redis-" + std::to_string(getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  RedisProcess& startRedis(std::vector<std::string> extra = {}, std::uint16_t port = 0) {
    if (port == 0) port = freePort();
    redis_ = std::make_unique<RedisProcess>(port, std::move(extra), dir_);
    EXPECT_TRUE(redis_->listening(port)) << "redis-server did not start on port " << port;
    return *redis_;
  }

  LinkOptions optionsFor(std::uint16_t port) const {
    LinkOptions o;
    o.endpoint.host = "127.0.0.1";
    o.endpoint.port = port;
    o.backoff_min = 10ms;
    o.backoff_max = 100ms;
    return o;
  }

  fs::path dir_;
  std::unique_ptr<RedisProcess> redis_;
};

TEST_F(RedisLinkTest, SetThenGetRoundTripsBinaryValues) {
  auto& redis = startRedis();
  Recorder rec;
  RedisLink link(optionsFor(redis.port()), &rec);
  link.start();
  ASSERT_TRUE(waitFor([&] { return link.up(); })) << link.lastError();
  EXPECT_EQ(rec.ups, 1);
  EXPECT_EQ(link.lastError(), "");
  const std::string value("v\0\r\nalue", 9);
  Result set, get, missing;
  run(link, {"SET", "k", value}, set);
  EXPECT_EQ(set.outcome, Outcome::ok);
  EXPECT_EQ(set.reply.type, Reply::Type::status);
  EXPECT_EQ(set.reply.str, "OK");
  run(link, {"GET", "k"}, get);
  EXPECT_EQ(get.outcome, Outcome::ok);
  EXPECT_EQ(get.reply.type, Reply::Type::string);
  EXPECT_EQ(get.reply.str, value);
  run(link, {"GET", "nothing-here"}, missing);
  EXPECT_EQ(missing.reply.type, Reply::Type::nil);
}

TEST_F(RedisLinkTest, ARedisErrorIsAnErrorOutcomeWithRedisWords) {
  auto& redis = startRedis();
  RedisLink link(optionsFor(redis.port()));
  link.start();
  ASSERT_TRUE(waitFor([&] { return link.up(); })) << link.lastError();
  Result r;
  run(link, {"NOSUCHCOMMAND"}, r);
  EXPECT_EQ(r.outcome, Outcome::error);
  EXPECT_EQ(r.reply.type, Reply::Type::error);
  EXPECT_NE(r.reply.str.find("ERR"), std::string::npos) << r.reply.str;
  EXPECT_TRUE(link.up());  // an error reply is not a broken link
}

TEST_F(RedisLinkTest, PipelinedCommandsAnswerInOrder) {
  auto& redis = startRedis();
  RedisLink link(optionsFor(redis.port()));
  link.start();
  ASSERT_TRUE(waitFor([&] { return link.up(); })) << link.lastError();
  constexpr int kCommands = 5000;
  std::mutex mutex;
  std::vector<long long> seen;
  std::atomic<int> done{0};
  for (int i = 0; i < kCommands; ++i) {
    link.command({"INCR", "counter"}, 5s, [&](Outcome o, Reply&& r) {
      std::lock_guard lock(mutex);
      seen.push_back(o == Outcome::ok ? r.integer : -1);
      ++done;
    });
  }
  ASSERT_TRUE(waitFor([&] { return done == kCommands; }));
  for (int i = 0; i < kCommands; ++i) ASSERT_EQ(seen[i], i + 1);
  EXPECT_EQ(link.stats().commands, static_cast<std::uint64_t>(kCommands));
  EXPECT_EQ(link.stats().errors, 0u);
}

TEST_F(RedisLinkTest, ACommandToAStoppedRedisTimesOutOnTimeAndItsLateReplyIsDropped) {
  auto& redis = startRedis();
  auto options = optionsFor(redis.port());
  options.connect_timeout = 5s;  // long enough that the liveness check stays out of this test
  RedisLink link(options);
  link.start();
  ASSERT_TRUE(waitFor([&] { return link.up(); })) << link.lastError();
  Result set1;
  run(link, {"SET", "k", "old"}, set1);
  redis.pause();
  Result late;
  const auto sent = Clock::now();
  link.command({"GET", "k"}, 200ms, late.callback());
  ASSERT_TRUE(late.wait());
  const auto elapsed = late.at - sent;
  EXPECT_EQ(late.outcome, Outcome::timeout);
  EXPECT_GE(elapsed, 200ms);
  EXPECT_LT(elapsed, 400ms) << "the timeout callback came late";
  redis.resume();
  Result set2, get;
  run(link, {"SET", "k", "new"}, set2);
  run(link, {"GET", "k"}, get);
  EXPECT_EQ(set2.reply.str, "OK");  // not the stale GET's "old"
  EXPECT_EQ(get.reply.str, "new");
  EXPECT_EQ(link.stats().timeouts, 1u);
}

TEST_F(RedisLinkTest, ASilentRedisWithCommandsWaitingIsDroppedAndReconnected) {
  auto& redis = startRedis();
  auto options = optionsFor(redis.port());
  options.connect_timeout = 300ms;
  Recorder rec;
  RedisLink link(options, &rec);
  link.start();
  ASSERT_TRUE(waitFor([&] { return link.up(); })) << link.lastError();
  redis.pause();
  Result r;
  link.command({"PING"}, 100ms, r.callback());
  ASSERT_TRUE(r.wait());
  EXPECT_EQ(r.outcome, Outcome::timeout);
  ASSERT_TRUE(waitFor([&] { return !link.up(); }));
  EXPECT_NE(link.lastError().find("timed out"), std::string::npos) << link.lastError();
  redis.resume();
  ASSERT_TRUE(waitFor([&] { return link.up(); })) << link.lastError();
  EXPECT_EQ(rec.downs, 1);
  EXPECT_EQ(rec.ups, 2);
}

TEST_F(RedisLinkTest, TheLinkComesBackWhenRedisRestartsOnTheSamePort) {
  auto& redis = startRedis();
  Recorder rec;
  RedisLink link(optionsFor(redis.port()), &rec);
  link.start();
  ASSERT_TRUE(waitFor([&] { return link.up(); })) << link.lastError();
  ASSERT_EQ(rec.ups, 1);
  redis.kill();
  ASSERT_TRUE(waitFor([&] { return !link.up(); }));
  EXPECT_FALSE(link.lastError().empty());
  // Down: refused at once, on the link's thread, without waiting for the timeout.
  Result refused;
  const auto sent = Clock::now();
  link.command({"PING"}, 5s, refused.callback());
  ASSERT_TRUE(refused.wait());
  EXPECT_EQ(refused.outcome, Outcome::error);
  EXPECT_LT(refused.at - sent, 1s);
  EXPECT_NE(refused.reply.str.find("link down"), std::string::npos) << refused.reply.str;
  EXPECT_GE(link.stats().refused, 1u);
  redis.start();
  ASSERT_TRUE(redis.listening(redis.port()));
  ASSERT_TRUE(waitFor([&] { return link.up(); })) << link.lastError();
  Result pong;
  run(link, {"PING"}, pong);
  EXPECT_EQ(pong.reply.str, "PONG");
  EXPECT_EQ(rec.downs, 1);
  EXPECT_EQ(rec.ups, 2);
  EXPECT_GE(link.stats().reconnects, 1u);
}

TEST_F(RedisLinkTest, NoRedisMeansDownWithTheCauseAndCommandsFailAtOnce) {
  const auto port = freePort();  // nothing listens there
  Recorder rec;
  RedisLink link(optionsFor(port), &rec);
  link.start();
  ASSERT_TRUE(waitFor([&] { return rec.downs > 0; }));
  EXPECT_NE(rec.lastReason().find("refused"), std::string::npos) << rec.lastReason();
  EXPECT_FALSE(link.up());
  Result r;
  run(link, {"PING"}, r);
  EXPECT_EQ(r.outcome, Outcome::error);
  EXPECT_EQ(r.reply.type, Reply::Type::nil);
  // Retries do not repeat the transition.
  ASSERT_TRUE(waitFor([&] { return link.stats().reconnects >= 3; }));
  EXPECT_EQ(rec.downs, 1);
}

TEST_F(RedisLinkTest, CommandsBeyondMaxPendingFailAtOnce) {
  auto& redis = startRedis();
  auto options = optionsFor(redis.port());
  options.max_pending = 2;
  options.connect_timeout = 5s;
  RedisLink link(options);
  link.start();
  ASSERT_TRUE(waitFor([&] { return link.up(); })) << link.lastError();
  redis.pause();
  Result a, b, c;
  link.command({"PING"}, 5s, a.callback());
  link.command({"PING"}, 5s, b.callback());
  link.command({"PING"}, 5s, c.callback());
  ASSERT_TRUE(c.wait(1s));
  EXPECT_EQ(c.outcome, Outcome::error);
  EXPECT_NE(c.reply.str.find("queue full"), std::string::npos) << c.reply.str;
  redis.resume();
  ASSERT_TRUE(a.wait());
  ASSERT_TRUE(b.wait());
  EXPECT_EQ(a.outcome, Outcome::ok);
  EXPECT_EQ(b.outcome, Outcome::ok);
}

TEST_F(RedisLinkTest, AnAclUserAuthenticatesAndNamesItsConnection) {
  auto& redis = startRedis();
  RedisLink admin(optionsFor(redis.port()));
  admin.start();
  ASSERT_TRUE(waitFor([&] { return admin.up(); })) << admin.lastError();
  Result created;
  run(admin, {"ACL", "SETUSER", "fleet", "on", ">s3cret-pass", "~*", "+@all"}, created);
  ASSERT_EQ(created.outcome, Outcome::ok) << created.reply.str;

  auto options = optionsFor(redis.port());
  options.user = "fleet";
  options.password = "s3cret-pass";
  options.name = "tlsresume:node-a";
  RedisLink link(options);
  link.start();
  ASSERT_TRUE(waitFor([&] { return link.up(); })) << link.lastError();
  Result who, name;
  run(link, {"ACL", "WHOAMI"}, who);
  run(link, {"CLIENT", "GETNAME"}, name);
  EXPECT_EQ(who.reply.str, "fleet");
  EXPECT_EQ(name.reply.str, "tlsresume:node-a");
}

TEST_F(RedisLinkTest, AWrongPasswordKeepsTheLinkDownWithRedisReasonAndNoSecret) {
  auto& redis = startRedis({"--requirepass", "right-pass"});
  auto options = optionsFor(redis.port());
  options.password = "wrong-pass-do-not-log";
  Recorder rec;
  RedisLink link(options, &rec);
  link.start();
  ASSERT_TRUE(waitFor([&] { return rec.downs > 0; }));
  EXPECT_EQ(rec.lastReason().rfind("WRONGPASS", 0), 0u) << rec.lastReason();
  EXPECT_FALSE(link.up());
  EXPECT_EQ(link.lastError().find("wrong-pass"), std::string::npos);
  EXPECT_EQ(rec.lastReason().find("wrong-pass"), std::string::npos);
  ASSERT_TRUE(waitFor([&] { return link.stats().reconnects >= 3; }));  // several retries, one transition
  EXPECT_EQ(rec.downs, 1);
  EXPECT_EQ(rec.ups, 0);

  options.password = "right-pass";
  RedisLink good(options);
  good.start();
  ASSERT_TRUE(waitFor([&] { return good.up(); })) << good.lastError();
}

TEST_F(RedisLinkTest, AUnixSocketWorksLikeTcp) {
  const auto sock = (dir_ / "redis.sock").string();
  auto& redis = startRedis({"--unixsocket", sock});
  (void)redis;
  LinkOptions options;
  options.endpoint.kind = Endpoint::Kind::unix_socket;
  options.endpoint.path = sock;
  RedisLink link(options);
  link.start();
  ASSERT_TRUE(waitFor([&] { return link.up(); })) << link.lastError();
  Result r;
  run(link, {"ECHO", "over a unix socket"}, r);
  EXPECT_EQ(r.reply.str, "over a unix socket");
}

TEST_F(RedisLinkTest, EveryRunsPeriodicallyUpOrDown) {
  RedisLink link(optionsFor(freePort()));  // never up
  std::atomic<int> runs{0};
  link.every(10ms, [&] { ++runs; });
  link.start();
  EXPECT_TRUE(waitFor([&] { return runs >= 3; }));
}

TEST_F(RedisLinkTest, DestroyingTheLinkFailsWhatIsStillPending) {
  auto& redis = startRedis();
  auto options = optionsFor(redis.port());
  options.connect_timeout = 5s;
  Result r;
  {
    RedisLink link(options);
    link.start();
    ASSERT_TRUE(waitFor([&] { return link.up(); })) << link.lastError();
    redis.pause();
    link.command({"PING"}, 5s, r.callback());
  }
  redis.resume();
  ASSERT_TRUE(r.wait(0ms));
  EXPECT_EQ(r.outcome, Outcome::error);
}

// ---- TLS -------------------------------------------------------------------------------------

class RedisTlsTest : public RedisLinkTest {
 protected:
  void SetUp() override {
    RedisLinkTest::SetUp();
    if (IsSkipped()) return;
    if (access("/usr/bin/openssl", X_OK) != 0) GTEST_SKIP() << "the openssl CLI is not installed";
    const auto d = dir_.string();
    std::ofstream(dir_ / "san.ext") << "subjectAltName=DNS:localhost,IP:127.0.0.1\n";
    const std::string script =
        "cd '" + d +
        "' && "
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.crt "
        "-subj /CN=test-ca -days 2 && "
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout other.key -out other.crt "
        "-subj /CN=other-ca -days 2 && "
        "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout server.key -out server.csr "
        "-subj /CN=localhost && "
        "openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 2 "
        "-extfile san.ext";
    ASSERT_EQ(std::system(("(" + script + ") >/dev/null 2>&1").c_str()), 0) << "certificate generation failed";
    tls_port_ = freePort();
    redis_ = std::make_unique<RedisProcess>(
        0,
        std::vector<std::string>{"--tls-port", std::to_string(tls_port_), "--tls-cert-file", d + "/server.crt",
                                 "--tls-key-file", d + "/server.key", "--tls-ca-cert-file", d + "/ca.crt",
                                 "--tls-auth-clients", "no"},
        dir_);
    ASSERT_TRUE(redis_->listening(tls_port_)) << "redis-server (TLS) did not start";
  }

  LinkOptions tlsOptions(const std::string& ca) const {
    auto o = optionsFor(tls_port_);
    o.endpoint.kind = Endpoint::Kind::tls;
    o.tls_ca_file = (dir_ / ca).string();
    return o;
  }

  std::uint16_t tls_port_ = 0;
};

TEST_F(RedisTlsTest, SetThenGetOverTlsVerifiedAgainstTheCa) {
  RedisLink link(tlsOptions("ca.crt"));
  link.start();
  ASSERT_TRUE(waitFor([&] { return link.up(); })) << link.lastError();
  Result set, get;
  run(link, {"SET", "k", "over tls"}, set);
  run(link, {"GET", "k"}, get);
  EXPECT_EQ(set.reply.str, "OK");
  EXPECT_EQ(get.reply.str, "over tls");
}

TEST_F(RedisTlsTest, TheServerNameCanDifferFromTheAddress) {
  auto options = tlsOptions("ca.crt");
  options.tls_server_name = "localhost";
  RedisLink link(options);
  link.start();
  ASSERT_TRUE(waitFor([&] { return link.up(); })) << link.lastError();
}

TEST_F(RedisTlsTest, AnotherCaKeepsTheLinkDown) {
  Recorder rec;
  RedisLink link(tlsOptions("other.crt"), &rec);
  link.start();
  ASSERT_TRUE(waitFor([&] { return rec.downs > 0; }));
  EXPECT_NE(rec.lastReason().find("certificate verify failed"), std::string::npos) << rec.lastReason();
  EXPECT_FALSE(link.up());
}

TEST_F(RedisTlsTest, ANameNotInTheCertificateKeepsTheLinkDown) {
  auto options = tlsOptions("ca.crt");
  options.tls_server_name = "redis.elsewhere";
  Recorder rec;
  RedisLink link(options, &rec);
  link.start();
  ASSERT_TRUE(waitFor([&] { return rec.downs > 0; }));
  EXPECT_NE(rec.lastReason().find("verify"), std::string::npos) << rec.lastReason();
}

TEST(RedisLinkOptions, AMissingCaFileIsRefusedWhenTheLinkIsBuilt) {
  LinkOptions o;
  o.endpoint.kind = Endpoint::Kind::tls;
  o.endpoint.host = "127.0.0.1";
  o.tls_ca_file = "/nonexistent/ca.pem";
  EXPECT_THROW(RedisLink link(o), std::runtime_error);
}

}  // namespace
}  // namespace tlsresume::redis
