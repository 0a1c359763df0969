// The command table: each command lives in its own file under commands/, registers its
// subcommand and options struct, and runs through execute(), the one place that turns an
// error into `rollback: error: ...` and an exit code.
//
// Command files describe their options through Subcommand and OptionRef below, never through
// CLI11 itself: CLI11 (header-only in Debian 12) costs about 8 s of compile time in every file
// that includes it, so only command.cpp (and main.cpp, completion.cpp, mistakes.cpp, which read
// the parsed tree) include it (docs/BUILD.md).
#pragma once

#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/context.hpp"

namespace CLI {
class App;
class Option;
}  // namespace CLI

namespace rb::cli {

using Action = std::function<int()>;

// One option of a subcommand, as added by Subcommand; each call returns the same option.
class OptionRef {
 public:
  explicit OptionRef(CLI::Option* option) : option_(option) {}
  // Parsing fails (exit 2) when the option is missing.
  OptionRef& required();
  // Values may also be given as one word separated by `sep` ("a,b,c").
  OptionRef& delimiter(char sep);
  // Parsing fails when both are given.
  OptionRef& excludes(const OptionRef& other);
  // Parsing fails unless the value is one of `values`; the message lists them.
  OptionRef& one_of(std::initializer_list<std::string> values);
  OptionRef& type_name(const std::string& name);

 private:
  CLI::Option* option_;
};

// A command or subcommand being described: its options, flags and subcommands. A thin handle
// on the parser's node; copies refer to the same node.
class Subcommand {
 public:
  explicit Subcommand(CLI::App* app) : app_(app) {}

  Subcommand add_subcommand(const std::string& name, const std::string& description);
  // Between `min` and `max` subcommands must be given (max 0: no upper bound).
  void require_subcommand(int min, int max = 0);

  // `name` is "--long,-s", or a bare word for a positional argument.
  OptionRef add_option(const std::string& name, std::string& target, const std::string& description);
  OptionRef add_option(const std::string& name, std::optional<std::string>& target, const std::string& description);
  OptionRef add_option(const std::string& name, std::vector<std::string>& target, const std::string& description);
  OptionRef add_flag(const std::string& name, bool& target, const std::string& description);

  // Runs `done` once the command line is parsed, when this subcommand was given.
  void on_parsed(std::function<void()> done);
  // Whether this subcommand was given on the command line (after parsing).
  bool parsed() const;

  CLI::App& app() const { return *app_; }

 private:
  CLI::App* app_;
};

// --config, --output, --yes, --dry-run, --timeout, --no-wait, --verbose on a subcommand.
void add_global_options(Subcommand sub, GlobalOptions& g);

// The one way numeric options are added. The value is read as text and parsed with
// parse_decimal: decimal digits only ("0146" is 146, not octal; "0x66", "-1" for a count, "1e3"
// are refused) and within [min, max]. A bad value is a usage error at parse time (exit 2),
// before any configuration, lock or journal is touched; the message names the option and the
// range. `set` receives the checked value.
OptionRef add_number_option(Subcommand sub, const std::string& name, std::function<void(long long)> set,
                               long long min, long long max, const std::string& description);

template <class T>
OptionRef add_number_option(Subcommand sub, const std::string& name, T& target, long long min, long long max,
                               const std::string& description) {
  return add_number_option(
      sub, name, [&target](long long v) { target = static_cast<T>(v); }, min, max, description);
}

template <class T>
OptionRef add_number_option(Subcommand sub, const std::string& name, std::optional<T>& target, long long min,
                               long long max, const std::string& description) {
  return add_number_option(
      sub, name, [&target](long long v) { target = static_cast<T>(v); }, min, max, description);
}

// `--since DURATION` as the ISO-8601 UTC time that long before now (JournalFilter::since). A
// value that is not a positive duration is a usage error; `example` is the hint ("e.g. ...").
Result<std::string> since_cutoff(const std::string& since, const std::string& example);

// Builds the context (with or without the configuration file), runs `body`, reports its
// error if any, and returns the exit code.
int execute(const GlobalOptions& g, bool needs_config, const std::function<Status(Context&)>& body);

// When `sub` is the parsed command, sets `action` to execute(g, needs_config, body).
void run_when_parsed(Subcommand sub, const GlobalOptions& g, Action& action, bool needs_config,
                     std::function<Status(Context&)> body);
// The same for commands that also work without a configuration file (history, report: a journal
// alone is enough). The file is loaded when --config names one or one is found from the current
// folder up, so a file that is there but broken is reported, not silently ignored.
void run_when_parsed_config_optional(Subcommand sub, const GlobalOptions& g, Action& action,
                                     std::function<Status(Context&)> body);

void register_ecs(Subcommand app, GlobalOptions& g, Action& action);
void register_app(Subcommand app, GlobalOptions& g, Action& action);
void register_status(Subcommand app, GlobalOptions& g, Action& action);
void register_history(Subcommand app, GlobalOptions& g, Action& action);
void register_init(Subcommand app, GlobalOptions& g, Action& action);
void register_unlock(Subcommand app, GlobalOptions& g, Action& action);
void register_infra(Subcommand app, GlobalOptions& g, Action& action);
void register_state(Subcommand app, GlobalOptions& g, Action& action);
void register_db(Subcommand app, GlobalOptions& g, Action& action);
// `rollback db pitr` (commands/db_pitr.cpp), a subcommand of `db`; returns it so that `db`'s own
// callback leaves the action to it.
Subcommand register_db_pitr(Subcommand db, GlobalOptions& g, Action& action);
void register_team(Subcommand app, GlobalOptions& g, Action& action);
void register_notify(Subcommand app, GlobalOptions& g, Action& action);
void register_report(Subcommand app, GlobalOptions& g, Action& action);
void register_check(Subcommand app, GlobalOptions& g, Action& action);
void register_diagnose(Subcommand app, GlobalOptions& g, Action& action);
void register_release(Subcommand app, GlobalOptions& g, Action& action);
void register_resume(Subcommand app, GlobalOptions& g, Action& action);

}  // namespace rb::cli
