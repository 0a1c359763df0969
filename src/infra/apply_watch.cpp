#include "infra/apply_watch.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "infra/state_restore.hpp"
#include "util/strings.hpp"

namespace rb::infra {

namespace {

std::string where(const ApplyWatch& w) { return "s3://" + w.location.bucket + "/" + w.location.key; }

// The current version of the state object itself (not another key under the same prefix).
std::optional<S3ObjectVersion> current_version(const std::vector<S3ObjectVersion>& versions, const std::string& key) {
  for (const auto& v : versions)
    if (v.key == key && v.is_latest && !v.is_delete_marker) return v;
  return std::nullopt;
}

// Who holds Terraform's lock on the state now (state_restore's reading of it), nullopt when nobody does.
Result<std::optional<std::string>> lock_holder(StateObjectStore& store, LockTable* locks, const ApplyWatch& w) {
  RB_TRY_ASSIGN(auto held, inspect_terraform_lock(store, locks, w.location, w.dynamodb_table, w.use_lockfile));
  if (!held) return std::optional<std::string>();
  if (!held->readable) return std::optional<std::string>("a holder whose lock information cannot be read");
  std::string out = held->info.who.empty() ? "someone" : held->info.who;
  if (!held->info.operation.empty()) out += " (" + held->info.operation + ")";
  return std::optional<std::string>(out);
}

}  // namespace

Result<ApplyObserved> wait_for_apply(StateObjectStore& store, LockTable* locks, const ApplyWatch& w, Clock& clock,
                                     const std::function<void(const std::string&)>& emit) {
  const auto deadline = clock.now() + w.timeout;
  const auto after = w.pushed_at - w.clock_skew;
  ApplyObserved seen;
  std::string last;  // what the last poll saw, for the timeout's message
  std::string reported;
  // The version current at the first read: CI cannot have planned and applied in the moment since
  // the push, so it only counts when written after the push by our clock, without the skew (a
  // version written seconds before the push, by the last apply, is not this one).
  std::optional<std::string> baseline;
  for (;;) {
    ++seen.polls;
    auto versions = store.list_object_versions(w.location.bucket, w.location.key);
    if (!versions) {
      Error e = versions.take_error();
      e.message = fmt::format("cannot read the Terraform state {} to see CI's apply: {}", where(w), e.message);
      if (e.hint.empty()) e.hint = "check the state bucket's name and your access to it (rollback state list --env ENV)";
      return e;
    }
    auto current = current_version(*versions, w.location.key);
    if (!baseline) baseline = current ? current->version_id : std::string();
    const bool applied = current && (current->version_id == *baseline ? current->last_modified >= w.pushed_at
                                                                       : current->last_modified >= after);
    if (applied) {
      RB_TRY_ASSIGN(auto holder, lock_holder(store, locks, w));
      if (!holder) {
        seen.version = *current;
        emit(fmt::format("CI's apply wrote state version {} at {}, and Terraform's lock is free", current->version_id,
                         iso8601(current->last_modified)));
        return seen;
      }
      last = fmt::format("state version {} was written at {}, but Terraform's lock is still held by {}",
                         current->version_id, iso8601(current->last_modified), *holder);
    } else {
      RB_TRY_ASSIGN(auto holder, lock_holder(store, locks, w));
      last = current ? fmt::format("the current state version {} is from {}, before the push", current->version_id,
                                   iso8601(current->last_modified))
                     : std::string("the state object does not exist");
      if (holder) last += fmt::format("; Terraform's lock is held by {} (an apply is running)", *holder);
    }
    if (last != reported) {
      emit(last);
      reported = last;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock.now());
    if (left.count() <= 0)
      return failure(fmt::format("CI's Terraform apply was not seen within {}s: {}", w.timeout.count() / 1000, last),
                     "the revert is pushed; look at the environment's Terraform workflow in CI. When it has applied, "
                     "`rollback state list --env ENV` shows the new version; if CI cannot apply, apply it from here "
                     "with `rollback infra --env ENV --known-good <the revert commit>`");
    if (!clock.sleep_for(std::min(left, w.poll_interval)))
      return interrupted_error("interrupted while waiting for CI's Terraform apply; the revert is pushed");
  }
}

NoChangesCheck check_no_changes(TerraformRunner& tf, const std::filesystem::path& plan_file) {
  NoChangesCheck check;
  if (auto st = tf.init(); !st) {
    check.detail = "terraform init failed: " + st.error().message;
    return check;
  }
  auto has_changes = tf.plan_has_changes(plan_file);
  if (!has_changes) {
    check.detail = "terraform plan failed: " + has_changes.error().message;
    return check;
  }
  if (!*has_changes) {
    check.verdict = NoChangesVerdict::NoChanges;
    return check;
  }
  check.verdict = NoChangesVerdict::Changes;
  auto summary = tf.show_json(plan_file);
  if (!summary) {
    // The exit code said "changes"; how many is unknown, but at least one.
    check.changes = 1;
    check.detail = "the plan could not be read: " + summary.error().message;
    return check;
  }
  std::vector<std::string> addresses;
  for (const auto& c : summary->changes)
    if (c.kind() != ChangeKind::NoOp || c.moved() || c.importing) addresses.push_back(c.address);
  check.changes = std::max<size_t>(1, addresses.size() + summary->outputs.size());
  check.plan_line = summary->plan_line();
  check.detail = addresses.empty() ? std::string("output changes only") : join(addresses, ", ");
  return check;
}

}  // namespace rb::infra
