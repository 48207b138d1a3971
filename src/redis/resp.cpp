#include "redis/resp.hpp"

#include <hiredis/read.h>

#include <charconv>
#include <new>

namespace tlsresume::redis {
namespace {

void appendHeader(std::string& out, char kind, std::size_t n) {
  char digits[24];
  const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, n);
  out.push_back(kind);
  out.append(digits, end);
  out.append("\r\n", 2);
}

// ---- hiredis object callbacks -------------------------------------------------------------
// The root is heap-allocated and owned by the reader until redisReaderGetReply hands it over;
// every child lives inside its parent's `elements`. hiredis finishes a child before it starts
// the next sibling and never holds a pointer to a finished one, so growing the parent's vector
// (which moves earlier siblings) is safe. Returning null makes the reader fail with "Out of
// memory", which the link treats as a protocol error.
Reply* place(const redisReadTask* task) noexcept {
  if (!task->parent) return new (std::nothrow) Reply;
  auto* parent = static_cast<Reply*>(task->parent->obj);
  if (!parent || task->idx < 0 || static_cast<std::size_t>(task->idx) != parent->elements.size()) return nullptr;
  try {
    return &parent->elements.emplace_back();
  } catch (...) {
    return nullptr;
  }
}

void* createString(const redisReadTask* task, char* str, size_t len) noexcept {
  Reply* r = place(task);
  if (!r) return nullptr;
  switch (task->type) {
    case REDIS_REPLY_STATUS:
      r->type = Reply::Type::status;
      break;
    case REDIS_REPLY_ERROR:
      r->type = Reply::Type::error;
      break;
    default:
      r->type = Reply::Type::string;
      break;
  }
  try {
    r->str.assign(str, len);
  } catch (...) {
    if (!task->parent) delete r;  // a child stays in its parent and goes with the root
    return nullptr;
  }
  return r;
}

void* createArray(const redisReadTask* task, int elements) noexcept {
  Reply* r = place(task);
  if (!r) return nullptr;
  r->type = Reply::Type::array;
  // Reserve what a small reply needs; the rest grows as elements actually arrive.
  constexpr int kReserveAtMost = 64;
  try {
    r->elements.reserve(static_cast<std::size_t>(elements < kReserveAtMost ? elements : kReserveAtMost));
  } catch (...) {
    if (!task->parent) delete r;
    return nullptr;
  }
  return r;
}

void* createInteger(const redisReadTask* task, long long value) noexcept {
  Reply* r = place(task);
  if (!r) return nullptr;
  r->type = Reply::Type::integer;
  r->integer = value;
  return r;
}

void* createNil(const redisReadTask* task) noexcept {
  Reply* r = place(task);
  if (r) r->type = Reply::Type::nil;
  return r;
}

// hiredis frees only roots (r->reply), never a child on its own.
void freeObject(void* obj) noexcept { delete static_cast<Reply*>(obj); }

redisReplyObjectFunctions kReplyFunctions = {createString, createArray, createInteger, createNil, freeObject};

}  // namespace

void appendCommand(std::string& out, std::span<const std::string> args) {
  appendHeader(out, '*', args.size());
  for (const auto& arg : args) {
    appendHeader(out, '$', arg.size());
    out.append(arg);
    out.append("\r\n", 2);
  }
}

std::string encodeCommand(std::span<const std::string> args) {
  std::string out;
  appendCommand(out, args);
  return out;
}

ReplyReader::ReplyReader() : reader_(redisReaderCreateWithFunctions(&kReplyFunctions)) {
  if (!reader_) throw std::bad_alloc();
}

ReplyReader::~ReplyReader() { redisReaderFree(reader_); }

bool ReplyReader::feed(const char* data, std::size_t size) { return redisReaderFeed(reader_, data, size) == REDIS_OK; }

ReplyReader::Status ReplyReader::next(Reply& out) {
  void* obj = nullptr;
  if (redisReaderGetReply(reader_, &obj) != REDIS_OK) return Status::protocol_error;
  if (!obj) return Status::incomplete;
  std::unique_ptr<Reply> root(static_cast<Reply*>(obj));
  out = std::move(*root);
  return Status::reply;
}

std::string ReplyReader::error() const { return reader_->err ? std::string(reader_->errstr) : std::string(); }

std::size_t ReplyReader::buffered() const { return reader_->len - reader_->pos; }

}  // namespace tlsresume::redis
