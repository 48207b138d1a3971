#include "server/builtin_responder.hpp"

#include "server/http_request.hpp"

namespace tlsresume::server {
namespace {

void respond(std::string& out, int status, const char* reason, const std::string& body, bool keep_alive) {
  out += "HTTP/1.1 " + std::to_string(status) + " " + reason + "\r\n";
  out += "Content-Type: text/plain; charset=utf-8\r\n";
  out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  out += keep_alive ? "Connection: keep-alive\r\n" : "Connection: close\r\n";
  out += "Server: tlsresume\r\n\r\n";
  out += body;
}

}  // namespace

BuiltinResponder::Verdict BuiltinResponder::consume(std::string& in, std::string& out, const TlsFacts& f, bool closing) {
  for (;;) {
    ParseResult r = parseHttpRequest(in);
    switch (r.status) {
      case ParseStatus::incomplete:
        return Verdict::need_more;
      case ParseStatus::too_large:
        respond(out, 431, "Request Header Fields Too Large", "request head too large\n", false);
        return Verdict::close_after_flush;
      case ParseStatus::invalid:
        respond(out, 400, "Bad Request", r.error + "\n", false);
        return Verdict::close_after_flush;
      case ParseStatus::complete:
        break;
    }
    // The connection buffers at most 64 KiB from the client; a body that cannot fit would
    // stall until the idle timeout, so refuse it now.
    constexpr std::size_t kMaxBody = std::size_t{32} * 1024;
    if (r.request.content_length > kMaxBody) {
      respond(out, 413, "Payload Too Large", "the built-in responder takes bodies up to 32 KiB\n", false);
      return Verdict::close_after_flush;
    }
    const std::size_t total = r.request.head_size + r.request.content_length;
    if (in.size() < total) return Verdict::need_more;  // wait for the body, then ignore it
    in.erase(0, total);
    std::string body = "tlsresume: " + f.version + " " + f.cipher + "\n";
    body += "sni: " + (f.sni.empty() ? std::string("(none)") : f.sni) + "\n";
    body += "vhost: " + f.vhost + "\n";
    body += "resumed: " + f.resumed + "\n";
    if (!f.session.empty()) body += "session: " + f.session + "\n";
    const bool keep_alive = r.request.keep_alive && !closing;
    respond(out, 200, "OK", r.request.method == "HEAD" ? std::string() : body, keep_alive);
    if (!keep_alive) return Verdict::close_after_flush;
  }
}

}  // namespace tlsresume::server
