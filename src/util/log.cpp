#include "util/log.hpp"

#include <atomic>
#include <cstdio>

#include "util/redact.hpp"
#include "util/utf8.hpp"

namespace rb {

namespace {
std::atomic<bool> g_verbose{false};
}

void set_verbose(bool v) { g_verbose = v; }
bool verbose() { return g_verbose; }

void log_debug_line(const std::string& line) {
  std::string text = "rollback: debug: " + printable(redact(line), true) + "\n";
  std::fwrite(text.data(), 1, text.size(), stderr);
}

}  // namespace rb
