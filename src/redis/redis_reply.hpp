#pragma once
// A Redis reply as the fleet's code sees it, and how a command ended.
#include <string>
#include <vector>

namespace tlsresume::redis {

struct Reply {  // a copy of one reply tree
  enum class Type { string, array, integer, nil, status, error };
  Type type = Type::nil;
  std::string str;  // string, status, error; for a failure the link made up (nil): why
  long long integer = 0;
  std::vector<Reply> elements;
};

// error: link down, queue full, connection lost, or Redis answered an error (reply.type == error
// then; otherwise reply.type == nil and reply.str says why).
enum class Outcome { ok, timeout, error };

}  // namespace tlsresume::redis
