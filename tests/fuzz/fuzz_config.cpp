// Fuzzes the TOML config loader: any input is either a Config or a ConfigError, never a
// crash, a hang or another exception type.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "server/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    (void)tlsresume::server::parseConfigText(text, "fuzz.toml");
  } catch (const tlsresume::server::ConfigError&) {
  } catch (...) {
    std::abort();
  }
  return 0;
}
