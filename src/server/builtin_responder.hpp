#pragma once
// The built-in backend of the embedded defaults: answers every HTTP/1.x request with 200
// and a short text that says how this TLS connection was made (version, cipher, SNI,
// virtual host, and whether and how the session was resumed). It lets an operator, a
// test or the benchmark see resumption with nothing but curl.
#include <string>

namespace tlsresume::server {

struct TlsFacts {
  std::string version;  // "TLSv1.3"
  std::string cipher;
  std::string sni;  // empty when the client sent none
  std::string vhost;
  std::string resumed;  // "no" | "session-id" | "ticket" | "stateful-ticket"
  std::string session;  // hex id of the session (what `ctl revoke --id` takes), may be empty
};

class BuiltinResponder {
 public:
  enum class Verdict { need_more, keep_open, close_after_flush };
  // Consumes complete requests from `in` and appends responses to `out`. `closing` (the
  // server is draining) makes the next answer the last: "Connection: close", whatever the
  // client asked for.
  Verdict consume(std::string& in, std::string& out, const TlsFacts& facts, bool closing = false);
};

}  // namespace tlsresume::server
