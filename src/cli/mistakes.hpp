// The mistakes a tired person makes on the command line, caught before CLI11 parses so they get
// an answer that says what was meant: a misspelt command is named with the closest one, and an
// environment given as a bare word (`rollback ecs prod`) is refused with the exact --env spelling.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "util/result.hpp"

namespace CLI {
class App;
}

namespace rb::cli {

// An error (exit 2, code "unknown_command" or "usage") for the first such mistake in `args`
// (argv without argv[0]); nullopt when there is none and CLI11 should parse as usual.
std::optional<Error> check_command_words(const CLI::App& app, const std::vector<std::string>& args);

}  // namespace rb::cli
