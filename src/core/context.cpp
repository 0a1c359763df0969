#include "core/context.hpp"
#include "core/report.hpp"

#include <unistd.h>

#include <exception>

#include <fmt/format.h>

#include "aws/sts.hpp"
#include "core/identity.hpp"
#include "core/team_journal.hpp"
#include "core/team_lock.hpp"
#include "core/team_store.hpp"
#include "util/fs.hpp"
#include "util/log.hpp"
#include "util/redact.hpp"
#include "util/strings.hpp"
#include "util/terminal.hpp"

namespace rb {

namespace fs = std::filesystem;

Result<std::unique_ptr<Context>> Context::without_config(const GlobalOptions& g) {
  OutputFormat format;
  if (g.output == "text") format = OutputFormat::Text;
  else if (g.output == "json") format = OutputFormat::Json;
  else return usage_error(fmt::format("unknown --output '{}'", g.output), "use --output text or --output json");
  auto parsed_timeout = parse_duration(g.timeout);
  if (!parsed_timeout) {
    Error e = parsed_timeout.take_error();
    e.message = "--timeout: " + e.message;
    return e;
  }
  auto timeout = *parsed_timeout;
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
  if (cfg.team) register_notify_secrets(cfg.team->notify);
  ctx->config_ = std::move(cfg);
  return ctx;
}

Context::Context(GlobalOptions g, Output out, std::chrono::milliseconds timeout)
    : g_(std::move(g)), out_(out), timeout_(timeout) {}

Context::~Context() = default;

const std::vector<NotifyTarget>& Context::notify_targets() const {
  static const std::vector<NotifyTarget> none;
  return is_team() ? config_->team->notify : none;
}

Result<team::TeamStore*> Context::team_store() {
  if (!team_store_) {
    auto store = team::TeamStore::open(*config_, clock_);
    if (!store) return team::cannot_start(store.error(), config_->team->table, "use the team table");
    team_store_ = std::move(*store);
  }
  return team_store_.get();
}

Result<const EnvironmentConfig*> Context::environment(const std::string& name) const {
  if (name.empty()) {
    std::string names = config_ ? join(config_->environment_names(), ", ") : "";
    return usage_error("--env is required", fmt::format("name one of the environments: {}", names));
  }
  if (auto st = check_environment_name(name); !st) {
    Error e = st.take_error();
    e.message = "--env: " + e.message;
    return e;
  }
  RB_TRY_ASSIGN(const EnvironmentConfig* env, config_->environment(name));
  // A prod rollback from the wrong profile is refused here, before any command changes anything.
  RB_TRY(check_environment_account(*config_, *env));
  return env;
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

namespace {

fs::path journal_path_of(const std::optional<Config>& config, const fs::path& state_dir) {
  if (const char* j = getenv("ROLLBACK_JOURNAL"); j && *j) return j;
  if (config && !config->journal_path.empty()) return config->journal_path;
  return state_dir / "journal.db";
}

}  // namespace
fs::path Context::unrecorded_dir() const { return state_dir() / "unrecorded"; }

Result<Journal*> Context::journal() {
  if (!journal_ || journal_read_only_) {
    fs::path path = journal_path_of(config_, state_dir());
    RB_TRY_ASSIGN(auto local, open_sqlite_journal(path));
    journal_read_only_ = false;
    if (!is_team()) {
      journal_ = std::move(local);
      return journal_.get();
    }
    // Team mode: the local journal is the outbox; without the table, writes are queued.
    std::unique_ptr<team::TeamStore> store;
    if (auto opened = team::TeamStore::open(*config_, clock_)) store = std::move(*opened);
    else out_.warn(fmt::format("the team table {} cannot be used ({}): the journal is kept here and shared later",
                               config_->team->table, opened.error().message));
    RB_TRY_ASSIGN(auto team_journal,
                  team::TeamJournal::open(std::move(local), path, std::move(store), config_->app,
                                          config_->environment_names(), [this](const std::string& m) { out_.warn(m); }));
    journal_ = std::move(team_journal);
  }
  return journal_.get();
}

Result<Journal*> Context::journal_for_reading() {
  if (!journal_) {
    // Team mode reads the team's table through the team journal (its outbox is written then).
    if (is_team()) return journal();
    RB_TRY_ASSIGN(journal_, open_sqlite_journal_read_only(journal_path_of(config_, state_dir())));
    journal_read_only_ = true;
  }
  return journal_.get();
}

LockHolder Context::lock_holder() {
  LockHolder holder;
  holder.user = current_user();
  holder.host = current_host();
  holder.pid = static_cast<long>(getpid());
  holder.command = g_.command_line;
  holder.since = iso8601(is_team() ? team::wall_now(clock_) : clock_.wall_now());
  return holder;
}

Result<LockHandle> Context::lock(const EnvironmentConfig& env) {
  LockHolder holder = lock_holder();
  std::string note;
  if (is_team()) {
    if (!g_.local_lock) {
      RB_TRY_ASSIGN(team::TeamStore * store, team_store());
      // The environment's own credentials (its profile and region), asked once per process:
      // environment() has usually asked STS already for the account check.
      std::string identity;
      if (auto id = environment_identity(*config_, env)) identity = id->caller.arn;
      else log_debug("STS GetCallerIdentity failed: {}", id.error().message);
      RB_TRY_ASSIGN(auto held, team::acquire_team_lock(*store, clock_, config_->app, env.name, std::move(holder),
                                                       identity, config_->team->lease,
                                                       [this](const std::string& m) { out_.warn(m); }));
      return LockHandle(std::move(held));
    }
    note = fmt::format("--local-lock: the team lock in DynamoDB table {} was not taken; only this machine's file "
                       "lock protected {}",
                       config_->team->table, env.name);
    out_.warn(note);
  }
  fs::path dir = lock_dir();
  RB_TRY_ASSIGN(auto file_lock, EnvironmentLock::acquire(dir, config_->app, env.name, std::move(holder)));
  std::string where = "file lock " + EnvironmentLock::path_for(dir, config_->app, env.name).string();
  return LockHandle(std::make_unique<FileHeldLock>(std::move(file_lock), where), note);
}

Status Context::check_lock(const EnvironmentConfig& env) {
  return EnvironmentLock::check_available(lock_dir(), config_->app, env.name);
}

Result<std::unique_ptr<RollbackRecord>> RollbackRecord::begin(Context& ctx, LockHandle& lock, JournalEntry entry) {
  RB_TRY_ASSIGN(Journal * journal, ctx.journal());
  if (entry.app.empty() && ctx.has_config()) entry.app = ctx.config().app;
  if (!lock.override_note().empty()) entry.details["local_lock_override"] = true;
  RB_TRY_ASSIGN(std::string id, journal->begin(entry));
  lock.set_rollback_id(id);
  ctx.out().set_rollback_id(id);  // every JSON result and error from now on names it
  // We hold the environment's lock: an entry still "running" there is left by a process that
  // ended without recording its outcome. Closing it is best effort: it never stops this rollback.
  // A step of a release names its parent, which runs on under the same lock.
  const std::string parent =
      entry.details.is_object() && entry.details.contains("parent") && entry.details["parent"].is_string()
          ? entry.details["parent"].get<std::string>()
          : std::string();
  if (auto closed = reconcile_unfinished(*journal, ctx.unrecorded_dir(), entry.app, entry.env, id, parent);
      closed.ok()) {
    for (const auto& line : *closed) ctx.out().line(line);
  } else {
    ctx.out().warn(closed.error().message);
  }
  auto record = std::unique_ptr<RollbackRecord>(new RollbackRecord(ctx, *journal, id));
  record->started_ = ctx.clock().now();
  entry.id = id;
  if (entry.user.empty()) entry.user = current_user();
  if (entry.host.empty()) entry.host = current_host();
  if (entry.started_at.empty()) entry.started_at = iso8601(ctx.clock().wall_now());
  record->entry_ = std::move(entry);
  if (!lock.override_note().empty()) record->note(lock.override_note());
  record->announce("started", "");
  return record;
}

Result<std::unique_ptr<RollbackRecord>> RollbackRecord::reopen(Context& ctx, LockHandle& lock,
                                                              const JournalEntry& existing) {
  RB_TRY_ASSIGN(Journal * journal, ctx.journal());
  lock.set_rollback_id(existing.id);
  ctx.out().set_rollback_id(existing.id);
  auto record = std::unique_ptr<RollbackRecord>(new RollbackRecord(ctx, *journal, existing.id));
  record->started_ = ctx.clock().now();
  record->entry_ = existing;
  if (existing.details.is_object()) record->details_ = existing.details;
  return record;
}

namespace {

fs::path sidecar_path(const fs::path& dir, const std::string& id) { return dir / (id + ".json"); }

}  // namespace

Result<std::vector<std::string>> reconcile_unfinished(Journal& journal, const fs::path& unrecorded_dir,
                                                      const std::string& app, const std::string& env,
                                                      const std::string& by_id, const std::string& parent_id,
                                                      const std::string& closer_arg) {
  const std::string closer = closer_arg.empty() ? "rollback " + by_id : closer_arg;
  const std::string closed_by = closer_arg.empty() ? by_id : closer_arg;  // for the details: the id of a rollback
  JournalFilter f;
  f.app = app;
  f.env = env;
  f.outcome = kOutcomeRunning;
  RB_TRY_ASSIGN(auto entries, journal.list(f));
  std::vector<std::string> closed;
  const std::string host = current_host();
  for (const auto& e : entries) {
    if (e.id == by_id || (!parent_id.empty() && e.id == parent_id)) continue;
    fs::path sidecar = sidecar_path(unrecorded_dir, e.id);
    std::error_code ec;
    // Only a regular file (never a link planted there) holding this entry's id and a known outcome.
    if (fs::is_regular_file(fs::symlink_status(sidecar, ec))) {
      auto text = read_file(sidecar);
      auto j = text ? nlohmann::json::parse(*text, nullptr, false) : nlohmann::json();
      std::string outcome = j.is_object() && j.contains("outcome") && j["outcome"].is_string()
                                ? j["outcome"].get<std::string>()
                                : std::string();
      bool known = outcome == kOutcomeSucceeded || outcome == kOutcomeFailed || outcome == kOutcomeRefused ||
                   outcome == kOutcomeInterrupted || outcome == "started";
      if (j.is_object() && j.value("id", "") == e.id && known) {
        nlohmann::json details = j.value("details", nlohmann::json::object());
        details["recorded_late_by"] = closed_by;
        RB_TRY(journal.event(e.id, fmt::format("outcome {} recorded late by {} from {} (the journal could not "
                                               "take it when the rollback ended)",
                                               outcome, closer, sidecar.string())));
        RB_TRY(journal.finish(e.id, outcome, details));
        fs::remove(sidecar, ec);
        closed.push_back(fmt::format("rollback {} ended as {} but the journal could not record it then: recorded now",
                                     e.id, outcome));
        continue;
      }
    }
    // Without a sidecar: only entries of this machine, whose lock we hold, are known to be dead.
    if (e.host != host) continue;
    RB_TRY(journal.event(e.id, fmt::format("closed by {}: its process ended without recording an outcome "
                                           "(killed, or the journal failed); check what it changed with `rollback "
                                           "status --env {}`",
                                           closer, env)));
    RB_TRY(journal.finish(e.id, kOutcomeInterrupted, {{"closed_by", closed_by}, {"outcome_unknown", true}}));
    closed.push_back(fmt::format("rollback {} was left \"running\" by a process that is gone: recorded as interrupted "
                                 "(outcome unknown; `rollback history --id {}` shows how far it got)",
                                 e.id, e.id));
  }
  return closed;
}

RollbackRecord::~RollbackRecord() {
  // Destroyed by an exception unwinding the command (the boundary in cli/command.cpp reports
  // it): say so in the journal. Nothing here may throw while unwinding.
  try {
    if (!finished_) {
      if (std::uncaught_exceptions() > 0) note("error: internal error (an unexpected exception); the rollback stopped here");
      (void)finish(interrupted() ? kOutcomeInterrupted : kOutcomeFailed);
    }
    collect_announcements();
  } catch (...) {
  }
}

void RollbackRecord::announce(const std::string& phase, const std::string& failure) {
  if (ctx_.notify_targets().empty()) return;
  Notice n{phase, entry_, failure, -1};
  if (phase != "started")
    n.duration_seconds = std::chrono::duration<double>(ctx_.clock().now() - started_).count();
  n.entry.outcome = phase == "started" ? kOutcomeRunning : phase;
  n.entry.details = details_.empty() ? entry_.details : details_;
  announcements_.emplace_back(phase, send_notifications_async(ctx_.notify_targets(), std::move(n)));
}

void RollbackRecord::collect_announcements() {
  for (auto& [phase, pending] : announcements_) {
    if (!pending.valid()) continue;
    for (const auto& r : pending.get()) {
      std::string line = fmt::format("notification {} ({}) to {}: {}", phase, r.ok ? "delivered" : "NOT delivered",
                                     r.target, r.detail);
      if (!r.ok) ctx_.out().warn(line + " (the rollback is not affected)");
      note(line);
    }
  }
  announcements_.clear();
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

void RollbackRecord::checkpoint(const nlohmann::json& details) {
  add_details(details);
  if (auto st = journal_.update_details(id_, details_); !st) ctx_.out().warn(st.error().message);
}

void RollbackRecord::step(const std::string& message, const nlohmann::json& details) {
  add_details(details);
  if (auto st = journal_.step(id_, message, details_); !st) ctx_.out().warn(st.error().message);
}

Status RollbackRecord::finish(const std::string& outcome, const nlohmann::json& details) {
  finished_ = true;
  add_details(details);
  auto st = journal_.finish(id_, outcome, details_);
  announce(outcome == "started" ? "sent" : outcome, details_.is_object() ? details_.value("error", std::string()) : std::string());
  collect_announcements();
  if (st) {
    write_incident_report(outcome);
    return st;
  }
  Error journal_error = st.take_error();
  // The outcome is a fact now; keep it where the next command will find it.
  fs::path sidecar = sidecar_path(ctx_.unrecorded_dir(), id_);
  nlohmann::json saved = {{"id", id_}, {"outcome", outcome}, {"details", details_},
                          {"ended_at", iso8601(ctx_.clock().wall_now())}, {"journal_error", journal_error.message}};
  Status kept = ensure_state_dir(ctx_.unrecorded_dir());
  if (kept) kept = write_private_file(sidecar, redact(saved.dump()) + "\n");
  std::string where = kept ? fmt::format("the outcome was saved to {}; the next rollback of this environment records it",
                                         sidecar.string())
                           : fmt::format("saving it to {} failed too ({}), so the journal will show it as interrupted",
                                         sidecar.string(), kept.error().message);
  if (outcome != kOutcomeSucceeded) {
    return failure(fmt::format("rollback {} ended as {}, but recording that in the journal failed: {}; {}", id_, outcome,
                               journal_error.message, where),
                   "free disk space or fix the journal file's permissions (`rollback history` reads it)");
  }
  Error e{ExitCode::NotRecorded,
          fmt::format("the rollback {} DID succeed, but recording it in the journal failed: {}; {}", id_,
                      journal_error.message, where),
          fmt::format("do not roll back again: check the environment with `rollback status`, then free disk space or "
                      "fix the journal ({}) so it can be written",
                      journal_.location()),
          "not-recorded"};
  return e;
}

void RollbackRecord::write_incident_report(const std::string& outcome) {
  // Refused: nothing happened to production. "started" (--no-wait): the outcome is not known yet.
  if (outcome == kOutcomeRefused || outcome == "started" || !ctx_.has_config()) return;
  const EnvironmentConfig* env = nullptr;
  for (const auto& e : ctx_.config().environments)
    if (e.name == entry_.env) env = &e;
  if (!env || !env->is_protected) return;
  auto entry = journal_.get(id_);
  auto events = journal_.events(id_);
  if (!entry || !*entry || !events) return ctx_.out().warn("the incident report was not written: the journal could not be read back");
  ReportInput input;
  input.app = ctx_.config().app;
  input.env = env->name;
  input.is_protected = true;
  input.generated_at = iso8601(ctx_.clock().wall_now());
  input.timeline_file = id_ + ".svg";
  input.rollbacks.push_back({std::move(**entry), std::move(*events)});
  Report report = render_report(input);
  fs::path file = incident_report_file(ctx_.state_dir(), id_);
  fs::path dir = file.parent_path();
  Status st = ensure_state_dir(dir);
  if (st) st = write_private_file(dir / (id_ + ".svg"), report.svg);
  if (st) st = write_private_file(file, report.markdown);
  if (!st) return ctx_.out().warn("the incident report was not written: " + st.error().message);
  ctx_.out().attach("incident_report", file.string());
  ctx_.out().line(fmt::format("incident report: {} (`rollback report --env {} --since 24h` covers the whole incident)",
                              file.string(), env->name));
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
