// What a saved Terraform plan will do, read from `terraform show -json <planfile>`: counts and
// addresses by kind of change, why (action_reason in words), whether a person must confirm, and a
// short Terraform-like text rendering.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "util/result.hpp"

namespace rb::infra {

// change.actions of a resource change (jsonplan: ["no-op"], ["create"], ["read"], ["update"],
// ["delete","create"], ["create","delete"], ["delete"], ["forget"]; ["create","forget"] when
// destroy = false forces a replacement). Anything else is Unknown.
enum class PlanAction { NoOp, Create, Read, Update, DeleteThenCreate, CreateThenDelete, Delete, Forget, CreateThenForget, Unknown };

PlanAction plan_action_from(const std::vector<std::string>& actions);
// Terraform's three-column symbol: "  +", "  ~", "  -", "-/+", "+/-", " <=", "   " (no-op), "  ." (forget), "+/.", "  ?".
std::string_view action_symbol(PlanAction action);
// "create", "update in-place", "destroy", "destroy and then create replacement", ...
std::string_view action_description(PlanAction action);

// How a change is counted. A replacement (either order) is Replace, never Create or Delete;
// CreateThenForget is Forget; a data source dropped from the state is NoOp (Terraform does not show it).
enum class ChangeKind { Create, Update, Delete, Replace, Read, NoOp, Forget, Unknown };

struct PlannedChange {
  std::string address;
  std::string previous_address;  // set by a `moved` block (may equal address)
  std::string module_address;    // "" in the root module
  std::string mode;              // "managed" or "data"
  std::string type;
  std::string name;
  nlohmann::json index;  // count index / for_each key, null when none
  std::string deposed;   // deposed object key, "" when not deposed
  std::vector<std::string> actions;
  PlanAction action = PlanAction::Unknown;
  std::string action_reason;  // as in the plan ("" when none)
  bool importing = false;     // an import block brings it in

  bool moved() const { return !previous_address.empty() && previous_address != address; }
  ChangeKind kind() const;
  // "addr" or "addr (deposed object K)".
  std::string display_address() const;
  // action_reason in words ("cannot be updated in place", "no longer in configuration", ...); "" when none.
  std::string reason_text() const;
};

struct OutputChange {
  std::string name;
  std::vector<std::string> actions;
  PlanAction action = PlanAction::Unknown;
};

struct PlanSummary {
  std::string format_version;
  std::string terraform_version;  // "" when absent
  std::optional<bool> applyable;
  std::optional<bool> complete;
  std::optional<bool> errored;
  std::vector<PlannedChange> changes;  // resource_changes, in plan order (absent in a refresh-only plan)
  std::vector<PlannedChange> drift;    // resource_drift: changes made outside Terraform
  std::vector<OutputChange> outputs;   // output_changes that are not no-ops, by name

  // Display addresses of the changes of one kind, in plan order.
  std::vector<std::string> addresses(ChangeKind kind) const;
  size_t count(ChangeKind kind) const;
  // {previous address, new address} for every moved resource instance.
  std::vector<std::pair<std::string, std::string>> moves() const;
  std::vector<std::string> imports() const;

  // Terraform's "Plan:" numbers: replacements count as one add and one destroy.
  size_t to_add() const;
  size_t to_change() const;
  size_t to_destroy() const;

  // True when applying would destroy something: deletes, replacements, or an action this tool does
  // not know (better to ask than to guess).
  bool needs_confirmation() const;
  // Anything to apply: a resource action, a move, an import or an output change.
  bool has_changes() const;

  // "Plan: 1 to add, 0 to change, 1 to destroy." (with "N to import, " / ", N to forget" when any).
  std::string plan_line() const;
  // A Terraform-like listing: drift, then one line per change (symbol, address, reason), the Plan
  // line and output changes; "No changes." when there is nothing to do.
  std::string render_text() const;
};

// Parses `terraform show -json <planfile>` output. Errors (code Failed): invalid JSON with line and
// column (tag "invalid_json"); not a plan, e.g. `terraform show -json` of a state, a format_version
// whose major version is not 1, or a malformed resource change (tag "invalid_plan").
Result<PlanSummary> parse_plan_json(std::string_view json, std::string_view what = "the plan JSON (terraform show -json)");

}  // namespace rb::infra
