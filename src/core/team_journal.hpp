// The team journal: every rollback, its events and its outcome on the team table, so
// `history`, `status` and the "last known good" choice see the whole team's rollbacks.
//
// Writes go to the local SQLite journal first, which is also the outbox: each write queues a
// row in its `team_outbox` table, and the queue is pushed to DynamoDB right away with retries;
// what cannot be pushed stays queued and is pushed by the next command. Item keys come from
// the rollback id and the event's sequence number, so a push repeated after an ambiguous
// failure writes the same item again, never a second one. Reads Query the environment's
// partition newest first and merge what this machine has not shared yet (marked as such).
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/journal.hpp"
#include "core/team_store.hpp"

namespace rb::team {

// Attempts per outbox row within one push, on top of the AWS client's own retries: a
// conditional put is not resent by the client after an ambiguous failure, so we do it here
// (the put is idempotent by its key and condition).
inline constexpr int kPushAttempts = 3;
// Rows pushed per command at most, so a long-offline machine does not stall one command for
// minutes; the rest goes with the next one.
inline constexpr int kPushBatchLimit = 500;
// Query page size when a filter (outcome, layer) may drop items after the read.
inline constexpr int kFilteredPageSize = 200;

struct PushReport {
  int pushed = 0;
  int pending = 0;  // still queued after this push
  std::string last_error;
};

class TeamJournal final : public Journal {
 public:
  // `local` is the SQLite journal at `local_path`; `store` may be null when the team table
  // cannot be reached at all (then everything is queued). `envs` are the environments whose
  // partitions a list without --env reads. `warn` receives warnings (push failures).
  static Result<std::unique_ptr<TeamJournal>> open(std::unique_ptr<Journal> local, const std::filesystem::path& local_path,
                                                   std::unique_ptr<TeamStore> store, std::string app,
                                                   std::vector<std::string> envs,
                                                   std::function<void(const std::string&)> warn);
  ~TeamJournal() override;

  Result<std::string> begin(JournalEntry entry) override;
  Status event(const std::string& id, const std::string& message) override;
  Status finish(const std::string& id, const std::string& outcome, const nlohmann::json& details) override;
  Status update_details(const std::string& id, const nlohmann::json& details) override;
  Status step(const std::string& id, const std::string& message, const nlohmann::json& details) override;
  Result<std::optional<JournalEntry>> get(const std::string& id) override;
  Result<std::vector<JournalEntry>> list(const JournalFilter& filter) override;
  Result<std::vector<JournalEvent>> events(const std::string& id) override;
  std::string location() const override;

  // Pushes queued rows now (also after an earlier failure in this process).
  PushReport push(bool force = true);
  // Rows not yet on the team table.
  Result<int> pending_count();

 private:
  struct Impl;
  explicit TeamJournal(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// DynamoDB item <-> journal entry (exposed for tests).
nlohmann::json entry_item(const JournalEntry& e, const std::string& pk, const std::string& sk);
JournalEntry entry_from_item(const nlohmann::json& item);

}  // namespace rb::team
