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

struct TargetInputs {
  std::string family;                   // the configured task family
  Service service;                      // as it is now
  std::vector<RevisionInfo> revisions;  // the family's revisions, any order
  std::vector<KnownGood> known_good;    // newest first
  std::optional<std::string> requested; // --to-revision: "41", "family:41" or an ARN
};

struct Target {
  TaskDefRef ref;
  TaskDefRef current;
  std::string why;                     // one sentence for the plan
  std::vector<int> skipped_inactive;   // INACTIVE revisions passed over
};

// In order: --to-revision; the newest known-good revision older than the current one; the
// previous deployment's task definition when the service is mid-deployment; the nearest older
// ACTIVE revision. Refuses (ExitCode::Refused) an INACTIVE target, another family, the revision
// already running, or when nothing older is ACTIVE.
Result<Target> choose_target(const TargetInputs& in);

}  // namespace rb::ecs
