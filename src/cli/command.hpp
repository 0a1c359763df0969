// The command table: each command lives in its own file under commands/, registers its
// subcommand and options struct, and runs through execute(), the one place that turns an
// error into `rollback: error: ...` and an exit code.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/context.hpp"

namespace rb::cli {

using Action = std::function<int()>;

// --config, --output, --yes, --dry-run, --timeout, --no-wait, --verbose on a subcommand.
void add_global_options(CLI::App& sub, GlobalOptions& g);

// The one way numeric options are added. The value is read as text and parsed with
// parse_decimal: decimal digits only ("0146" is 146, not octal; "0x66", "-1" for a count, "1e3"
// are refused) and within [min, max]. A bad value is a usage error at parse time (exit 2),
// before any configuration, lock or journal is touched; the message names the option and the
// range. `set` receives the checked value.
CLI::Option* add_number_option(CLI::App& sub, const std::string& name, std::function<void(long long)> set,
                               long long min, long long max, const std::string& description);

template <class T>
CLI::Option* add_number_option(CLI::App& sub, const std::string& name, T& target, long long min, long long max,
                               const std::string& description) {
  return add_number_option(
      sub, name, [&target](long long v) { target = static_cast<T>(v); }, min, max, description);
}

template <class T>
CLI::Option* add_number_option(CLI::App& sub, const std::string& name, std::optional<T>& target, long long min,
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
void run_when_parsed(CLI::App& sub, const GlobalOptions& g, Action& action, bool needs_config,
                     std::function<Status(Context&)> body);
// The same for commands that also work without a configuration file (history, report: a journal
// alone is enough). The file is loaded when --config names one or one is found from the current
// folder up, so a file that is there but broken is reported, not silently ignored.
void run_when_parsed_config_optional(CLI::App& sub, const GlobalOptions& g, Action& action,
                                     std::function<Status(Context&)> body);

void register_ecs(CLI::App& app, GlobalOptions& g, Action& action);
void register_app(CLI::App& app, GlobalOptions& g, Action& action);
void register_status(CLI::App& app, GlobalOptions& g, Action& action);
void register_history(CLI::App& app, GlobalOptions& g, Action& action);
void register_init(CLI::App& app, GlobalOptions& g, Action& action);
void register_unlock(CLI::App& app, GlobalOptions& g, Action& action);
void register_infra(CLI::App& app, GlobalOptions& g, Action& action);
void register_state(CLI::App& app, GlobalOptions& g, Action& action);
void register_db(CLI::App& app, GlobalOptions& g, Action& action);
// `rollback db pitr` (commands/db_pitr.cpp), a subcommand of `db`; returns it so that `db`'s own
// callback leaves the action to it.
CLI::App* register_db_pitr(CLI::App& db, GlobalOptions& g, Action& action);
void register_team(CLI::App& app, GlobalOptions& g, Action& action);
void register_notify(CLI::App& app, GlobalOptions& g, Action& action);
void register_report(CLI::App& app, GlobalOptions& g, Action& action);
void register_check(CLI::App& app, GlobalOptions& g, Action& action);
void register_diagnose(CLI::App& app, GlobalOptions& g, Action& action);
void register_release(CLI::App& app, GlobalOptions& g, Action& action);
void register_resume(CLI::App& app, GlobalOptions& g, Action& action);

}  // namespace rb::cli
