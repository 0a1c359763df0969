// The command table: each command lives in its own file under commands/, registers its
// subcommand and options struct, and runs through execute(), the one place that turns an
// error into `rollback: error: ...` and an exit code.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <memory>

#include "core/context.hpp"

namespace rb::cli {

using Action = std::function<int()>;

// --config, --output, --yes, --dry-run, --timeout, --no-wait, --verbose on a subcommand.
void add_global_options(CLI::App& sub, GlobalOptions& g);

// Builds the context (with or without the configuration file), runs `body`, reports its
// error if any, and returns the exit code.
int execute(const GlobalOptions& g, bool needs_config, const std::function<Status(Context&)>& body);

// When `sub` is the parsed command, sets `action` to execute(g, needs_config, body).
void run_when_parsed(CLI::App& sub, const GlobalOptions& g, Action& action, bool needs_config,
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
void register_team(CLI::App& app, GlobalOptions& g, Action& action);
void register_notify(CLI::App& app, GlobalOptions& g, Action& action);

}  // namespace rb::cli
