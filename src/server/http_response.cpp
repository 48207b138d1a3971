#include "server/http_response.hpp"

#include <algorithm>
#include <charconv>

namespace tlsresume::server {
namespace {

bool isDigit(char c) noexcept { return c >= '0' && c <= '9'; }

char lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// The value of the first "Content-Length:" line of a head (case-insensitive name), if it
// is a number that fits; a lenient reader's view, as for the rest of the head.
std::optional<std::size_t> contentLength(std::string_view head) noexcept {
  constexpr std::string_view kName = "\r\ncontent-length:";
  for (std::size_t at = 0; at + kName.size() <= head.size(); ++at) {
    if (!std::equal(kName.begin(), kName.end(), head.begin() + static_cast<std::ptrdiff_t>(at),
                    [](char want, char got) { return want == lower(got); }))
      continue;
    std::size_t i = at + kName.size();
    while (i < head.size() && (head[i] == ' ' || head[i] == '\t')) ++i;
    std::size_t value = 0;
    const auto [end, ec] = std::from_chars(head.data() + i, head.data() + head.size(), value);
    if (ec != std::errc{} || end == head.data() + i) return std::nullopt;
    return value;
  }
  return std::nullopt;
}

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
  r.content_length = contentLength(bytes.substr(0, head_end + 2));
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
