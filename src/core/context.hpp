// What every command needs: the global options, the configuration, output, the journal,
// the lock directory, a clock and a command runner. Built once per invocation.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "core/config.hpp"
#include "core/journal.hpp"
#include "core/lock.hpp"
#include "core/output.hpp"
#include "util/clock.hpp"
#include "util/process.hpp"

namespace rb {

// Default for --timeout: the AWS CLI waiter's 40 polls x 15 s, and ecspresso's default.
inline constexpr auto kDefaultTimeout = std::chrono::minutes(10);

struct GlobalOptions {
  std::optional<std::string> config;
  std::string output = "text";
  bool yes = false;
  bool dry_run = false;
  bool no_wait = false;
  bool verbose = false;
  std::string timeout = "10m";
  std::string command_line;  // for the lock holder and the journal
};

class Context {
 public:
  // Parses the global options and loads the configuration.
  static Result<std::unique_ptr<Context>> load(const GlobalOptions& g);
  // For commands that work without a configuration file (init, history of any app).
  static Result<std::unique_ptr<Context>> without_config(const GlobalOptions& g);

  const GlobalOptions& options() const { return g_; }
  const Config& config() const { return *config_; }
  bool has_config() const { return config_.has_value(); }
  Output& out() { return out_; }
  Clock& clock() { return clock_; }
  CommandRunner& runner() { return runner_; }
  std::chrono::milliseconds timeout() const { return timeout_; }

  Result<const EnvironmentConfig*> environment(const std::string& name) const;
  Result<Journal*> journal();
  std::filesystem::path state_dir() const;
  std::filesystem::path lock_dir() const;
  std::filesystem::path backup_dir() const;
  // Where an outcome the journal could not take is kept (one 0600 JSON file per rollback id)
  // until the next rollback of that environment records it.
  std::filesystem::path unrecorded_dir() const;

  // Takes the environment's lock for this invocation.
  Result<EnvironmentLock> lock(const EnvironmentConfig& env);
  // For a dry run: the errors lock() would return, without taking it.
  Status check_lock(const EnvironmentConfig& env);

 private:
  Context(GlobalOptions g, Output out, std::chrono::milliseconds timeout)
      : g_(std::move(g)), out_(out), timeout_(timeout) {}
  GlobalOptions g_;
  std::optional<Config> config_;
  Output out_;
  std::chrono::milliseconds timeout_;
  SystemClock clock_;
  SystemCommandRunner runner_;
  std::unique_ptr<Journal> journal_;
};

// One recorded rollback: its journal entry and the lock it runs under. Events go to the
// output and the journal. If it is destroyed without finish(), the entry is closed as
// interrupted (Ctrl-C) or failed, so the journal never shows a rollback "running" forever.
class RollbackRecord {
 public:
  static Result<std::unique_ptr<RollbackRecord>> begin(Context& ctx, EnvironmentLock& lock, JournalEntry entry);
  ~RollbackRecord();
  RollbackRecord(const RollbackRecord&) = delete;
  RollbackRecord& operator=(const RollbackRecord&) = delete;

  const std::string& id() const { return id_; }
  // Prints the line and records it as an event.
  void event(const std::string& message);
  // Records without printing.
  void note(const std::string& message);
  void add_details(const nlohmann::json& details);
  // add_details, written to the journal at once (a failure is a warning, as for note()).
  void checkpoint(const nlohmann::json& details);
  // Records the outcome. When the journal refuses it (disk full, read-only), the outcome is
  // saved to a sidecar file in Context::unrecorded_dir() for the next command to record, and the
  // error says what happened; for a succeeded rollback its code is ExitCode::NotRecorded and the
  // message says that the rollback itself DID succeed.
  Status finish(const std::string& outcome, const nlohmann::json& details = nlohmann::json::object());
  // Closes the record from an error: outcome derived from the error's exit code.
  Error fail(Error e);

 private:
  RollbackRecord(Context& ctx, Journal& journal, std::string id) : ctx_(ctx), journal_(journal), id_(std::move(id)) {}
  Context& ctx_;
  Journal& journal_;
  std::string id_;
  nlohmann::json details_ = nlohmann::json::object();
  bool finished_ = false;
};

// Closes the journal entries of `app`/`env` that say "running" but cannot be: called under the
// environment's lock, so no live rollback of this machine is running there. An entry with a
// sidecar file in `unrecorded_dir` gets the outcome saved there; any other entry of this host is
// closed as interrupted with a note. Returns one line per entry closed (for the output).
Result<std::vector<std::string>> reconcile_unfinished(Journal& journal, const std::filesystem::path& unrecorded_dir,
                                                      const std::string& app, const std::string& env,
                                                      const std::string& by_id);

// Confirmation for protected environments: the user types the environment's name.
// --yes skips it; without a terminal and without --yes it refuses (ExitCode::Refused).
Status confirm_environment(Context& ctx, const EnvironmentConfig& env, const std::string& action);
// Typed confirmation for a specific dangerous step (e.g. Terraform deletes), even on
// unprotected environments; --yes skips it.
Status confirm_typed(Context& ctx, const std::string& expected, const std::string& question);

}  // namespace rb
