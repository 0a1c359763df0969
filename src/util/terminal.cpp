#include "util/terminal.hpp"

#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "util/clock.hpp"
#include "util/strings.hpp"

namespace rb {

bool stdin_is_terminal() { return isatty(STDIN_FILENO) == 1; }
bool stdout_is_terminal() { return isatty(STDOUT_FILENO) == 1; }
bool stderr_is_terminal() { return isatty(STDERR_FILENO) == 1; }

std::optional<std::string> prompt_line(const std::string& prompt) {
  std::fputs(prompt.c_str(), stderr);
  std::fflush(stderr);
  std::string line;
  if (!std::getline(std::cin, line) || interrupted()) return std::nullopt;
  return trim(line);
}

}  // namespace rb
