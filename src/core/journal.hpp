// The journal: every rollback, who did it, from what to what, how it ended, and its events.
// An interface, so a shared (PostgreSQL) journal for teams can sit beside the local SQLite one.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "util/result.hpp"

namespace rb {

// Outcomes recorded in `JournalEntry::outcome`.
inline constexpr const char* kOutcomeRunning = "running";
inline constexpr const char* kOutcomeSucceeded = "succeeded";
inline constexpr const char* kOutcomeFailed = "failed";
inline constexpr const char* kOutcomeRefused = "refused";
inline constexpr const char* kOutcomeInterrupted = "interrupted";

struct JournalEntry {
  std::string id;
  std::string app, env;
  std::string layer;  // ecs, app, db, infra, state, release (the parent of a release's steps)
  std::string user, host;
  std::string from, to;  // e.g. task definition ARNs, commits, revisions, state version ids
  std::string reason;
  std::string started_at, ended_at;  // ISO-8601 UTC
  std::string outcome = kOutcomeRunning;
  nlohmann::json details = nlohmann::json::object();  // layer-specific facts (backups, commits, ...)
  bool unshared = false;  // team mode: recorded here but not yet on the team table (core/team_journal.hpp)
};

struct JournalEvent {
  std::string at;
  std::string message;
};

struct JournalFilter {
  std::string app, env, layer;  // empty: any
  std::string outcome;          // empty: any
  std::string since;            // ISO-8601 UTC; only rollbacks started at or after it. Empty: any
  size_t limit = 50;
};

class Journal {
 public:
  virtual ~Journal() = default;
  // Records a new entry (id, user, host and start time are filled in when empty); returns the id.
  virtual Result<std::string> begin(JournalEntry entry) = 0;
  virtual Status event(const std::string& id, const std::string& message) = 0;
  // Sets the outcome, end time and (merged) details.
  virtual Status finish(const std::string& id, const std::string& outcome, const nlohmann::json& details) = 0;
  // Merges `details` into a running entry's details without closing it (a checkpoint, so a
  // process killed later still leaves what it had done). A journal without it keeps them in memory
  // until finish().
  virtual Status update_details(const std::string& id, const nlohmann::json& details) {
    (void)id, (void)details;
    return {};
  }
  // A step of a write-ahead log: the event and the details that go with it, written together
  // (one transaction where the journal has them), so a process killed between the two writes
  // never leaves an event its details do not show.
  virtual Status step(const std::string& id, const std::string& message, const nlohmann::json& details) {
    RB_TRY(update_details(id, details));
    return event(id, message);
  }
  virtual Result<std::optional<JournalEntry>> get(const std::string& id) = 0;
  // Newest first.
  virtual Result<std::vector<JournalEntry>> list(const JournalFilter& filter) = 0;
  virtual Result<std::vector<JournalEvent>> events(const std::string& id) = 0;
  virtual std::string location() const = 0;
};

// The local journal: an SQLite file created with mode 0600.
Result<std::unique_ptr<Journal>> open_sqlite_journal(const std::filesystem::path& path);
// The same journal opened only for reading (for history and status): works on a read-only
// file or folder, creates nothing, and reads a missing file as an empty journal. Writes fail.
Result<std::unique_ptr<Journal>> open_sqlite_journal_read_only(const std::filesystem::path& path);

// "20261126-103724-3f9a": sortable by time, unique enough for one team.
std::string new_rollback_id();
std::string current_user();
std::string current_host();

nlohmann::json entry_to_json(const JournalEntry& e);

}  // namespace rb
