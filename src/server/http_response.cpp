#include "server/http_response.hpp"

#include <algorithm>

namespace tlsresume::server {
namespace {

bool isDigit(char c) noexcept { return c >= '0' && c <= '9'; }

}  // namespace

std::optional<HttpResponse> parseHttpResponse(std::string_view bytes) noexcept {
  // "HTTP/1.1 200" is 12 bytes; what follows the code (a reason phrase) is not ours to judge.
  if (bytes.size() < 12 || !bytes.starts_with("HTTP/1.") || !isDigit(bytes[7]) || bytes[8] != ' ') return std::nullopt;
  if (!isDigit(bytes[9]) || !isDigit(bytes[10]) || !isDigit(bytes[11]) || bytes[9] == '0') return std::nullopt;
  if (bytes.size() > 12 && bytes[12] != ' ' && bytes[12] != '\r' && bytes[12] != '\n') return std::nullopt;
  const auto head_end = bytes.find("\r\n\r\n");
  if (head_end == std::string_view::npos) return std::nullopt;
  HttpResponse r;
  r.status = (bytes[9] - '0') * 100 + (bytes[10] - '0') * 10 + (bytes[11] - '0');
  r.status_line = bytes.substr(0, bytes.find_first_of("\r\n"));
  r.body = bytes.substr(head_end + 4);
  return r;
}

std::optional<std::string_view> bodyField(std::string_view body, std::string_view key) noexcept {
  std::size_t line = 0;
  while (line < body.size()) {
    const std::size_t end = std::min(body.find('\n', line), body.size());
    std::string_view text = body.substr(line, end - line);
    if (text.ends_with('\r')) text.remove_suffix(1);
    if (text.size() >= key.size() + 2 && text.starts_with(key) && text.substr(key.size(), 2) == ": ")
      return text.substr(key.size() + 2);
    line = end + 1;
  }
  return std::nullopt;
}

}  // namespace tlsresume::server
