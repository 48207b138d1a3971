// Fuzzes the HTTP/1.x request-head parser shared by the built-in responder (reachable by
// any TLS client) and the admin endpoint.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "server/builtin_responder.hpp"
#include "server/http_request.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  const auto r = tlsresume::server::parseHttpRequest(bytes);
  if (r.status == tlsresume::server::ParseStatus::complete) {
    if (r.request.head_size > bytes.size() || r.request.head_size > tlsresume::server::kMaxRequestHead) std::abort();
    (void)r.request.path();
    (void)r.request.query("id");
  }
  // The responder must consume or refuse, never loop or grow without bound.
  std::string in = bytes;
  std::string out;
  tlsresume::server::BuiltinResponder responder;
  (void)responder.consume(in, out, {"TLSv1.3", "TLS_AES_128_GCM_SHA256", "localhost", "default", "no", ""});
  if (in.size() > bytes.size()) std::abort();
  return 0;
}
