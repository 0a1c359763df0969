// Shell completions (bash, zsh, fish) and the man page, generated from the CLI11 command
// definitions themselves, so they cannot drift from the commands: the build runs the hidden
// `rollback __complete SHELL` and `rollback __man` (or `__write-docs DIR`) and installs the output.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace CLI {
class App;
}

namespace rb::cli {

// The hidden commands, recognised in main before parsing; never listed in --help.
inline constexpr std::string_view kCompleteCommand = "__complete";
inline constexpr std::string_view kManCommand = "__man";
inline constexpr std::string_view kWriteDocsCommand = "__write-docs";

// The completion script for "bash", "zsh" or "fish"; nullopt for another shell.
std::optional<std::string> completion_script(const CLI::App& app, std::string_view shell);

// The man page (roff, section 1): every command with its description and options, the exit
// codes and the documented JSON error codes.
std::string man_page(const CLI::App& app, std::string_view version);

// Handles `rollback __complete SHELL`, `rollback __man` and `rollback __write-docs DIR` (which
// writes rollback.bash, _rollback, rollback.fish and rollback.1 into DIR); nullopt when `args`
// is not one of them, else the exit code.
std::optional<int> run_hidden_command(const CLI::App& app, const std::vector<std::string>& args, std::string_view version);

}  // namespace rb::cli
