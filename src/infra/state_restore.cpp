#include "infra/state_restore.hpp"

#include <fmt/format.h>

#include "infra/state_versions.hpp"
#include "util/fs.hpp"
#include "util/hash.hpp"
#include "util/strings.hpp"

namespace rb::infra {

namespace {

std::string url_of(const StateLocation& l) { return "s3://" + l.bucket + "/" + l.key; }
std::string lockfile_url(const StateLocation& l) { return "s3://" + l.bucket + "/" + l.lockfile_key(); }
std::string item_where(const std::string& table, const std::string& lock_id) {
  return fmt::format("DynamoDB table {}, LockID {}", table, lock_id);
}

// Prefixes what was being done to an error from the storage layer, keeping its code, hint and tag.
Error while_doing(Error e, const std::string& what) {
  e.message = what + ": " + e.message;
  return e;
}

std::string force_unlock_advice(const std::string& lock_id, const std::string& terraform_dir) {
  std::string where = terraform_dir.empty() ? std::string("the Terraform root module") : terraform_dir;
  return fmt::format("`terraform force-unlock -force {}` (in {})", lock_id.empty() ? "<lock ID>" : lock_id, where);
}

Error held_lock_error(const HeldLock& held, const StateRestoreRequest& req, std::chrono::system_clock::time_point now) {
  std::string holder = held.readable ? describe_lock_holder(held.info, now) : "someone (its lock information cannot be read)";
  Error e = lock_error(
      fmt::format("Terraform's state lock ({}) is held by {}: a Terraform run (or another restore) is using this state; "
                  "nothing was changed",
                  held.where, holder),
      fmt::format("wait until that run ends and try again. If it is dead (its process is gone), release the lock with {}{}, "
                  "then try again",
                  force_unlock_advice(held.info.id, req.terraform_dir),
                  held.info.operation == kRestoreOperation
                      ? "; it was left by a `rollback state restore` that did not finish (see `rollback history`)"
                      : ""));
  e.tag = "state_locked";
  return e;
}

// The lock as stored in `text`; unreadable lock information still means "held".
HeldLock held_from(std::string where, const std::string& text) {
  HeldLock held;
  held.where = std::move(where);
  auto info = parse_lock_info(text);
  if (info) {
    held.info = std::move(*info);
  } else {
    held.readable = false;
  }
  return held;
}

// Terraform's lock(s), taken in Terraform's order (the .tflock object, then the DynamoDB item)
// and released in reverse order, by the destructor if not explicitly. Only a lock whose LockInfo
// still carries our ID is removed: if someone force-unlocked it and locked again, it is theirs.
class TerraformLockGuard {
 public:
  TerraformLockGuard(StateObjectStore& store, LockTable* locks, const StateRestoreRequest& req,
                     const StateRestoreHooks& hooks, Clock& clock)
      : store_(store), locks_(locks), req_(req), hooks_(hooks), clock_(clock) {}
  TerraformLockGuard(const TerraformLockGuard&) = delete;
  TerraformLockGuard& operator=(const TerraformLockGuard&) = delete;

  ~TerraformLockGuard() {
    if (!held()) return;
    auto st = release();
    if (!st && hooks_.warn) hooks_.warn(st.error().message + "; " + st.error().hint);
  }

  bool held() const { return lockfile_held_ || item_held_; }
  // After a failed release that was reported: do not try again silently in the destructor
  // (the report already tells the user to release it by hand).
  void abandon() { lockfile_held_ = item_held_ = false; }

  Status acquire(const LockInfo& info) {
    id_ = info.id;
    const std::string json = lock_info_json(info);
    const StateLocation& loc = req_.location;
    if (req_.use_lockfile) {
      auto put = store_.put_object(loc.bucket, loc.lockfile_key(), json, /*if_none_match=*/true);
      if (!put) {
        Error e = put.take_error();
        if (e.tag == "PreconditionFailed") return held_error_from_lockfile();
        if (e.tag != "ambiguous" || !lockfile_is_ours()) return while_doing(std::move(e), "taking Terraform's lock " + lockfile_url(loc));
      }
      lockfile_held_ = true;
    }
    if (!req_.dynamodb_table.empty()) {
      auto put = locks_->put_item(req_.dynamodb_table, loc.lock_id(), kLockInfoAttribute, json, /*only_if_absent=*/true);
      if (!put) {
        Error e = put.take_error();
        if (e.tag == "ConditionalCheckFailedException") return held_error_from_item();
        if (e.tag != "ambiguous" || !item_is_ours()) {
          if (e.tag == "ResourceNotFoundException" && e.hint.empty())
            e.hint = fmt::format("check terraform.state.dynamodb_table ({}) and the region of this environment",
                                 req_.dynamodb_table);
          return while_doing(std::move(e), "taking Terraform's lock (" + item_where(req_.dynamodb_table, loc.lock_id()) + ")");
        }
      }
      item_held_ = true;
    }
    return {};
  }

  // Removes what is still ours. An error names what could not be released and how to do it by hand.
  Status release() {
    std::vector<std::string> problems;
    const StateLocation& loc = req_.location;
    if (item_held_) {
      auto current = locks_->get_item(req_.dynamodb_table, loc.lock_id(), kLockInfoAttribute);
      if (!current) {
        problems.push_back("reading the DynamoDB lock item: " + current.error().message);
      } else if (!*current) {
        item_held_ = false;
        warn("Terraform's DynamoDB lock item was already gone when the restore released it (someone force-unlocked it)");
      } else if (!is_ours(**current)) {
        item_held_ = false;
        warn("Terraform's DynamoDB lock item now belongs to someone else (it was force-unlocked and taken): left alone");
      } else if (auto del = locks_->delete_item(req_.dynamodb_table, loc.lock_id()); !del) {
        problems.push_back("deleting the DynamoDB lock item: " + del.error().message);
      } else {
        item_held_ = false;
      }
    }
    if (lockfile_held_) {
      auto current = store_.get_object(loc.bucket, loc.lockfile_key(), "");
      if (!current && current.error().tag == "NoSuchKey") {
        lockfile_held_ = false;
        warn("Terraform's .tflock object was already gone when the restore released it (someone force-unlocked it)");
      } else if (!current) {
        problems.push_back("reading " + lockfile_url(loc) + ": " + current.error().message);
      } else if (!is_ours(*current)) {
        lockfile_held_ = false;
        warn("Terraform's .tflock object now belongs to someone else (it was force-unlocked and taken): left alone");
      } else if (auto del = store_.delete_object(loc.bucket, loc.lockfile_key()); !del) {
        problems.push_back("deleting " + lockfile_url(loc) + ": " + del.error().message);
      } else {
        lockfile_held_ = false;
      }
    }
    if (problems.empty()) return {};
    Error e = failure(fmt::format("could not release Terraform's lock of {} (lock ID {}): {}", url_of(loc), id_,
                                  join(problems, "; ")),
                      "release it with " + force_unlock_advice(id_, req_.terraform_dir));
    e.tag = "unlock_failed";
    return e;
  }

  std::vector<std::string> describe() const {
    std::vector<std::string> where;
    if (lockfile_held_) where.push_back(lockfile_url(req_.location));
    if (item_held_) where.push_back(item_where(req_.dynamodb_table, req_.location.lock_id()));
    return where;
  }

 private:
  bool is_ours(const std::string& text) const {
    auto info = parse_lock_info(text);
    return info && info->id == id_;
  }
  bool lockfile_is_ours() {
    auto current = store_.get_object(req_.location.bucket, req_.location.lockfile_key(), "");
    return current && is_ours(*current);
  }
  bool item_is_ours() {
    auto current = locks_->get_item(req_.dynamodb_table, req_.location.lock_id(), kLockInfoAttribute);
    return current && *current && is_ours(**current);
  }
  void warn(const std::string& message) {
    if (hooks_.warn) hooks_.warn(message);
  }
  Error held_error_from_lockfile() {
    auto text = store_.get_object(req_.location.bucket, req_.location.lockfile_key(), "");
    if (!text) return lock_was_released();
    return held_lock_error(held_from(lockfile_url(req_.location), *text), req_, clock_.wall_now());
  }
  Error held_error_from_item() {
    auto text = locks_->get_item(req_.dynamodb_table, req_.location.lock_id(), kLockInfoAttribute);
    if (!text || !*text) return lock_was_released();
    return held_lock_error(held_from(item_where(req_.dynamodb_table, req_.location.lock_id()), **text), req_,
                           clock_.wall_now());
  }
  Error lock_was_released() {
    Error e = lock_error(fmt::format("Terraform's state lock of {} was held by someone a moment ago (it may be free "
                                     "now); nothing was changed",
                                     url_of(req_.location)),
                         "try again");
    e.tag = "state_locked";
    return e;
  }

  StateObjectStore& store_;
  LockTable* locks_;
  const StateRestoreRequest& req_;
  const StateRestoreHooks& hooks_;
  Clock& clock_;
  std::string id_;
  bool lockfile_held_ = false;
  bool item_held_ = false;
};

Error digest_mismatch_error(const StateRestoreReport& r, const StateRestoreRequest& req) {
  Error e = refusal(
      fmt::format("the current state ({} version {}, MD5 {}) does not match its digest in DynamoDB ({}: Digest {}): it was "
                  "changed without Terraform, or a Terraform run died between writing the state and the digest. Terraform "
                  "itself stops on this with \"state data in S3 does not have the expected content\"; nothing was changed",
                  url_of(req.location), r.current_version_id, *r.current_md5,
                  item_where(req.dynamodb_table, req.location.digest_lock_id()), *r.digest_before),
      "find out what changed the state first (`rollback state list --details`, `rollback state diff`); if restoring is "
      "the fix, rerun with --force: the digest is then rewritten to match the restored state");
  e.tag = "digest_mismatch";
  return e;
}

}  // namespace

Result<std::optional<HeldLock>> inspect_terraform_lock(StateObjectStore& store, LockTable* locks,
                                                       const StateLocation& location, const std::string& dynamodb_table,
                                                       bool use_lockfile) {
  if (use_lockfile) {
    auto text = store.get_object(location.bucket, location.lockfile_key(), "");
    if (text) return std::optional<HeldLock>(held_from(lockfile_url(location), *text));
    if (text.error().tag != "NoSuchKey") return while_doing(text.take_error(), "reading " + lockfile_url(location));
  }
  if (!dynamodb_table.empty() && locks != nullptr) {
    auto text = locks->get_item(dynamodb_table, location.lock_id(), kLockInfoAttribute);
    if (!text) {
      return while_doing(text.take_error(),
                         "reading Terraform's lock (" + item_where(dynamodb_table, location.lock_id()) + ")");
    }
    if (*text) return std::optional<HeldLock>(held_from(item_where(dynamodb_table, location.lock_id()), **text));
  }
  return std::optional<HeldLock>();
}

Result<StateRestoreReport> restore_state(StateObjectStore& store, LockTable* locks, const StateRestoreRequest& req,
                                         const StateRestoreHooks& hooks, Clock& clock) {
  const StateLocation& loc = req.location;
  const bool with_table = !req.dynamodb_table.empty();
  if (with_table && locks == nullptr) return failure("internal error: a DynamoDB table is configured but no client was made");

  StateRestoreReport report;
  report.dry_run = req.dry_run;
  auto emit = [&](const std::string& m) {
    if (hooks.event) hooks.event(m);
  };
  auto warn = [&](const std::string& m) {
    if (hooks.warn) hooks.warn(m);
  };
  auto start = [&](const char* step) {
    if (hooks.step_started) hooks.step_started(step);
  };
  auto done = [&](const char* step, const nlohmann::json& facts) {
    report.steps_done.emplace_back(step);
    if (hooks.step_done) hooks.step_done(step, facts);
  };
  // Ctrl-C is honoured between steps until the write is sent.
  auto stop_if_interrupted = [&](const char* after) -> Status {
    if (!interrupted()) return {};
    return interrupted_error(fmt::format("interrupted after step \"{}\": nothing was written to {}{}", after, url_of(loc),
                                         report.steps_done.empty() || report.steps_done.front() != kStepLock
                                             ? ""
                                             : "; Terraform's lock is released"));
  };

  // 1. Terraform's lock.
  TerraformLockGuard guard(store, locks, req, hooks, clock);
  if (req.dry_run) {
    RB_TRY_ASSIGN(auto held, inspect_terraform_lock(store, locks, loc, req.dynamodb_table, req.use_lockfile));
    if (held) return held_lock_error(*held, req, clock.wall_now());
    if (with_table || req.use_lockfile) emit("Terraform's lock is free (dry run: not taken)");
  } else {
    LockInfo info = new_lock_info(std::string(kRestoreOperation), loc.lock_id(), req.lock_info, clock.wall_now());
    start(kStepLock);
    RB_TRY(guard.acquire(info));
    report.lock_id = info.id;
    auto where = guard.describe();
    if (where.empty()) {
      warn(fmt::format("the backend of {} has no lock (neither dynamodb_table nor use_lockfile): nothing stops a Terraform "
                       "run from writing the state during the restore",
                       url_of(loc)));
    } else {
      emit(fmt::format("took Terraform's lock ({}), lock ID {}", join(where, " and "), info.id));
    }
    done(kStepLock, {{"lock_id", info.id}, {"where", where}});
  }
  RB_TRY(stop_if_interrupted(kStepLock));

  // 2. The current state and its digest.
  if (!req.dry_run) start(kStepReadCurrent);
  RB_TRY_ASSIGN(StateVersions versions, list_state_versions(store, loc));
  std::optional<std::string> current;
  if (const StateVersion* cur = versions.current()) {
    RB_TRY_ASSIGN(std::string bytes, read_state_version(store, loc, cur->version_id));
    report.current_version_id = cur->version_id;
    report.current_md5 = md5_hex(bytes);
    current = std::move(bytes);
  } else if (!versions.versions.empty() && !versions.deleted) {
    return failure(fmt::format("S3 lists {} version(s) of {} but marks none as the latest, so the current state is "
                               "unknown; nothing was changed",
                               versions.versions.size(), url_of(loc)),
                   "try again; if it persists, look at the bucket with `aws s3api list-object-versions`");
  }
  if (with_table) {
    auto digest = locks->get_item(req.dynamodb_table, loc.digest_lock_id(), kDigestAttribute);
    if (!digest)
      return while_doing(digest.take_error(),
                         "reading the state's digest (" + item_where(req.dynamodb_table, loc.digest_lock_id()) + ")");
    report.digest_before = *digest;
    if (*digest && !(*digest)->empty() && current && **digest != *report.current_md5) {
      if (!req.force_digest) return digest_mismatch_error(report, req);
      report.digest_mismatch = true;
      warn(fmt::format("the current state's MD5 {} does not match its digest {} (--force: going on; the digest is "
                       "rewritten to match the restored state)",
                       *report.current_md5, **digest));
    }
  }
  {
    std::string digest_note = !with_table                                  ? "no DynamoDB table: no digest to check"
                              : !report.digest_before || report.digest_before->empty() ? "no digest item to check"
                              : report.digest_mismatch                    ? "digest MISMATCH (forced)"
                                                                           : "digest matches";
    if (current) {
      emit(fmt::format("current state: version {}, {} bytes, MD5 {} ({})", report.current_version_id, current->size(),
                       *report.current_md5, digest_note));
    } else {
      emit(fmt::format("there is no current state object at {}{}", url_of(loc),
                       versions.deleted ? " (its latest version is a delete marker)" : ""));
    }
  }
  done(kStepReadCurrent, {{"version_id", report.current_version_id},
                          {"md5", report.current_md5 ? nlohmann::json(*report.current_md5) : nlohmann::json()},
                          {"digest", report.digest_before ? nlohmann::json(*report.digest_before) : nlohmann::json()}});
  RB_TRY(stop_if_interrupted(kStepReadCurrent));

  // 3. The version to restore.
  if (!req.dry_run) start(kStepReadTarget);
  RB_TRY_ASSIGN(const StateVersion* target, find_state_version(versions, loc, req.version_id));
  report.target_version_id = target->version_id;
  if (target->is_current) {
    Error e = refusal(fmt::format("version {} is the current state of {} already: restoring it would change nothing",
                                  target->version_id, url_of(loc)),
                      "`rollback state list` shows the older versions");
    e.tag = "unchanged";
    return e;
  }
  RB_TRY_ASSIGN(std::string target_bytes, read_state_version(store, loc, target->version_id));
  auto prepared = prepare_restore(current ? std::optional<std::string_view>(*current) : std::nullopt, target_bytes,
                                  req.prepare);
  if (!prepared) {
    Error e = prepared.take_error();
    if (!contains(e.message, "nothing was changed")) e.message += "; nothing was changed";
    return e;
  }
  report.prepared = std::move(*prepared);
  if (current) {
    if (auto live = parse_state(*current, "the current state"); live && !live->empty()) {
      report.current_lineage = live->lineage;
      report.lineage_forced = live->lineage != report.prepared.lineage;
    }
  }
  emit(fmt::format("version to restore: {}, serial {}, lineage {}, written by Terraform {}", target->version_id,
                   report.prepared.target_serial, report.prepared.lineage,
                   report.prepared.terraform_version.empty() ? "(unknown)" : report.prepared.terraform_version));
  done(kStepReadTarget, {{"version_id", target->version_id},
                         {"serial", report.prepared.target_serial},
                         {"new_serial", report.prepared.new_serial},
                         {"md5", report.prepared.md5_hex}});
  if (hooks.plan) hooks.plan(report);
  if (req.dry_run) return report;
  if (hooks.confirm) RB_TRY(hooks.confirm(report));
  RB_TRY(stop_if_interrupted(kStepReadTarget));

  // 4. Backup of the current state.
  start(kStepBackup);
  if (current) {
    if (auto st = write_private_file(req.backup_path, *current); !st) {
      Error e = st.take_error();
      e.message = fmt::format("saving the current state to {} before replacing it: {}; nothing was changed",
                              req.backup_path.string(), e.message);
      if (e.hint.empty()) e.hint = "make the backup folder writable (backup_dir in rollback.yaml) and try again";
      return e;
    }
    report.backup_path = req.backup_path;
    emit(fmt::format("saved the current state (version {}) to {} (mode 0600)", report.current_version_id,
                     req.backup_path.string()));
  } else {
    emit("no current state: nothing to back up");
  }
  done(kStepBackup, {{"path", report.backup_path.empty() ? nlohmann::json() : nlohmann::json(report.backup_path.string())}});
  RB_TRY(stop_if_interrupted(kStepBackup));

  // 5. The write. From here on Ctrl-C waits until the digest matches the state again.
  start(kStepWrite);
  auto put = store.put_object(loc.bucket, loc.key, report.prepared.bytes, /*if_none_match=*/false);
  if (put) {
    report.new_version_id = *put;
  } else {
    // Did it land anyway (a failure after S3 acted)? Only the bytes say.
    Error e = put.take_error();
    auto now_current = store.get_object(loc.bucket, loc.key, "");
    if (!now_current || *now_current != report.prepared.bytes) {
      e.message = fmt::format("writing the restored state to {}: {}; the state was not replaced (its digest still matches "
                              "it), and Terraform's lock is released",
                              url_of(loc), e.message);
      if (e.hint.empty()) e.hint = "fix the cause and run the restore again";
      return e;
    }
    warn(fmt::format("S3 reported the write as failed ({}), but the state object holds the restored bytes: going on",
                     e.message));
    if (auto listed = list_state_versions(store, loc); listed && listed->current())
      report.new_version_id = listed->current()->version_id;
  }
  emit(fmt::format("wrote the restored state to {} as the new current version {} (serial {}, MD5 {}); older versions "
                   "stay in the bucket",
                   url_of(loc), report.new_version_id.empty() ? "(unversioned)" : report.new_version_id,
                   report.prepared.new_serial, report.prepared.md5_hex));
  done(kStepWrite, {{"version_id", report.new_version_id}, {"serial", report.prepared.new_serial},
                    {"md5", report.prepared.md5_hex}});

  // 6. The digest Terraform checks on every read.
  if (with_table) {
    start(kStepDigest);
    auto st = locks->put_item(req.dynamodb_table, loc.digest_lock_id(), kDigestAttribute, report.prepared.md5_hex,
                              /*only_if_absent=*/false);
    if (!st) {
      Error e = st.take_error();
      e.message = fmt::format(
          "the restored state was written ({} version {}) but its digest could not be updated: {}. Until it is, "
          "Terraform refuses the state (\"state data in S3 does not have the expected content\")",
          url_of(loc), report.new_version_id, e.message);
      e.hint = fmt::format(
          "set it by hand: aws dynamodb put-item --table-name {} --item "
          "'{{\"LockID\":{{\"S\":\"{}\"}},\"Digest\":{{\"S\":\"{}\"}}}}'",
          req.dynamodb_table, loc.digest_lock_id(), report.prepared.md5_hex);
      e.code = ExitCode::Failed;
      return e;
    }
    emit(fmt::format("updated the digest ({}) to {}", item_where(req.dynamodb_table, loc.digest_lock_id()),
                     report.prepared.md5_hex));
    done(kStepDigest, {{"lock_id", loc.digest_lock_id()}, {"digest", report.prepared.md5_hex}});
  }
  report.interrupted = interrupted();

  // 7. Release the lock.
  start(kStepUnlock);
  if (guard.held()) {
    auto where = guard.describe();
    if (auto st = guard.release(); !st) {
      guard.abandon();
      Error e = st.take_error();
      e.message = "the state was restored, but " + e.message;
      return e;
    }
    emit(fmt::format("released Terraform's lock ({})", join(where, " and ")));
  }
  done(kStepUnlock, nlohmann::json::object());
  return report;
}

}  // namespace rb::infra
