#pragma once
// Reads an HTTP/1.x response as our clients receive it: `tlsresume ctl` (the admin
// endpoint's answers) and `tlsresume bench` (the answers of the server under test, which
// may be anyone's). Strict about the status line, lenient about the rest; never reads past
// the bytes given. Fuzzed by tests/fuzz/fuzz_http_response.cpp.
#include <optional>
#include <string_view>

namespace tlsresume::server {

struct HttpResponse {
  int status = 0;                // 100..999
  std::string_view status_line;  // without its line end
  std::string_view body;         // everything after the blank line (views into the input)
  std::optional<std::size_t> content_length;  // the first Content-Length header, if it parses
};

// nullopt unless the bytes start with "HTTP/1.<digit> <3 digits>" and hold a complete head.
std::optional<HttpResponse> parseHttpResponse(std::string_view bytes) noexcept;

// The value of the first body line "key: value" (the built-in responder's format), without
// the line end; nullopt when no line starts with "key: ".
std::optional<std::string_view> bodyField(std::string_view body, std::string_view key) noexcept;

}  // namespace tlsresume::server
