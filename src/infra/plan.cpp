#include "infra/plan.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "infra/json_doc.hpp"
#include "util/strings.hpp"

namespace rb::infra {

namespace {

Error invalid_plan(std::string_view what, const std::string& detail) {
  Error err = failure(fmt::format("{} is not a Terraform plan: {}", what, detail),
                      "produce it with `terraform show -json <planfile>` from a plan saved with -out");
  err.tag = "invalid_plan";
  return err;
}

// Top-level members only a plan has (planned_values and configuration are always written).
constexpr const char* kPlanMembers[] = {"planned_values", "resource_changes", "resource_drift", "output_changes",
                                        "prior_state", "configuration"};

Result<std::string> string_member(const nlohmann::json& obj, const char* key, std::string_view what, const std::string& where) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::string();
  if (!it->is_string()) return invalid_plan(what, fmt::format("{}\"{}\" is {}, not a string", where, key, it->type_name()));
  return it->get<std::string>();
}

Result<std::vector<std::string>> actions_of(const nlohmann::json& change, std::string_view what, const std::string& where) {
  if (!change.is_object()) return invalid_plan(what, where + "\"change\" is missing");
  auto it = change.find("actions");
  if (it == change.end() || !it->is_array() || it->empty()) return invalid_plan(what, where + "\"change.actions\" is missing or empty");
  std::vector<std::string> out;
  for (const auto& a : *it) {
    if (!a.is_string()) return invalid_plan(what, where + "\"change.actions\" holds a non-string");
    out.push_back(a.get<std::string>());
  }
  return out;
}

Result<std::vector<PlannedChange>> parse_changes(const nlohmann::json& doc, const char* member, std::string_view what) {
  std::vector<PlannedChange> out;
  auto list = doc.find(member);
  if (list == doc.end() || list->is_null()) return out;
  if (!list->is_array()) return invalid_plan(what, fmt::format("\"{}\" is {}, not an array", member, list->type_name()));
  for (size_t i = 0; i < list->size(); ++i) {
    const auto& raw = (*list)[i];
    std::string where = fmt::format("{}[{}]: ", member, i);
    if (!raw.is_object()) return invalid_plan(what, where + "not an object");
    PlannedChange c;
    RB_TRY_ASSIGN(c.address, string_member(raw, "address", what, where));
    if (c.address.empty()) return invalid_plan(what, where + "\"address\" is missing");
    where = fmt::format("{}[{}] ({}): ", member, i, c.address);
    RB_TRY_ASSIGN(c.previous_address, string_member(raw, "previous_address", what, where));
    RB_TRY_ASSIGN(c.module_address, string_member(raw, "module_address", what, where));
    RB_TRY_ASSIGN(c.mode, string_member(raw, "mode", what, where));
    RB_TRY_ASSIGN(c.type, string_member(raw, "type", what, where));
    RB_TRY_ASSIGN(c.name, string_member(raw, "name", what, where));
    RB_TRY_ASSIGN(c.deposed, string_member(raw, "deposed", what, where));
    RB_TRY_ASSIGN(c.action_reason, string_member(raw, "action_reason", what, where));
    if (auto idx = raw.find("index"); idx != raw.end()) c.index = *idx;
    auto change = raw.find("change");
    if (change == raw.end()) return invalid_plan(what, where + "\"change\" is missing");
    RB_TRY_ASSIGN(c.actions, actions_of(*change, what, where));
    c.action = plan_action_from(c.actions);
    if (auto imp = change->find("importing"); imp != change->end() && !imp->is_null()) c.importing = true;
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace

PlanAction plan_action_from(const std::vector<std::string>& a) {
  if (a.size() == 1) {
    if (a[0] == "no-op") return PlanAction::NoOp;
    if (a[0] == "create") return PlanAction::Create;
    if (a[0] == "read") return PlanAction::Read;
    if (a[0] == "update") return PlanAction::Update;
    if (a[0] == "delete") return PlanAction::Delete;
    if (a[0] == "forget") return PlanAction::Forget;
  }
  if (a.size() == 2) {
    if (a[0] == "delete" && a[1] == "create") return PlanAction::DeleteThenCreate;
    if (a[0] == "create" && a[1] == "delete") return PlanAction::CreateThenDelete;
    if (a[0] == "create" && a[1] == "forget") return PlanAction::CreateThenForget;
  }
  return PlanAction::Unknown;
}

std::string_view action_symbol(PlanAction action) {
  switch (action) {
    case PlanAction::NoOp: return "   ";
    case PlanAction::Create: return "  +";
    case PlanAction::Read: return " <=";
    case PlanAction::Update: return "  ~";
    case PlanAction::DeleteThenCreate: return "-/+";
    case PlanAction::CreateThenDelete: return "+/-";
    case PlanAction::Delete: return "  -";
    case PlanAction::Forget: return "  .";
    case PlanAction::CreateThenForget: return "+/.";
    case PlanAction::Unknown: break;
  }
  return "  ?";
}

std::string_view action_description(PlanAction action) {
  switch (action) {
    case PlanAction::NoOp: return "no change";
    case PlanAction::Create: return "create";
    case PlanAction::Read: return "read (data resources)";
    case PlanAction::Update: return "update in-place";
    case PlanAction::DeleteThenCreate: return "destroy and then create replacement";
    case PlanAction::CreateThenDelete: return "create replacement and then destroy";
    case PlanAction::Delete: return "destroy";
    case PlanAction::Forget: return "remove from state without destroying";
    case PlanAction::CreateThenForget: return "create replacement and forget the old object without destroying it";
    case PlanAction::Unknown: break;
  }
  return "unknown action";
}

ChangeKind PlannedChange::kind() const {
  switch (action) {
    case PlanAction::NoOp: return ChangeKind::NoOp;
    case PlanAction::Create: return ChangeKind::Create;
    case PlanAction::Read: return ChangeKind::Read;
    case PlanAction::Update: return ChangeKind::Update;
    case PlanAction::DeleteThenCreate:
    case PlanAction::CreateThenDelete: return ChangeKind::Replace;
    case PlanAction::Delete: return mode == "data" ? ChangeKind::NoOp : ChangeKind::Delete;
    case PlanAction::Forget:
    case PlanAction::CreateThenForget: return ChangeKind::Forget;
    case PlanAction::Unknown: break;
  }
  return ChangeKind::Unknown;
}

std::string PlannedChange::display_address() const {
  if (deposed.empty()) return address;
  return fmt::format("{} (deposed object {})", address, deposed);
}

std::string PlannedChange::reason_text() const {
  const std::string& r = action_reason;
  if (r.empty()) return {};
  if (r == "replace_because_cannot_update") return "cannot be updated in place";
  if (r == "replace_because_tainted") return "tainted, so must be replaced";
  if (r == "replace_by_request") return "replacement requested (-replace)";
  if (r == "replace_by_triggers") return "replace_triggered_by changed";
  if (r == "delete_because_no_resource_config") return "no longer in configuration";
  if (r == "delete_because_no_module")
    return module_address.empty() ? "its module is no longer in configuration" : module_address + " is no longer in configuration";
  if (r == "delete_because_no_move_target")
    return fmt::format("{} was moved to {}, which is not in configuration", previous_address, address);
  if (r == "delete_because_count_index") return fmt::format("index [{}] is out of range for count", index.dump());
  if (r == "delete_because_each_key") return fmt::format("key [{}] is not in for_each map", index.dump());
  if (r == "delete_because_wrong_repetition") {
    if (index.is_number()) return "resource no longer uses count";
    if (index.is_string()) return "resource no longer uses for_each";
    return "resource now uses count or for_each";
  }
  if (r == "delete_because_enabled_false") return "disabled in configuration (enabled = false)";
  if (r == "read_because_config_unknown") return "config refers to values not yet known";
  if (r == "read_because_dependency_pending") return "depends on a resource or a module with changes pending";
  if (r == "read_because_check_nested") return "config will be reloaded to verify a check block";
  std::string words = r;
  std::replace(words.begin(), words.end(), '_', ' ');
  return words;
}

std::vector<std::string> PlanSummary::addresses(ChangeKind kind) const {
  std::vector<std::string> out;
  for (const auto& c : changes) {
    if (c.kind() == kind) out.push_back(c.display_address());
  }
  return out;
}

size_t PlanSummary::count(ChangeKind kind) const {
  return static_cast<size_t>(std::count_if(changes.begin(), changes.end(), [&](const PlannedChange& c) { return c.kind() == kind; }));
}

std::vector<std::pair<std::string, std::string>> PlanSummary::moves() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& c : changes) {
    if (c.moved()) out.emplace_back(c.previous_address, c.address);
  }
  return out;
}

std::vector<std::string> PlanSummary::imports() const {
  std::vector<std::string> out;
  for (const auto& c : changes) {
    if (c.importing) out.push_back(c.address);
  }
  return out;
}

size_t PlanSummary::to_add() const {
  size_t n = count(ChangeKind::Create) + count(ChangeKind::Replace);
  for (const auto& c : changes) {
    if (c.action == PlanAction::CreateThenForget) ++n;
  }
  return n;
}
size_t PlanSummary::to_change() const { return count(ChangeKind::Update); }
size_t PlanSummary::to_destroy() const { return count(ChangeKind::Delete) + count(ChangeKind::Replace); }

bool PlanSummary::needs_confirmation() const {
  return count(ChangeKind::Delete) > 0 || count(ChangeKind::Replace) > 0 || count(ChangeKind::Unknown) > 0;
}

bool PlanSummary::has_changes() const {
  for (const auto& c : changes) {
    if (c.kind() != ChangeKind::NoOp || c.moved() || c.importing) return true;
  }
  return !outputs.empty();
}

std::string PlanSummary::plan_line() const {
  std::string line = "Plan: ";
  if (size_t n = imports().size(); n > 0) line += fmt::format("{} to import, ", n);
  line += fmt::format("{} to add, {} to change, {} to destroy", to_add(), to_change(), to_destroy());
  if (size_t n = count(ChangeKind::Forget); n > 0) line += fmt::format(", {} to forget", n);
  return line + ".";
}

std::string PlanSummary::render_text() const {
  std::string out;
  if (errored.value_or(false)) out += "Planning failed: Terraform encountered an error while generating this plan.\n\n";

  if (!drift.empty()) {
    out += "Objects changed outside of Terraform:\n";
    for (const auto& d : drift) {
      std::string what = d.action == PlanAction::Delete ? "has been deleted" : d.action == PlanAction::Update ? "has changed" : std::string(action_description(d.action));
      out += fmt::format("{} {} ({})\n", action_symbol(d.action), d.display_address(), what);
    }
    out += "\n";
  }

  std::vector<const PlannedChange*> shown;
  for (const auto& c : changes) {
    if (c.kind() != ChangeKind::NoOp || c.moved() || c.importing) {
      if (c.action == PlanAction::Delete && c.mode == "data") continue;
      shown.push_back(&c);
    }
  }
  if (!shown.empty()) {
    out += "Terraform will perform the following actions:\n";
    for (const auto* c : shown) {
      std::vector<std::string> notes;
      if (std::string reason = c->reason_text(); !reason.empty()) notes.push_back(reason);
      if (c->moved()) notes.push_back("moved from " + c->previous_address);
      if (c->importing) notes.push_back("imported");
      if (c->kind() == ChangeKind::Unknown) notes.push_back("unknown actions " + join(c->actions, ","));
      out += fmt::format("{} {}", action_symbol(c->action), c->display_address());
      if (!notes.empty()) out += " (" + join(notes, "; ") + ")";
      out += "\n";
    }
    out += "\n" + plan_line() + "\n";
  }
  if (!outputs.empty()) {
    out += shown.empty() ? "" : "\n";
    out += "Changes to Outputs:\n";
    for (const auto& o : outputs) out += fmt::format("{} {}\n", action_symbol(o.action), o.name);
  }
  if (!has_changes()) {
    out += drift.empty() ? "No changes. Your infrastructure matches the configuration.\n"
                         : "No changes to apply: only the state would record the changes made outside of Terraform.\n";
  }
  return out;
}

Result<PlanSummary> parse_plan_json(std::string_view json, std::string_view what) {
  RB_TRY_ASSIGN(nlohmann::json doc, parse_json_document(json, what));
  if (!doc.is_object()) return invalid_plan(what, fmt::format("the document is {}, not an object", doc.type_name()));
  PlanSummary plan;
  RB_TRY_ASSIGN(plan.format_version, string_member(doc, "format_version", what, ""));
  if (plan.format_version.empty()) return invalid_plan(what, "it has no \"format_version\"");
  bool is_plan = std::any_of(std::begin(kPlanMembers), std::end(kPlanMembers), [&](const char* m) { return doc.contains(m); });
  if (!is_plan) {
    return invalid_plan(what, doc.contains("values") || doc.size() == 1 ? "it is `terraform show -json` output of a state, not of a plan"
                                                                        : "it has none of planned_values, resource_changes, configuration");
  }
  if (plan.format_version.substr(0, plan.format_version.find('.')) != "1")
    return invalid_plan(what, fmt::format("unsupported format_version \"{}\" (this tool reads 1.x)", plan.format_version));
  RB_TRY_ASSIGN(plan.terraform_version, string_member(doc, "terraform_version", what, ""));
  for (auto [key, target] : {std::pair{"applyable", &plan.applyable}, std::pair{"complete", &plan.complete},
                             std::pair{"errored", &plan.errored}}) {
    if (auto it = doc.find(key); it != doc.end() && it->is_boolean()) *target = it->get<bool>();
  }
  RB_TRY_ASSIGN(plan.changes, parse_changes(doc, "resource_changes", what));
  RB_TRY_ASSIGN(plan.drift, parse_changes(doc, "resource_drift", what));
  if (auto oc = doc.find("output_changes"); oc != doc.end() && !oc->is_null()) {
    if (!oc->is_object()) return invalid_plan(what, "\"output_changes\" is not an object");
    for (const auto& [name, change] : oc->items()) {
      OutputChange o;
      o.name = name;
      RB_TRY_ASSIGN(o.actions, actions_of(change.is_object() ? change : nlohmann::json(), what, "output_changes." + name + ": "));
      o.action = plan_action_from(o.actions);
      if (o.action != PlanAction::NoOp) plan.outputs.push_back(std::move(o));
    }
  }
  return plan;
}

}  // namespace rb::infra
