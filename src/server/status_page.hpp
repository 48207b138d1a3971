#pragma once
// The admin endpoint's live status page: GET / from a browser (Accept: text/html).
// One self-contained HTML document (inline CSS and JavaScript, nothing fetched from
// elsewhere) whose script reads /metrics, /keys, /revocations and /fleet every 2 s, from
// the same origin, and draws what it reads. It holds no figures of its own, so it is a
// constant; and it shows only what those routes serve, which is never key material.
#include <string_view>

namespace tlsresume::server {

// The page's HTML (UTF-8).
std::string_view statusPageHtml() noexcept;

// True when an Accept header asks for HTML (a browser's navigation does; curl, ctl and
// Prometheus do not), so that GET / stays a 404 listing the routes for them.
bool acceptsHtml(std::string_view accept) noexcept;

}  // namespace tlsresume::server
