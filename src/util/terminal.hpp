// The terminal: whether a person is there, and asking them.
#pragma once

#include <optional>
#include <string>

namespace rb {

bool stdin_is_terminal();
bool stdout_is_terminal();
bool stderr_is_terminal();
// Prints `prompt` to stderr and reads one line from stdin; nullopt at end of input or on Ctrl-C.
std::optional<std::string> prompt_line(const std::string& prompt);

}  // namespace rb
