// "Test first: always test downgrade in staging" as a gate: a downgrade on a protected
// environment runs only when the journal shows the same downgrade (the same starting head
// revision(s), the same target) succeeded on a non-protected environment of the same app.
// The journal is read through the Journal interface, so the team's journal counts in team mode.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/config.hpp"
#include "core/journal.hpp"
#include "util/result.hpp"

namespace rb::db {

// How many recent succeeded database rollbacks of the app the gate reads: a team runs a few a
// week, so a thousand reaches back years; it bounds the read of a large team journal.
inline constexpr size_t kStagingSearchLimit = 1000;

// A downgrade as the gate compares it. `target` is a full revision id or "base".
struct DowngradeKey {
  std::vector<std::string> from_heads;  // sorted
  std::string target;
};

// The key a db journal entry recorded: details.from_heads / details.to_revision, or for an
// entry written before those were recorded, `from` ("a, b") and `to`.
DowngradeKey key_of_entry(const JournalEntry& entry);

struct StagingCheck {
  bool required = false;  // the environment is protected
  DowngradeKey key;
  std::optional<JournalEntry> evidence;  // the newest matching success on a non-protected environment
  std::vector<std::string> unprotected_envs;  // where it may run first, in configuration order
  bool skipped = false;   // --skip-staging-check
  std::string skip_reason;

  // Required, not skipped, and no evidence.
  bool blocks() const { return required && !skipped && !evidence; }
  // One line for the plan: not required / passed (when, by whom, where) / skipped / not passed.
  std::string describe() const;
  // The command that runs the same downgrade on the first non-protected environment.
  std::string staging_command(const std::string& via) const;
  // The starting heads as text ("base" when none).
  std::string from_heads_text() const;
  // The refusal for blocks(), naming staging_command().
  Error refusal_error(const std::string& env, const std::string& via) const;
  nlohmann::json to_json() const;
};

// The newest entry among `entries` (newest first, as Journal::list returns them) that is a
// succeeded db rollback of `app` on an environment `config` lists as not protected, with `key`.
std::optional<JournalEntry> find_staging_run(const std::vector<JournalEntry>& entries, const Config& config,
                                             const DowngradeKey& key);

// Reads the journal (when `env` is protected) and fills a StagingCheck.
Result<StagingCheck> check_staging(Journal& journal, const Config& config, const EnvironmentConfig& env,
                                   DowngradeKey key);

}  // namespace rb::db
