#include "cli/command.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <exception>

#include "util/clock.hpp"
#include "util/strings.hpp"
#include "util/utf8.hpp"

namespace rb::cli {

OptionRef& OptionRef::required() {
  option_->required();
  return *this;
}

OptionRef& OptionRef::delimiter(char sep) {
  option_->delimiter(sep);
  return *this;
}

OptionRef& OptionRef::excludes(const OptionRef& other) {
  option_->excludes(other.option_);
  return *this;
}

OptionRef& OptionRef::one_of(std::initializer_list<std::string> values) {
  option_->check(CLI::IsMember(std::vector<std::string>(values)));
  return *this;
}

OptionRef& OptionRef::type_name(const std::string& name) {
  option_->type_name(name);
  return *this;
}

Subcommand Subcommand::add_subcommand(const std::string& name, const std::string& description) {
  return Subcommand(app_->add_subcommand(name, description));
}

void Subcommand::require_subcommand(int min, int max) {
  app_->require_subcommand(static_cast<std::size_t>(min), static_cast<std::size_t>(max));
}

OptionRef Subcommand::add_option(const std::string& name, std::string& target, const std::string& description) {
  return OptionRef(app_->add_option(name, target, description));
}

OptionRef Subcommand::add_option(const std::string& name, std::optional<std::string>& target,
                                 const std::string& description) {
  return OptionRef(app_->add_option(name, target, description));
}

OptionRef Subcommand::add_option(const std::string& name, std::vector<std::string>& target,
                                 const std::string& description) {
  return OptionRef(app_->add_option(name, target, description));
}

OptionRef Subcommand::add_flag(const std::string& name, bool& target, const std::string& description) {
  return OptionRef(app_->add_flag(name, target, description));
}

void Subcommand::on_parsed(std::function<void()> done) { app_->callback(std::move(done)); }

bool Subcommand::parsed() const { return app_->parsed(); }

void add_global_options(Subcommand sub, GlobalOptions& g) {
  sub.add_option("--config", g.config, "Configuration file (default: rollback.yaml here or in a parent folder)");
  sub.add_option("--output", g.output, "Output format: text or json").one_of({"text", "json"});
  sub.add_flag("--yes,-y", g.yes, "Do not ask for confirmation (protected environments, destructive steps)");
  sub.add_flag("--dry-run", g.dry_run, "Show the exact plan and change nothing");
  sub.add_option("--timeout", g.timeout, "How long to wait for the result, e.g. 90s, 10m (default 10m)");
  sub.add_flag("--no-wait", g.no_wait, "Start the change and do not wait for it to finish");
  sub.add_flag("--verbose,-v", g.verbose, "Log every API call and command to stderr");
  sub.add_flag("--local-lock", g.local_lock,
               "Team mode: take this machine's file lock instead of the team lock on DynamoDB (journaled)");
}

OptionRef add_number_option(Subcommand sub, const std::string& name, std::function<void(long long)> set,
                               long long min, long long max, const std::string& description) {
  // "--pr" from "--pr,-p": how the option is named in messages.
  std::string shown = name.substr(0, name.find(','));
  auto* option = sub.app().add_option_function<std::string>(
      name,
      [set = std::move(set), shown, min, max](const std::string& text) {
        auto value = parse_decimal(text, min, max, shown);
        if (!value) {
          const Error& e = value.error();
          throw CLI::ValidationError(printable_inline(e.message) + "; " + e.hint, CLI::ExitCodes::ValidationError);
        }
        set(*value);
      },
      description);
  option->type_name("N");
  return OptionRef(option);
}

namespace {

// What a command that threw becomes: an error like any other, exit code 1. The exception
// unwound the command first, so its lock is released and its journal entry (if it had begun
// one) is closed as failed; the message says so.
Error internal_error(const std::string& what) {
  return failure(fmt::format("internal error: {}", what),
                 "this is a bug in rollback; anything it recorded is closed as failed in the journal and the "
                 "environment's lock is released. Check `rollback status` and report the command line that caused it");
}

int report(const GlobalOptions& g, Context* ctx, Error e) {
  if (interrupted() && e.code == ExitCode::Failed) e.code = ExitCode::Interrupted;
  if (ctx) {
    // Credentials AWS refuses, or AWS not answering, before any rollback was recorded: nothing
    // was changed, and nothing will work until that is fixed. Exit 5, not "ran and failed".
    const ErrorCode cause = error_code_of(e);
    if (e.code == ExitCode::Failed && ctx->out().rollback_id().empty() &&
        (cause == ErrorCode::Credentials || cause == ErrorCode::AwsUnreachable)) {
      e.code = ExitCode::CannotStart;
      e.hint = e.hint.empty() ? "nothing was changed" : e.hint + "; nothing was changed";
    }
    ctx->out().error(e);
  } else {
    Output out(g.output == "json" ? OutputFormat::Json : OutputFormat::Text);
    out.error(e);
  }
  return exit_code_of(e);
}

int execute_unguarded(const GlobalOptions& g, bool needs_config, const std::function<Status(Context&)>& body,
                      std::unique_ptr<Context>& ctx) {
  auto loaded = needs_config ? Context::load(g) : Context::without_config(g);
  if (!loaded) return report(g, nullptr, loaded.take_error());
  ctx = std::move(*loaded);
  Status st = body(*ctx);
  if (!st) return report(g, ctx.get(), st.take_error());
  return 0;
}

}  // namespace

int execute(const GlobalOptions& g, bool needs_config, const std::function<Status(Context&)>& body) {
  // The one boundary between commands and exceptions: nothing thrown below (std::out_of_range,
  // nlohmann::json errors, std::bad_alloc, ...) may end the process with a lock left behind.
  std::unique_ptr<Context> ctx;
  try {
    return execute_unguarded(g, needs_config, body, ctx);
  } catch (const std::exception& ex) {
    return report(g, ctx.get(), internal_error(ex.what()));
  } catch (...) {
    return report(g, ctx.get(), internal_error("an unknown exception"));
  }
}

void run_when_parsed(Subcommand sub, const GlobalOptions& g, Action& action, bool needs_config,
                     std::function<Status(Context&)> body) {
  sub.on_parsed([&g, &action, needs_config, body = std::move(body)] {
    action = [&g, needs_config, body] { return execute(g, needs_config, body); };
  });
}

Result<std::string> since_cutoff(const std::string& since, const std::string& example) {
  auto window = parse_duration(since);
  if (!window || window->count() <= 0) return usage_error(fmt::format("--since '{}' is not a duration", since), example);
  return iso8601(std::chrono::system_clock::now() - std::chrono::duration_cast<std::chrono::system_clock::duration>(*window));
}

void run_when_parsed_config_optional(Subcommand sub, const GlobalOptions& g, Action& action,
                                     std::function<Status(Context&)> body) {
  sub.on_parsed([&g, &action, body = std::move(body)] {
    action = [&g, body] {
      bool has_config = g.config.has_value() || find_config_file(std::filesystem::current_path()).has_value();
      return execute(g, has_config, body);
    };
  });
}

}  // namespace rb::cli
