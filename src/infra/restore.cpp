#include "infra/restore.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "infra/json_doc.hpp"
#include "util/hash.hpp"

namespace rb::infra {

namespace {

const nlohmann::json& member_or_empty(const nlohmann::json& doc, const char* key, const nlohmann::json& empty) {
  auto it = doc.find(key);
  if (it == doc.end() || it->is_null()) return empty;
  return *it;
}

Error refused(Error err, std::string tag = {}) {
  err.code = ExitCode::Refused;
  if (!tag.empty()) err.tag = std::move(tag);
  return err;
}

}  // namespace

bool same_content(const StateFile& a, const StateFile& b) {
  static const nlohmann::json kEmptyArray = nlohmann::json::array();
  static const nlohmann::json kEmptyObject = nlohmann::json::object();
  return member_or_empty(a.document, "resources", kEmptyArray) == member_or_empty(b.document, "resources", kEmptyArray) &&
         member_or_empty(a.document, "outputs", kEmptyObject) == member_or_empty(b.document, "outputs", kEmptyObject);
}

Result<PreparedRestore> prepare_restore(std::optional<std::string_view> current, std::string_view target,
                                        const RestoreOptions& options) {
  auto parsed_target = parse_state(target, "the state version to restore");
  if (!parsed_target) {
    Error err = parsed_target.take_error();
    if (err.tag == "invalid_json" || err.tag == "invalid_state") {
      err.hint = "pick another version: this one cannot be a state Terraform wrote";
    }
    return refused(std::move(err));
  }
  StateFile restored = std::move(*parsed_target);

  PreparedRestore out;
  out.target_serial = restored.serial;
  out.lineage = restored.lineage;
  out.terraform_version = restored.terraform_version;

  std::optional<StateFile> live;
  if (current) {
    auto parsed_current = parse_state(*current, "the current state");
    if (parsed_current) {
      live = std::move(*parsed_current);
    } else if (!options.allow_unreadable_current) {
      Error err = parsed_current.take_error();
      err.message += "; cannot check lineage and serial against it";
      err.hint = "if the current state is known to be corrupted, restore over it explicitly (--allow-unreadable-current); "
                 "its bytes stay in the bucket as an older version";
      return refused(std::move(err), "current_unreadable");
    } else {
      out.warnings.push_back(fmt::format("restoring over an unreadable current state ({}); lineage and serial were not checked",
                                         parsed_current.error().message));
    }
  }

  if (live) {
    out.current_serial = live->serial;
    if (restored.lineage != live->lineage) {
      if (live->empty()) {
        out.warnings.push_back(fmt::format("the current state (lineage \"{}\") is empty; it is replaced by lineage \"{}\"",
                                           live->lineage, restored.lineage));
      } else if (options.force_lineage) {
        out.warnings.push_back(fmt::format(
            "forced: the restored state has lineage \"{}\", unrelated to the current lineage \"{}\"", restored.lineage, live->lineage));
      } else {
        Error err = refusal(
            fmt::format("cannot import state with lineage \"{}\" over unrelated state with lineage \"{}\" (like `terraform state push`): "
                        "the version to restore does not belong to this state's history",
                        restored.lineage, live->lineage),
            "check the bucket, key and workspace; if replacing the state with an unrelated one is really intended, use --force-lineage");
        err.tag = "lineage";
        return err;
      }
    }
    if (same_content(restored, *live)) {
      Error err = refusal(fmt::format("the state version to restore (serial {}) has the same resources and outputs as the current "
                                      "state (serial {}): restoring it would change nothing",
                                      restored.serial, live->serial),
                          "list the versions (rollback state versions) and pick an older one");
      err.tag = "unchanged";
      return err;
    }
    out.changes = diff_states(*live, restored);
    if (!out.changes.only_in_a.empty()) {
      out.warnings.push_back(fmt::format(
          "{} resource instance(s) exist in the current state but not in the restored one; Terraform will no longer manage them "
          "(orphaned): {}",
          out.changes.only_in_a.size(), fmt::join(out.changes.only_in_a, ", ")));
    }
    if (!out.changes.only_in_b.empty()) {
      out.warnings.push_back(fmt::format(
          "{} resource instance(s) are in the restored state but not in the current one; they may have been destroyed since, and "
          "the next plan will show what Terraform wants to do about them: {}",
          out.changes.only_in_b.size(), fmt::join(out.changes.only_in_b, ", ")));
    }
  }

  out.new_serial = std::max(live ? live->serial : 0, restored.serial) + 1;
  std::string text(target);
  out.bytes = reindent_like_terraform(text, {{"serial", std::to_string(out.new_serial)}});

  // The written file must be the target with only the serial changed.
  nlohmann::json expected = restored.document;
  expected["serial"] = out.new_serial;
  auto check = nlohmann::json::parse(out.bytes, nullptr, false);
  if (check.is_discarded() || check != expected) {
    return failure("internal error: the restored state file does not match the version it was built from",
                   "nothing was written; please report this with the version id");
  }
  out.md5_hex = md5_hex(out.bytes);
  out.warnings.push_back("saved plans made before the restore are stale; make a new plan before applying");
  return out;
}

}  // namespace rb::infra
