// libFuzzer target: decodeFleetKeyRecord reads ticket key records that another server (or
// whoever can write to Redis) stored. Never a crash; what decodes has a valid schedule and
// 80 bytes of material, and re-encodes (unwrapped) to the same bytes.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "tlsresume/fleet_key_record.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto r = tlsresume::decodeFleetKeyRecord(input, nullptr);
  if (!r) return 0;
  if (!r->key.schedule.valid() || r->key.material.size() != tlsresume::kKeyMaterialBytes || !r->key.shared) {
    std::fputs("decoder accepted an inconsistent key record\n", stderr);
    std::abort();
  }
  if (tlsresume::encodeFleetKeyRecord(r->key, r->creator, nullptr) != input) {
    std::fputs("decode/encode round trip changed the bytes\n", stderr);
    std::abort();
  }
  return 0;
}
