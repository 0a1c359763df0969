// rollback: the runbook's rollback procedures as safe, fast, audited commands.
#include <CLI/CLI.hpp>

#include <cstring>
#include <string>
#include <vector>

#include "cli/command.hpp"
#include "cli/completion.hpp"
#include "cli/mistakes.hpp"
#include "core/output.hpp"
#include "util/clock.hpp"
#include "util/strings.hpp"

namespace {

// The commit this binary was built from: `git describe` at configure time (CMakeLists.txt),
// "unknown" outside a git checkout.
#ifndef ROLLBACK_COMMIT
#define ROLLBACK_COMMIT "unknown"
#endif

bool json_requested(const std::vector<std::string>& args) {
  for (size_t i = 0; i + 1 < args.size(); ++i)
    if (args[i] == "--output" && args[i + 1] == "json") return true;
  for (const auto& a : args)
    if (a == "--output=json") return true;
  return false;
}

// Prints a command-line mistake the same way every other error is printed, exit code 2.
int report_usage_error(const rb::Error& e, const std::vector<std::string>& args) {
  rb::Output out(json_requested(args) ? rb::OutputFormat::Json : rb::OutputFormat::Text);
  out.error(e);
  return static_cast<int>(rb::ExitCode::Usage);
}

// Prints a command-line parse error the same way every other error is printed, exit code 2.
int report_parse_error(const CLI::App& app, const CLI::ParseError& e, const std::vector<std::string>& args) {
  bool json = json_requested(args);
  std::string hint = "run `rollback --help` or `rollback COMMAND --help`";
  std::vector<std::string> names;
  for (const auto* sub : app.get_subcommands({})) names.push_back(sub->get_name());
  if (!args.empty() && args[0][0] != '-' && std::find(names.begin(), names.end(), args[0]) == names.end()) {
    if (auto close = rb::closest_match(args[0], names))
      hint = "did you mean `rollback " + *close + "`?";
    else
      hint = "commands: " + rb::join(names, ", ");
  }
  rb::Output out(json ? rb::OutputFormat::Json : rb::OutputFormat::Text);
  out.error(rb::usage_error(e.what(), hint));
  return static_cast<int>(rb::ExitCode::Usage);
}

}  // namespace

int main(int argc, char** argv) {
  rb::install_interrupt_handlers();
  std::vector<std::string> args(argv + 1, argv + argc);

  // Named, so --help says `rollback`, not the path it was run from.
  CLI::App app{"rollback: the runbook's rollback procedures as safe, fast, audited commands.\n"
               "Every command shows its plan first, supports --dry-run, confirms protected environments,\n"
               "holds a per-environment lock and records what it did in the journal.",
               "rollback"};
  const std::string version = std::string(ROLLBACK_VERSION) + " (commit " + ROLLBACK_COMMIT + ")";
  app.set_version_flag("--version", "rollback " + version);
  app.require_subcommand(1);
  app.failure_message(CLI::FailureMessage::simple);

  rb::GlobalOptions g;
  g.command_line = "rollback " + rb::join(args, " ");
  rb::cli::Action action;
  rb::cli::Subcommand root(&app);
  rb::cli::register_ecs(root, g, action);
  rb::cli::register_app(root, g, action);
  rb::cli::register_infra(root, g, action);
  rb::cli::register_release(root, g, action);
  rb::cli::register_resume(root, g, action);
  rb::cli::register_state(root, g, action);
  rb::cli::register_status(root, g, action);
  rb::cli::register_history(root, g, action);
  rb::cli::register_report(root, g, action);
  rb::cli::register_check(root, g, action);
  rb::cli::register_diagnose(root, g, action);
  rb::cli::register_unlock(root, g, action);
  rb::cli::register_db(root, g, action);
  rb::cli::register_init(root, g, action);
  rb::cli::register_team(root, g, action);
  rb::cli::register_notify(root, g, action);

  if (auto code = rb::cli::run_hidden_command(app, args, version)) return *code;
  if (auto mistake = rb::cli::check_command_words(app, args)) return report_usage_error(*mistake, args);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return report_parse_error(app, e, args);
  }
  if (!action) return static_cast<int>(rb::ExitCode::Usage);
  // Commands run inside execute()'s exception boundary; this one catches what happens
  // around it (a command's own setup), so nothing ends the process with an abort.
  try {
    return action();
  } catch (const std::exception& e) {
    rb::Output out(g.output == "json" ? rb::OutputFormat::Json : rb::OutputFormat::Text);
    out.error(rb::failure(std::string("internal error: ") + e.what(), "this is a bug in rollback; please report it"));
    return static_cast<int>(rb::ExitCode::Failed);
  }
}
