// Diagnostic logging to stderr (--verbose). Every message is redacted.
#pragma once

#include <fmt/format.h>

#include <string>

namespace rb {

void set_verbose(bool verbose);
bool verbose();
void log_debug_line(const std::string& line);

template <typename... Args>
void log_debug(fmt::format_string<Args...> format, Args&&... args) {
  if (!verbose()) return;
  log_debug_line(fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace rb
