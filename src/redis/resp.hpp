#pragma once
// RESP2 on the wire: commands encoded as arrays of bulk strings, replies parsed by hiredis's
// redisReader straight into Reply trees.
#include <cstddef>
#include <memory>
#include <span>
#include <string>

#include "redis/redis_link.hpp"

struct redisReader;

namespace tlsresume::redis {

// Appends `*<n>\r\n` then `$<len>\r\n<arg>\r\n` per argument; binary-safe.
void appendCommand(std::string& out, std::span<const std::string> args);
std::string encodeCommand(std::span<const std::string> args);

// Incremental reply parser. Nodes are built in place by hiredis's object callbacks, so memory
// grows with the bytes received, never with the element count a header merely announces
// ("*2000000000\r\n" is 13 bytes, not 16 GB).
class ReplyReader {
 public:
  enum class Status { reply, incomplete, protocol_error };

  ReplyReader();
  ~ReplyReader();
  ReplyReader(const ReplyReader&) = delete;
  ReplyReader& operator=(const ReplyReader&) = delete;

  // False once the reader is in error (the stream cannot be resynchronised).
  bool feed(const char* data, std::size_t size);
  Status next(Reply& out);
  std::string error() const;     // after protocol_error: hiredis's reason
  std::size_t buffered() const;  // bytes received but not yet consumed by a complete reply

 private:
  redisReader* reader_;
};

}  // namespace tlsresume::redis
