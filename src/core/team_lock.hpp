// The team lock: one DynamoDB item per environment, so two people on different machines
// cannot roll back the same environment at once. See docs/TEAM.md for the reasoning.
//
//  - acquire: PutItem with attribute_not_exists(pk); a held lock is refused at once with
//    who holds it, since when, doing what, and its last heartbeat (exit 4);
//  - a heartbeat thread renews it every lease/3: UpdateItem conditional on our holder id and
//    the version we last wrote, which it increments;
//  - release: DeleteItem conditional on our holder id;
//  - breaking a dead holder's lock: the breaker must see the item's version unchanged for a
//    full lease measured on its OWN clock (timestamps written by other machines are never
//    compared with ours, so clock skew cannot let two holders in), then deletes it
//    conditionally on that holder id and version, so two breakers cannot both win.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/held_lock.hpp"
#include "core/team_store.hpp"

namespace rb::team {

// How often the breaker re-reads the lock while it watches it (`rollback unlock`). A second
// is fine-grained against a lease of a minute and costs one read per second.
inline constexpr std::chrono::milliseconds kBreakPollInterval{1000};
// Attempts to settle an ambiguous conditional write (HTTP 5xx, a dropped connection) by
// reading the item back and writing again.
inline constexpr int kLockWriteAttempts = 4;

struct TeamLockItem {
  std::string holder_id;  // random, one per acquisition
  long version = 0;       // incremented by every renewal
  LockHolder holder;      // user, host, pid, command (redacted), since, rollback id
  std::string identity;   // the holder's AWS identity (STS GetCallerIdentity ARN)
  std::string heartbeat_at;  // the holder's clock: shown, never compared with ours
  long lease_ms = 0;

  nlohmann::json to_item(const std::string& app, const std::string& env) const;
  static std::optional<TeamLockItem> from_item(const nlohmann::json& item);
  // "alice (arn:aws:iam::1:user/alice) on host-a (pid 12, `rollback ecs --env prod`, rollback X)
  //  since T; last heartbeat T2 (version 7)"
  std::string describe() const;
};

using Warn = std::function<void(const std::string&)>;

// Takes the environment's team lock, or fails: exit 4 naming the holder, or exit 5 when the
// table cannot be used. `store` is used now; a clone serves the heartbeat thread.
Result<std::unique_ptr<HeldLock>> acquire_team_lock(TeamStore& store, Clock& clock, const std::string& app,
                                                    const std::string& env, LockHolder holder, std::string identity,
                                                    std::chrono::milliseconds lease, Warn warn);

// The lock item as it is now (nullopt: free).
Result<std::optional<TeamLockItem>> read_team_lock(TeamStore& store, const std::string& app, const std::string& env);

// What the breaker has seen: this holder id at this version since `first_seen` (our clock).
struct Observation {
  std::string holder_id;
  long version = 0;
  std::chrono::system_clock::time_point first_seen;
};

// Pure: whether the holder has been seen unchanged for a full lease, given the previous
// observation (if it saw the same holder id and version) and the item now.
struct BreakJudgement {
  Observation observation;                  // to store for the next look
  std::chrono::milliseconds unchanged_for;  // how long the item has been seen unchanged
  bool expired = false;                     // unchanged for at least the lease
};
BreakJudgement judge_expiry(const std::optional<Observation>& previous, const TeamLockItem& now_item,
                            std::chrono::system_clock::time_point now, std::chrono::milliseconds lease);

struct BreakResult {
  bool was_free = false;
  std::optional<TeamLockItem> broken;  // the holder whose lock was removed
};

// Breaks a dead holder's lock. Observations persist in `observations_dir` (mode 0600), so a
// breaker that looked before (`--no-wait`) continues from there. With `wait`, it watches the
// item until a full lease has passed unchanged (exit 4 if the holder renews meanwhile);
// without, it refuses (exit 4) until then. `progress` gets one line when watching starts.
Result<BreakResult> break_team_lock(TeamStore& store, Clock& clock, const std::string& app, const std::string& env,
                                    std::chrono::milliseconds lease, const std::filesystem::path& observations_dir,
                                    bool wait, const std::function<void(const std::string&)>& progress);

}  // namespace rb::team
