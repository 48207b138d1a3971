#include "server/service_notify.hpp"

#include <string>

#ifdef TLSRESUME_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

namespace tlsresume::server {
namespace {

void notify(const char* state) noexcept {
#ifdef TLSRESUME_HAVE_SYSTEMD
  // unset_environment = 0: a reload notifies again later, through the same socket.
  sd_notify(0, state);
#else
  (void)state;
#endif
}

}  // namespace

void notifyReady() noexcept { notify("READY=1"); }
void notifyReloading() noexcept { notify("RELOADING=1"); }
void notifyStopping() noexcept { notify("STOPPING=1"); }

void notifyStatus(const char* status) noexcept {
  try {
    notify(("STATUS=" + std::string(status)).c_str());
  } catch (...) {
  }
}

}  // namespace tlsresume::server
