#include "tlsresume/fleet_key_record.hpp"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <algorithm>
#include <memory>
#include <stdexcept>

#include "tlsresume/crypto.hpp"

namespace tlsresume {
namespace {

constexpr std::uint8_t kWrapped = 1;
constexpr std::size_t kIvBytes = crypto::kGcmIvBytes;
constexpr std::size_t kTagBytes = crypto::kGcmTagBytes;
constexpr std::size_t kFixed = 1 + 1 + 4 * 8 + 1;
constexpr std::uint64_t kMaxSeconds = 9'000'000'000ull;  // beyond: refused, TimePoint ends in 2262

void putTime(std::string& out, TimePoint t) {
  const auto s = std::max<std::int64_t>(0, std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count());
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>((static_cast<std::uint64_t>(s) >> shift) & 0xff));
}

std::optional<TimePoint> getTime(std::string_view in) noexcept {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(in[i]);
  if (v > kMaxSeconds) return std::nullopt;
  return TimePoint{std::chrono::seconds{static_cast<std::int64_t>(v)}};
}

// AES-256-GCM over the material; aad authenticates the header. out: IV | ct | tag.
bool seal(const KeyWrap& wrap, std::string_view aad, const unsigned char* in, std::string& out) {
  unsigned char iv[kIvBytes];
  unsigned char ct[kKeyMaterialBytes];
  unsigned char tag[kTagBytes];
  if (RAND_bytes(iv, sizeof iv) != 1 || !crypto::aes256GcmSeal(wrap.key(), iv, aad, in, kKeyMaterialBytes, ct, tag))
    return false;
  out.append(reinterpret_cast<const char*>(iv), sizeof iv);
  out.append(reinterpret_cast<const char*>(ct), sizeof ct);
  out.append(reinterpret_cast<const char*>(tag), sizeof tag);
  return true;
}

bool open(const KeyWrap& wrap, std::string_view aad, std::string_view payload, unsigned char* out) noexcept {
  if (payload.size() != kIvBytes + kKeyMaterialBytes + kTagBytes) return false;
  const auto* p = reinterpret_cast<const unsigned char*>(payload.data());
  return crypto::aes256GcmOpen(wrap.key(), p, aad, p + kIvBytes, kKeyMaterialBytes, p + kIvBytes + kKeyMaterialBytes,
                               out);
}

int hexDigit(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

KeyWrap::KeyWrap(SecureBuffer key) : key_(std::move(key)) {
  if (key_.size() != kKeyWrapBytes) throw std::invalid_argument("a key wrap key is 32 bytes");
}

KeyWrap KeyWrap::fromFileContents(std::string_view contents) {
  SecureBuffer key(kKeyWrapBytes);
  if (contents.size() == kKeyWrapBytes) {
    std::copy(contents.begin(), contents.end(), key.data());
    return KeyWrap(std::move(key));
  }
  while (!contents.empty() && std::isspace(static_cast<unsigned char>(contents.back()))) contents.remove_suffix(1);
  while (!contents.empty() && std::isspace(static_cast<unsigned char>(contents.front()))) contents.remove_prefix(1);
  if (contents.size() != 2 * kKeyWrapBytes)
    throw std::invalid_argument("expected 32 bytes or 64 hex digits (e.g. from: openssl rand -hex 32)");
  for (std::size_t i = 0; i < kKeyWrapBytes; ++i) {
    const int hi = hexDigit(contents[2 * i]);
    const int lo = hexDigit(contents[2 * i + 1]);
    if (hi < 0 || lo < 0) throw std::invalid_argument("expected 32 bytes or 64 hex digits (e.g. from: openssl rand -hex 32)");
    key.data()[i] = static_cast<unsigned char>(hi << 4 | lo);
  }
  if (std::all_of(key.data(), key.data() + kKeyWrapBytes, [](unsigned char b) { return b == 0; }))
    throw std::invalid_argument("an all-zero wrap key protects nothing");
  return KeyWrap(std::move(key));
}

std::string encodeFleetKeyRecord(const MasterKey& key, std::string_view creator, const KeyWrap* wrap) {
  if (key.material.size() != kKeyMaterialBytes) return {};
  creator = creator.substr(0, 255);
  std::string out;
  out.reserve(kFixed + creator.size() + kIvBytes + kKeyMaterialBytes + kTagBytes);
  out.push_back(static_cast<char>(kFleetKeyRecordVersion));
  out.push_back(static_cast<char>(wrap ? kWrapped : 0));
  putTime(out, key.schedule.created_at);
  putTime(out, key.schedule.current_from);
  putTime(out, key.schedule.current_until);
  putTime(out, key.schedule.erase_at);
  out.push_back(static_cast<char>(creator.size()));
  out.append(creator);
  if (wrap) {
    const std::string aad = out;
    if (!seal(*wrap, aad, key.material.data(), out)) return {};
  } else {
    out.append(reinterpret_cast<const char*>(key.material.data()), kKeyMaterialBytes);
  }
  return out;
}

std::optional<FleetKeyRecord> decodeFleetKeyRecord(std::string_view in, const KeyWrap* wrap) noexcept {
  try {
    if (in.size() < kFixed || static_cast<std::uint8_t>(in[0]) != kFleetKeyRecordVersion) return std::nullopt;
    const auto flags = static_cast<std::uint8_t>(in[1]);
    if (flags > kWrapped || (flags == kWrapped) != (wrap != nullptr)) return std::nullopt;
    KeySchedule s;
    const auto created = getTime(in.substr(2, 8));
    const auto from = getTime(in.substr(10, 8));
    const auto until = getTime(in.substr(18, 8));
    const auto erase = getTime(in.substr(26, 8));
    if (!created || !from || !until || !erase) return std::nullopt;
    s = KeySchedule{*created, *from, *until, *erase};
    if (!s.valid()) return std::nullopt;
    const std::size_t creator_len = static_cast<unsigned char>(in[34]);
    if (in.size() < kFixed + creator_len) return std::nullopt;
    const std::string_view header = in.substr(0, kFixed + creator_len);
    const std::string_view payload = in.substr(kFixed + creator_len);
    FleetKeyRecord r{MasterKey{SecureBuffer(kKeyMaterialBytes), s, true}, std::string(in.substr(kFixed, creator_len))};
    if (wrap) {
      if (!open(*wrap, header, payload, r.key.material.data())) return std::nullopt;
    } else {
      if (payload.size() != kKeyMaterialBytes) return std::nullopt;
      std::copy(payload.begin(), payload.end(), r.key.material.data());
    }
    return r;
  } catch (...) {
    return std::nullopt;
  }
}

}  // namespace tlsresume
