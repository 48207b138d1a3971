#include "server/http_request.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace tlsresume::server {
namespace {

bool isToken(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) {
    return std::isalnum(c) || std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
  });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::string> percentDecode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      const int hi = hexValue(s[i + 1]);
      const int lo = hexValue(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (s[i] == '+') {
      out.push_back(' ');
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

// The line at the start of `head` without its terminator, removed from `head`. A line ends
// at LF; a CR right before it belongs to the terminator (CRLF, or a lone LF, which RFC 9112
// §2.2 lets a recipient accept, as nginx and HAProxy do). A CR anywhere else stays in the
// line, where the checks of the request line and header values refuse it.
std::string_view nextLine(std::string_view& head) {
  const auto eol = head.find('\n');
  std::string_view line = head.substr(0, eol);
  head.remove_prefix(eol == std::string_view::npos ? head.size() : eol + 1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

}  // namespace

std::size_t requestHeadSize(std::string_view bytes) noexcept {
  std::size_t pos = 0;
  for (;;) {
    const auto eol = bytes.find('\n', pos);
    if (eol == std::string_view::npos) return 0;
    if (eol == pos || (eol == pos + 1 && bytes[pos] == '\r')) return eol + 1;  // the blank line
    pos = eol + 1;
  }
}

std::string_view HttpRequest::header(std::string_view lower_name) const noexcept {
  for (const auto& [k, v] : headers)
    if (k == lower_name) return v;
  return {};
}

std::string HttpRequest::path() const { return target.substr(0, target.find('?')); }

std::optional<std::string> HttpRequest::query(std::string_view key) const {
  const auto q = target.find('?');
  if (q == std::string::npos) return std::nullopt;
  std::string_view rest = std::string_view(target).substr(q + 1);
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
    const auto eq = pair.find('=');
    if (pair.substr(0, eq) == key) return percentDecode(eq == std::string_view::npos ? "" : pair.substr(eq + 1));
  }
  return std::nullopt;
}

ParseResult parseHttpRequest(std::string_view bytes) {
  ParseResult r{ParseStatus::incomplete, {}, {}};
  const std::size_t head_size = requestHeadSize(bytes.substr(0, kMaxRequestHead));
  if (head_size == 0) {
    if (bytes.size() >= kMaxRequestHead) r.status = ParseStatus::too_large;
    return r;
  }
  auto invalid = [&](std::string why) {
    r.status = ParseStatus::invalid;
    r.error = std::move(why);
    return r;
  };
  std::string_view head = bytes.substr(0, head_size);
  const std::string_view line = nextLine(head);

  const auto sp1 = line.find(' ');
  const auto sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos)
    return invalid("malformed request line");
  const std::string_view method = line.substr(0, sp1);
  const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = line.substr(sp2 + 1);
  if (!isToken(method)) return invalid("malformed method");
  if (target.empty() || (target.front() != '/' && target != "*")) return invalid("malformed target");
  if (std::any_of(target.begin(), target.end(), [](unsigned char c) { return c <= 0x20 || c == 0x7f; }))
    return invalid("malformed target");
  if (version != "HTTP/1.1" && version != "HTTP/1.0") return invalid("unsupported HTTP version");

  HttpRequest& req = r.request;
  req.method = method;
  req.target = target;
  req.minor_version = version.back() - '0';
  req.keep_alive = req.minor_version == 1;
  bool have_length = false;
  bool saw_close = false;
  for (;;) {
    const std::string_view h = nextLine(head);
    if (h.empty()) break;  // the blank line that ends the head
    const auto colon = h.find(':');
    if (colon == std::string_view::npos || !isToken(h.substr(0, colon))) return invalid("malformed header");
    std::string name(h.substr(0, colon));
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    const std::string_view value = trim(h.substr(colon + 1));
    if (std::any_of(value.begin(), value.end(), [](unsigned char c) { return (c < 0x20 && c != '\t') || c == 0x7f; }))
      return invalid("malformed header value");
    if (name == "content-length") {
      std::size_t n = 0;
      const auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec != std::errc{} || p != value.data() + value.size() || (have_length && n != req.content_length))
        return invalid("malformed content-length");
      have_length = true;
      req.content_length = n;
    } else if (name == "transfer-encoding") {
      return invalid("transfer-encoding is not supported");
    } else if (name == "connection") {
      // RFC 9110 §7.6.1: a comma-separated list of options, possibly over several header
      // lines; "close" anywhere wins.
      std::string v(value);
      std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return std::tolower(c); });
      std::string_view rest = v;
      while (!rest.empty()) {
        const std::size_t comma = rest.find(',');
        const std::string_view option = trim(rest.substr(0, comma));
        rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
        if (option == "close")
          saw_close = true;
        else if (option == "keep-alive")
          req.keep_alive = true;
      }
      if (saw_close) req.keep_alive = false;
    }
    req.headers.emplace_back(std::move(name), std::string(value));
    if (req.headers.size() > 100) return invalid("too many headers");
  }
  req.head_size = head_size;
  r.status = ParseStatus::complete;
  return r;
}

}  // namespace tlsresume::server
