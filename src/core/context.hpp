// What every command needs: the global options, the configuration, output, the journal,
// the lock directory, a clock and a command runner. Built once per invocation.
#pragma once

#include <chrono>
#include <filesystem>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/held_lock.hpp"
#include "core/journal.hpp"
#include "core/lock.hpp"
#include "core/notify.hpp"
#include "core/output.hpp"
#include "util/clock.hpp"
#include "util/process.hpp"

namespace rb {

namespace team {
class TeamStore;
}

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
  bool local_lock = false;   // team mode: take this machine's file lock, not the team lock (journaled)
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
  // The journal for commands that only read it (history, status): opened read-only, so they
  // work when the journal's file or folder is not writable. The writable one if already open.
  Result<Journal*> journal_for_reading();
  std::filesystem::path state_dir() const;
  std::filesystem::path lock_dir() const;
  std::filesystem::path backup_dir() const;
  // Where an outcome the journal could not take is kept (one 0600 JSON file per rollback id)
  // until the next rollback of that environment records it.
  std::filesystem::path unrecorded_dir() const;

  // Takes the environment's lock for this invocation: the team lock on DynamoDB when the
  // configuration has `team:` (unless --local-lock), else the file lock.
  Result<LockHandle> lock(const EnvironmentConfig& env);
  // Who this invocation is, as a lock records it: user, host, pid, command line, since now.
  LockHolder lock_holder();
  // Team mode (`team:` in rollback.yaml).
  bool is_team() const { return config_ && config_->team.has_value(); }
  // The team table's client, opened once; exit 5 (CannotStart) when it cannot be set up.
  Result<team::TeamStore*> team_store();
  // Where announcements go (`team.notify`); empty without team mode.
  const std::vector<NotifyTarget>& notify_targets() const;
  ~Context();
  // For a dry run: the errors lock() would return, without taking it (the file lock).
  Status check_lock(const EnvironmentConfig& env);

 private:
  Context(GlobalOptions g, Output out, std::chrono::milliseconds timeout);
  GlobalOptions g_;
  std::optional<Config> config_;
  Output out_;
  std::chrono::milliseconds timeout_;
  SystemClock clock_;
  SystemCommandRunner runner_;
  std::unique_ptr<Journal> journal_;
  std::unique_ptr<team::TeamStore> team_store_;
  bool journal_read_only_ = false;
};

// One recorded rollback: its journal entry and the lock it runs under. Events go to the
// output and the journal. If it is destroyed without finish(), the entry is closed as
// interrupted (Ctrl-C) or failed, so the journal never shows a rollback "running" forever.
class RollbackRecord {
 public:
  static Result<std::unique_ptr<RollbackRecord>> begin(Context& ctx, LockHandle& lock, JournalEntry entry);
  // Takes up an entry that already is in the journal (a release continued by `rollback resume`):
  // its outcome stays as it was until finish() or fail() records the new one, and its details
  // are kept (add_details/checkpoint merge into them). Events are appended.
  static Result<std::unique_ptr<RollbackRecord>> reopen(Context& ctx, LockHandle& lock, const JournalEntry& existing);
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
  // note() and checkpoint() in one journal write: for steps of a write-ahead log, whose event and
  // details must never disagree.
  void step(const std::string& message, const nlohmann::json& details);
  // Records the outcome. When the journal refuses it (disk full, read-only), the outcome is
  // saved to a sidecar file in Context::unrecorded_dir() for the next command to record, and the
  // error says what happened; for a succeeded rollback its code is ExitCode::NotRecorded and the
  // message says that the rollback itself DID succeed.
  Status finish(const std::string& outcome, const nlohmann::json& details = nlohmann::json::object());
  // Closes the record from an error: outcome derived from the error's exit code.
  Error fail(Error e);

 private:
  RollbackRecord(Context& ctx, Journal& journal, std::string id) : ctx_(ctx), journal_(journal), id_(std::move(id)) {}
  // Announces a phase to `team.notify` targets in the background.
  void announce(const std::string& phase, const std::string& failure);
  // Waits for the announcements (each bounded by kNotifyTimeout) and journals their results.
  void collect_announcements();
  // On a protected environment ("Create incident report if production was affected"): writes the
  // report of this rollback (core/report.hpp) under <state>/reports/ and prints where. A failure
  // to write it is a warning: the rollback's outcome does not depend on it.
  void write_incident_report(const std::string& outcome);
  Context& ctx_;
  Journal& journal_;
  std::string id_;
  nlohmann::json details_ = nlohmann::json::object();
  bool finished_ = false;
  JournalEntry entry_;  // as begun, for announcements
  std::chrono::steady_clock::time_point started_{};
  std::vector<std::pair<std::string, std::future<std::vector<NotifyResult>>>> announcements_;
};

// Closes the journal entries of `app`/`env` that say "running" but cannot be: called under the
// environment's lock, so no live rollback of this machine is running there. An entry with a
// sidecar file in `unrecorded_dir` gets the outcome saved there; any other entry of this host is
// closed as interrupted with a note. `parent_id` (a release running `by_id` as one of its steps,
// under the same lock) is alive and left alone. `closer` names who closes them in the journal
// (default "rollback <by_id>"; `rollback unlock` passes its own). Returns one line per entry closed
// (for the output).
Result<std::vector<std::string>> reconcile_unfinished(Journal& journal, const std::filesystem::path& unrecorded_dir,
                                                      const std::string& app, const std::string& env,
                                                      const std::string& by_id, const std::string& parent_id = {},
                                                      const std::string& closer = {});

// Confirmation for protected environments: the user types the environment's name.
// --yes skips it; without a terminal and without --yes it refuses (ExitCode::Refused).
Status confirm_environment(Context& ctx, const EnvironmentConfig& env, const std::string& action);
// Typed confirmation for a specific dangerous step (e.g. Terraform deletes), even on
// unprotected environments; --yes skips it.
Status confirm_typed(Context& ctx, const std::string& expected, const std::string& question);

}  // namespace rb
