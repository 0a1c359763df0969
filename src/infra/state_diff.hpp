// Comparing two state files: which resource instances only one of them has, which changed, and
// which outputs differ. Used by `rollback state diff` and, after a restore, to warn about the
// resources the restored state no longer tracks (orphaned: they still exist but Terraform forgets them).
#pragma once

#include <string>
#include <vector>

#include "infra/tfstate.hpp"

namespace rb::infra {

struct InstanceDifference {
  std::string address;                    // display address (with " (deposed object K)" when deposed)
  std::vector<std::string> attributes;    // top-level attribute names whose values differ, sorted
  std::vector<std::string> other_fields;  // other instance fields that differ (schema_version, status, private, ...), sorted
};

struct StateDiff {
  std::vector<std::string> only_in_a;  // instance addresses (deposed objects by display address), in A's order
  std::vector<std::string> only_in_b;  // in B's order
  std::vector<InstanceDifference> changed;  // in A's order
  std::vector<std::string> outputs_only_in_a;
  std::vector<std::string> outputs_only_in_b;
  std::vector<std::string> outputs_changed;

  bool empty() const;
};

// Differences from A to B. Attribute values are compared but never copied into the result, so
// sensitive values cannot leak through it. Instances are matched by address and deposed key.
StateDiff diff_states(const StateFile& a, const StateFile& b);

}  // namespace rb::infra
