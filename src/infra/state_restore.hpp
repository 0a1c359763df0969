// The runbook's Method 3 done safely: restoring an older version of the Terraform state in its
// versioned S3 bucket, the way HCP Terraform and Spacelift do it (copy the old version as a new
// current one, only while the state is locked), with Terraform's own lock and digest.
//
// The sequence, stopping at the first problem; nothing in S3 or DynamoDB changes before step 5
// except Terraform's lock, which is always released again:
//   1. lock     take Terraform's lock: the .tflock object (If-None-Match: *) when use_lockfile, and
//               the DynamoDB lock item (attribute_not_exists(LockID)) when a table is configured;
//               a held lock is reported with its holder (ExitCode::Locked, tag "state_locked");
//   2. current  list the versions of the exact key, read the current state, compare its MD5 with
//               the digest item "<bucket>/<key>-md5" where one exists (refused on a mismatch unless
//               `force_digest`: the state was changed without Terraform);
//   3. target   read the version to restore and prepare it (prepare_restore: refuses encrypted
//               state, format != 4, a lineage mismatch unless forced, the current content); then
//               `hooks.plan` shows what will be written and `hooks.confirm` may refuse;
//   4. backup   save the current state's bytes to `backup_path` (mode 0600);
//   5. write    PutObject of the prepared bytes as the new current version (old versions stay);
//   6. digest   PutItem of the digest item with the MD5 of the bytes written (when a table is set);
//   7. unlock   release Terraform's lock.
// Ctrl-C (rb::interrupted()) is honoured between steps up to the write; once the write is sent,
// steps 5 and 6 are completed first (a state without a matching digest is refused by Terraform),
// then the lock is released and the interruption reported (RestoreReport::interrupted). On any
// error the lock is released before returning (RAII), and `hooks.step_done` has been told of
// every step that completed.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "infra/lock_info.hpp"
#include "infra/restore.hpp"
#include "infra/s3_backend.hpp"
#include "infra/storage.hpp"
#include "util/clock.hpp"
#include "util/result.hpp"

namespace rb::infra {

// Step names as journaled (details.steps_done) and in JSON output, in order.
inline constexpr const char* kStepLock = "lock";
inline constexpr const char* kStepReadCurrent = "read_current";
inline constexpr const char* kStepReadTarget = "read_target";
inline constexpr const char* kStepBackup = "backup";
inline constexpr const char* kStepWrite = "write";
inline constexpr const char* kStepDigest = "digest";
inline constexpr const char* kStepUnlock = "unlock";

// The DynamoDB attribute names of Terraform's S3 backend (remote-state/s3/client.go).
inline constexpr const char* kLockInfoAttribute = "Info";
inline constexpr const char* kDigestAttribute = "Digest";

struct StateRestoreRequest {
  StateLocation location;
  std::string dynamodb_table;  // "" when the backend has no DynamoDB lock table
  bool use_lockfile = false;
  std::string version_id;  // the version to restore (a full id)
  RestoreOptions prepare;  // force_lineage, allow_unreadable_current
  bool force_digest = false;
  bool dry_run = false;  // steps 1-3 read-only (the lock is inspected, not taken), then stop
  std::filesystem::path backup_path;  // where step 4 saves the current state
  std::string lock_info;  // LockInfo.Info: who runs this and why, e.g. "rollback 2026...: restore version V"
  // Where to tell people to run `terraform force-unlock` when a lock is left behind.
  std::string terraform_dir;
};

struct StateRestoreReport {
  std::string current_version_id;  // "" when there was no current state
  std::string target_version_id;
  std::string new_version_id;  // of the object written ("" in a dry run)
  std::optional<std::string> current_md5;
  std::string current_lineage;  // "" when there is no (readable) current state
  bool lineage_forced = false;  // the target's lineage differs and force_lineage allowed it
  std::optional<std::string> digest_before;  // the digest item's value before the restore
  bool digest_mismatch = false;              // it differed from current_md5 (only with force_digest)
  PreparedRestore prepared;
  std::filesystem::path backup_path;  // empty when there was no current state to save
  std::string lock_id;                // the LockInfo ID this restore held ("" in a dry run)
  std::vector<std::string> steps_done;
  bool dry_run = false;
  // Ctrl-C arrived after the write was sent: the write and the digest were completed, the lock
  // released, and the caller should report the interruption.
  bool interrupted = false;
};

struct StateRestoreHooks {
  std::function<void(const std::string& message)> event;  // a progress line worth journaling
  std::function<void(const std::string& message)> warn;   // something the user must notice
  // Before each step is attempted (lock, backup, write, digest, unlock: the ones that change
  // something), so a journal fed by it is a write-ahead log: a process killed mid-step leaves
  // "started" without "done" for that step.
  std::function<void(const std::string& step)> step_started;
  // After each completed step: its name and facts about it (paths, version ids, digests).
  std::function<void(const std::string& step, const nlohmann::json& facts)> step_done;
  // After step 3: show what would be written (also in a dry run).
  std::function<void(const StateRestoreReport& report)> plan;
  // After step 3 (not in a dry run): the last chance to say no (protected environment, forced
  // lineage). An error stops the restore with nothing written.
  std::function<Status(const StateRestoreReport& report)> confirm;
};

// Runs the sequence above. `locks` may be null only when request.dynamodb_table is empty.
// `clock` stamps the LockInfo and says how old a held lock is.
Result<StateRestoreReport> restore_state(StateObjectStore& store, LockTable* locks, const StateRestoreRequest& request,
                                         const StateRestoreHooks& hooks, Clock& clock);

// Who holds Terraform's lock of `location` now, read-only: nullopt when nobody does. Looks at the
// .tflock object (use_lockfile) and the DynamoDB lock item (table non-empty).
struct HeldLock {
  std::string where;  // "DynamoDB table T, LockID b/k" or "s3://b/k.tflock"
  LockInfo info;
  bool readable = true;  // false: the lock exists but its LockInfo cannot be parsed
};
Result<std::optional<HeldLock>> inspect_terraform_lock(StateObjectStore& store, LockTable* locks,
                                                       const StateLocation& location, const std::string& dynamodb_table,
                                                       bool use_lockfile);

}  // namespace rb::infra
