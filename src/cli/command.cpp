#include "cli/command.hpp"

#include "util/clock.hpp"

namespace rb::cli {

void add_global_options(CLI::App& sub, GlobalOptions& g) {
  sub.add_option("--config", g.config, "Configuration file (default: rollback.yaml here or in a parent folder)");
  sub.add_option("--output", g.output, "Output format: text or json")->check(CLI::IsMember({"text", "json"}));
  sub.add_flag("--yes,-y", g.yes, "Do not ask for confirmation (protected environments, destructive steps)");
  sub.add_flag("--dry-run", g.dry_run, "Show the exact plan and change nothing");
  sub.add_option("--timeout", g.timeout, "How long to wait for the result, e.g. 90s, 10m (default 10m)");
  sub.add_flag("--no-wait", g.no_wait, "Start the change and do not wait for it to finish");
  sub.add_flag("--verbose,-v", g.verbose, "Log every API call and command to stderr");
}

int execute(const GlobalOptions& g, bool needs_config, const std::function<Status(Context&)>& body) {
  auto ctx = needs_config ? Context::load(g) : Context::without_config(g);
  if (!ctx) {
    Output out(g.output == "json" ? OutputFormat::Json : OutputFormat::Text);
    out.error(ctx.error());
    return exit_code_of(ctx.error());
  }
  Status st = body(**ctx);
  if (!st) {
    Error e = st.take_error();
    if (interrupted() && e.code == ExitCode::Failed) e.code = ExitCode::Interrupted;
    // Credentials AWS refuses, or AWS not answering, before any rollback was recorded: nothing
    // was changed, and nothing will work until that is fixed. Exit 5, not "ran and failed".
    const ErrorCode cause = error_code_of(e);
    if (e.code == ExitCode::Failed && (*ctx)->out().rollback_id().empty() &&
        (cause == ErrorCode::Credentials || cause == ErrorCode::AwsUnreachable)) {
      e.code = ExitCode::CannotStart;
      e.hint = e.hint.empty() ? "nothing was changed" : e.hint + "; nothing was changed";
    }
    (*ctx)->out().error(e);
    return exit_code_of(e);
  }
  return 0;
}

void run_when_parsed(CLI::App& sub, const GlobalOptions& g, Action& action, bool needs_config,
                     std::function<Status(Context&)> body) {
  sub.callback([&g, &action, needs_config, body = std::move(body)] {
    action = [&g, needs_config, body] { return execute(g, needs_config, body); };
  });
}

}  // namespace rb::cli
