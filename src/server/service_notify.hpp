#pragma once
// Service manager notifications (systemd Type=notify, sd_notify(3)). Each does nothing
// when the process was not started by a service manager (no $NOTIFY_SOCKET), or when the
// server was built without libsystemd. Safe to call from any thread, at any time.
namespace tlsresume::server {

// The listeners are up and the workers started (and again after a reload).
void notifyReady() noexcept;
// A reload of the configuration begins; notifyReady() when it is done.
void notifyReloading() noexcept;
// Draining: the server stops accepting and is about to exit.
void notifyStopping() noexcept;
// A one-line status for `systemctl status` (STATUS=...).
void notifyStatus(const char* status) noexcept;

}  // namespace tlsresume::server
