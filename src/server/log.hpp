#pragma once
// Logging to stderr, one line per event. Never pass key material, session bytes or
// master secrets here: the log is the first place a secret leaks from.
#include <string>

namespace tlsresume::server {

enum class Level { debug = 0, info = 1, warn = 2, error = 3 };

void setLogLevel(Level level);
Level parseLevel(const std::string& name);
void log(Level level, const std::string& message);

}  // namespace tlsresume::server
