#include "core/context.hpp"

#include <unistd.h>

#include <fmt/format.h>

#include "util/fs.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"
#include "util/terminal.hpp"

namespace rb {

namespace fs = std::filesystem;

Result<std::unique_ptr<Context>> Context::without_config(const GlobalOptions& g) {
  OutputFormat format;
  if (g.output == "text") format = OutputFormat::Text;
  else if (g.output == "json") format = OutputFormat::Json;
  else return usage_error(fmt::format("unknown --output '{}'", g.output), "use --output text or --output json");
  RB_TRY_ASSIGN(auto timeout, parse_duration(g.timeout));
  if (timeout.count() <= 0) return usage_error("--timeout must be positive", "e.g. --timeout 10m");
  set_verbose(g.verbose);
  return std::unique_ptr<Context>(new Context(g, Output(format), timeout));
}

Result<std::unique_ptr<Context>> Context::load(const GlobalOptions& g) {
  RB_TRY_ASSIGN(auto ctx, without_config(g));
  std::optional<fs::path> explicit_path;
  if (g.config) explicit_path = fs::path(*g.config);
  auto loaded = load_config(explicit_path, fs::current_path());
  if (!loaded) {
    Error e = loaded.take_error();
    // A bad file is a configuration error ("config"), not a bad command line.
    if (e.code == ExitCode::Usage && e.error_code == ErrorCode::Default) e.error_code = ErrorCode::Config;
    return e;
  }
  Config cfg = std::move(*loaded);
  log_debug("configuration: {}", cfg.file.string());
  ctx->config_ = std::move(cfg);
  return ctx;
}

Result<const EnvironmentConfig*> Context::environment(const std::string& name) const {
  if (name.empty()) {
    std::string names = config_ ? join(config_->environment_names(), ", ") : "";
    return usage_error("--env is required", fmt::format("name one of the environments: {}", names));
  }
  return config_->environment(name);
}

fs::path Context::state_dir() const { return default_state_dir(); }

fs::path Context::lock_dir() const {
  if (const char* d = getenv("ROLLBACK_LOCK_DIR"); d && *d) return d;
  return state_dir() / "locks";
}

fs::path Context::backup_dir() const {
  if (config_ && !config_->backup_dir.empty()) return config_->backup_dir;
  return state_dir() / "backups";
}

Result<Journal*> Context::journal() {
  if (!journal_) {
    fs::path path;
    if (const char* j = getenv("ROLLBACK_JOURNAL"); j && *j) path = j;
    else if (config_ && !config_->journal_path.empty()) path = config_->journal_path;
    else path = state_dir() / "journal.db";
    RB_TRY_ASSIGN(journal_, open_sqlite_journal(path));
  }
  return journal_.get();
}

Result<EnvironmentLock> Context::lock(const EnvironmentConfig& env) {
  LockHolder holder;
  holder.user = current_user();
  holder.host = current_host();
  holder.pid = static_cast<long>(getpid());
  holder.command = g_.command_line;
  holder.since = iso8601(clock_.wall_now());
  return EnvironmentLock::acquire(lock_dir(), config_->app, env.name, std::move(holder));
}

Result<std::unique_ptr<RollbackRecord>> RollbackRecord::begin(Context& ctx, EnvironmentLock& lock, JournalEntry entry) {
  RB_TRY_ASSIGN(Journal * journal, ctx.journal());
  if (entry.app.empty() && ctx.has_config()) entry.app = ctx.config().app;
  RB_TRY_ASSIGN(std::string id, journal->begin(std::move(entry)));
  lock.set_rollback_id(id);
  ctx.out().set_rollback_id(id);  // every JSON result and error from now on names it
  return std::unique_ptr<RollbackRecord>(new RollbackRecord(ctx, *journal, id));
}

RollbackRecord::~RollbackRecord() {
  if (!finished_) (void)finish(interrupted() ? kOutcomeInterrupted : kOutcomeFailed);
}

void RollbackRecord::event(const std::string& message) {
  ctx_.out().line(message);
  note(message);
}

void RollbackRecord::note(const std::string& message) {
  if (auto st = journal_.event(id_, message); !st) ctx_.out().warn(st.error().message);
}

void RollbackRecord::add_details(const nlohmann::json& details) {
  if (details.is_object()) details_.update(details);
}

Status RollbackRecord::finish(const std::string& outcome, const nlohmann::json& details) {
  finished_ = true;
  add_details(details);
  return journal_.finish(id_, outcome, details_);
}

Error RollbackRecord::fail(Error e) {
  note("error: " + e.message);
  const char* outcome = e.code == ExitCode::Interrupted ? kOutcomeInterrupted
                        : e.code == ExitCode::Refused   ? kOutcomeRefused
                                                        : kOutcomeFailed;
  nlohmann::json d = {{"error", e.message}};
  if (auto st = finish(outcome, d); !st) ctx_.out().warn(st.error().message);
  return e;
}

Status confirm_typed(Context& ctx, const std::string& expected, const std::string& question) {
  if (ctx.options().yes) return {};
  if (!stdin_is_terminal())
    return refusal(fmt::format("{} needs confirmation, and there is no terminal to ask", question),
                   "run it from a terminal, or pass --yes if you are sure (e.g. in CI)");
  auto answer = prompt_line(fmt::format("{}\nType '{}' to continue: ", question, expected));
  if (!answer) return interrupted_error("no confirmation given");
  if (*answer != expected)
    return refusal(fmt::format("confirmation did not match ('{}' expected): nothing was changed", expected));
  return {};
}

Status confirm_environment(Context& ctx, const EnvironmentConfig& env, const std::string& action) {
  if (!env.is_protected) return {};
  if (ctx.options().yes) return {};
  if (!stdin_is_terminal())
    return refusal(fmt::format("{} is a protected environment: {} needs confirmation, and there is no terminal to ask",
                               env.name, action),
                   fmt::format("run it from a terminal and type '{}' when asked, or pass --yes if you are sure", env.name));
  return confirm_typed(ctx, env.name, fmt::format("{} is a protected environment. About to {}.", env.name, action));
}

}  // namespace rb
