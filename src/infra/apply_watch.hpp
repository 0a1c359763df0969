// Waiting for CI's Terraform apply of a pushed infrastructure revert (runbook, Infrastructure
// Method 1: "Terraform will apply the previous infrastructure state"). The push only starts CI;
// the revert is in effect once Terraform has written a new version of the state object after the
// push and released its lock. Reads only; never takes Terraform's lock.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "infra/s3_backend.hpp"
#include "infra/storage.hpp"
#include "infra/terraform_runner.hpp"
#include "util/clock.hpp"
#include "util/result.hpp"

namespace rb::infra {

// How often the state is read while waiting. A Terraform apply takes minutes; 5 s costs one
// ListObjectVersions call each and notices the end within 5 s.
inline constexpr std::chrono::milliseconds kApplyPollInterval{5000};

struct ApplyWatch {
  StateLocation location;
  std::string dynamodb_table;  // "" when the backend has no DynamoDB lock table
  bool use_lockfile = false;   // S3 native locking: the "<key>.tflock" object
  // The push: a state version written at or after this (less `clock_skew`, for a version that
  // appeared while waiting) counts as CI's apply.
  std::chrono::system_clock::time_point pushed_at{};
  // CI's clock and S3's timestamps are not ours; S3 rounds LastModified down to the second.
  std::chrono::seconds clock_skew{5};
  std::chrono::milliseconds timeout{std::chrono::minutes(10)};
  std::chrono::milliseconds poll_interval = kApplyPollInterval;
};

struct ApplyObserved {
  S3ObjectVersion version;  // the state version CI's apply wrote
  int polls = 0;
};

// Waits until the state object's current version was written after the push and no Terraform
// lock is held on it. `emit` receives progress lines ("state version X written at T", "lock held
// by ..."). Errors: the state cannot be read (names the bucket and key), the wait is
// interrupted, or the timeout passes (saying what was seen last and how to check CI).
Result<ApplyObserved> wait_for_apply(StateObjectStore& store, LockTable* locks, const ApplyWatch& watch, Clock& clock,
                                     const std::function<void(const std::string&)>& emit);

// The last check of the wait (issue 12): once CI's apply is seen, a plan of the reverted folder
// should show no changes; anything it would still change is drift CI's apply left behind.
enum class NoChangesVerdict {
  NoChanges,   // plan -detailed-exitcode answered 0
  Changes,     // it answered 2: `changes` resources would still change
  CannotPlan,  // init or plan failed (no credentials, no backend access, ...): not a verdict
};

struct NoChangesCheck {
  NoChangesVerdict verdict = NoChangesVerdict::CannotPlan;
  size_t changes = 0;     // with Changes: the resource changes (and output changes) in the plan
  std::string plan_line;  // with Changes: "Plan: 1 to add, 0 to change, 0 to destroy."
  std::string detail;     // with CannotPlan: what failed; with Changes: the addresses
};

// Runs `init` then `plan -detailed-exitcode` (without taking the lock) through `tf` in its working
// directory, and with changes `show -json` of `plan_file` to count them. Never an error: what
// cannot be planned is a CannotPlan verdict with the reason.
NoChangesCheck check_no_changes(TerraformRunner& tf, const std::filesystem::path& plan_file);

}  // namespace rb::infra
