// Fuzzes the HTTP/1.x response reader of `tlsresume bench` (fed by whatever server is
// under test) and `tlsresume ctl` (fed by the admin endpoint).
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "server/http_response.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const auto r = tlsresume::server::parseHttpResponse(bytes);
  const auto inside = [&](std::string_view v) {
    return v.empty() || (v.data() >= bytes.data() && v.data() + v.size() <= bytes.data() + bytes.size());
  };
  if (r) {
    if (r->status < 100 || r->status > 999 || !inside(r->status_line) || !inside(r->body)) std::abort();
    if (const auto v = tlsresume::server::bodyField(r->body, "resumed"); v && !inside(*v)) std::abort();
  }
  if (const auto v = tlsresume::server::bodyField(bytes, "resumed"); v && !inside(*v)) std::abort();
  return 0;
}
