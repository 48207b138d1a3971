#include "tlsresume/tiered_store.hpp"

#include <openssl/crypto.h>

#include "tlsresume/stored_session.hpp"

namespace tlsresume {

void TieredStore::put(std::string_view key, std::string_view value, TimePoint expiry) noexcept {
  local_.put(key, value, expiry);
  try {
    remote_.store(std::string(key), std::string(value), expiry);
  } catch (...) {
    // Out of memory for the copy: the session stays local, as without a fleet.
  }
}

bool TieredStore::erase(std::string_view key) noexcept {
  const bool local = local_.erase(key);
  try {
    remote_.erase(std::string(key));
  } catch (...) {
  }
  return local;
}

bool TieredStore::prefetch(std::string_view key, std::function<void()> done) noexcept {
  try {
    thread_local std::string probe;
    const bool local = local_.get(key, probe);
    OPENSSL_cleanse(probe.data(), probe.size());
    if (local || !remote_.available()) return false;
    return remote_.fetch(std::string(key), [this, key = std::string(key), done = std::move(done)](
                                               RemoteSessionTier::Lookup result, std::string&& value) mutable {
      if (result == RemoteSessionTier::Lookup::hit) {
        // The record's own expiry becomes the local TTL; a record that does not decode
        // is not kept (the handshake then finds nothing: a full handshake).
        if (const auto view = decodeStoredSession(value)) local_.put(key, value, view->expires);
      }
      OPENSSL_cleanse(value.data(), value.size());
      done();
    });
  } catch (...) {
    return false;
  }
}

}  // namespace tlsresume
