#pragma once
// A strict, bounded parser for an HTTP/1.x request head, shared by the built-in responder
// and the admin endpoint. It never reads past the bytes given and never allocates more
// than the head it was handed. Fuzzed by tests/fuzz/fuzz_http_request.cpp.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tlsresume::server {

inline constexpr std::size_t kMaxRequestHead = std::size_t{16} * 1024;

struct HttpRequest {
  std::string method;
  std::string target;                                        // path and query, as sent
  int minor_version = 1;                                     // HTTP/1.x
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::size_t head_size = 0;                                 // bytes of the head, blank line included
  std::size_t content_length = 0;                            // body bytes that follow the head
  bool keep_alive = true;

  std::string_view header(std::string_view lower_name) const noexcept;
  std::string path() const;                                      // target without the query
  std::optional<std::string> query(std::string_view key) const;  // percent-decoded value
};

enum class ParseStatus { complete, incomplete, invalid, too_large };

struct ParseResult {
  ParseStatus status;
  HttpRequest request;  // valid when status == complete
  std::string error;    // why, when invalid
};

// Lines end in CRLF or, as RFC 9112 §2.2 allows a recipient to accept, a lone LF.
ParseResult parseHttpRequest(std::string_view bytes);

// The size of the request head at the start of `bytes`, its blank line included: up to
// and including the first empty line (CRLF or LF); 0 if no empty line is there yet.
std::size_t requestHeadSize(std::string_view bytes) noexcept;

}  // namespace tlsresume::server
