// Choosing the revision to roll back to: the last known good one, not blindly N-1.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "ecs/model.hpp"
#include "util/result.hpp"

namespace rb::ecs {

// A revision the journal saw complete successfully on this service.
struct KnownGood {
  int revision = 0;
  std::string rollback_id;
  std::string when;
};

// A revision that must not be chosen by default: a deployment of it failed (ECS rolled it back,
// or its alarms went off), or a rollback left it.
struct KnownBad {
  int revision = 0;
  std::string when;  // "2026-11-29"
  std::string why;   // "circuit breaker rolled it back", "rollback r-1a2b left it"
};

struct TargetInputs {
  std::string family;                   // the configured task family
  Service service;                      // as it is now
  std::vector<RevisionInfo> revisions;  // the family's revisions, any order
  std::vector<KnownGood> known_good;    // newest first
  std::optional<std::string> requested; // --to-revision: "41", "family:41" or an ARN
  // ECS's service deployment history, newest first; nullopt where the API is missing (then
  // `history_unavailable` says why and the older rules apply).
  std::optional<std::vector<ServiceDeploymentInfo>> history;
  std::string history_unavailable;
  std::vector<KnownBad> known_bad;      // from the journal: revisions our rollbacks left
};

struct Target {
  TaskDefRef ref;
  TaskDefRef current;
  std::string why;                     // one sentence for the plan
  std::vector<int> skipped_inactive;   // INACTIVE revisions passed over
  // Known-bad revisions passed over, each in words:
  // "connect2-api-prod:11 failed on 2026-11-29: circuit breaker rolled it back".
  std::vector<std::string> passed_over;
  // Set when the target itself is known bad (only ever by --to-revision): when and why.
  std::optional<std::string> known_bad_warning;
  std::string note;                    // e.g. why ECS's deployment history was not used
};

// Known-bad revisions of `family` according to ECS's history (ROLLBACK_* or triggered alarms)
// and the journal's `journal_bad`; one entry per revision, the newest reason.
std::vector<KnownBad> known_bad_revisions(const std::string& family,
                                          const std::optional<std::vector<ServiceDeploymentInfo>>& history,
                                          const std::vector<KnownBad>& journal_bad);

// In order: --to-revision; the journal's last known good (older than the current one); the
// newest deployment in ECS's history that ended SUCCESSFUL before the one running now, whose
// task definition is still ACTIVE; what the service ran before an in-flight deployment; the
// nearest older ACTIVE revision. Known-bad revisions are never chosen by default (they are
// listed in `passed_over`); named with --to-revision they come with `known_bad_warning`.
// Refuses (ExitCode::Refused) an INACTIVE target, another family or another account/region's
// ARN, the revision already running, or when nothing is left to choose.
Result<Target> choose_target(const TargetInputs& in);

}  // namespace rb::ecs
