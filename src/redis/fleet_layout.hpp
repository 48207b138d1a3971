#pragma once
// Where a fleet keeps its state in Redis, under the operator's key_prefix P.
//
//   P:s:<store key>          one stored session (TLS 1.2 session id, TLS 1.3 stateful
//                            ticket): a StoredSession record, expiring with the session.
//                            The store key is binary (8 bytes of the host's session-id
//                            context, then the id): 40 bytes at most, shorter than hex.
//   {P}:keys                 hash: public key id -> FleetKeyRecord (ticket master keys)
//   {P}:lease                which node makes the fleet's next key (expires unless renewed)
//   {P}:revocations          hash: "id:HEX" | "host:NAME" | "before" -> Unix seconds
//   {P}:revocations:version  counter, bumped by every revocation: nodes poll it
//   {P}:nodes                hash: node name -> last heartbeat (Unix milliseconds)
//
// Sessions carry no hash tag, so on a Redis Cluster they spread over every slot; the
// fleet's control keys share the tag {P}, so they live in one slot and a script can
// touch several of them at once.
#include <string>
#include <string_view>

namespace tlsresume::redis {

struct FleetLayout {
  std::string prefix = "tlsresume";
  std::string session(std::string_view store_key) const {
    std::string k;
    k.reserve(prefix.size() + 3 + store_key.size());
    k.append(prefix).append(":s:").append(store_key);
    return k;
  }
  std::string tag() const { return "{" + prefix + "}"; }
  std::string keys() const { return tag() + ":keys"; }
  std::string lease() const { return tag() + ":lease"; }
  std::string revocations() const { return tag() + ":revocations"; }
  std::string revocationsVersion() const { return tag() + ":revocations:version"; }
  std::string nodes() const { return tag() + ":nodes"; }
};

}  // namespace tlsresume::redis
