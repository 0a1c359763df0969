// Preparing a state restore: deciding whether an old state version may replace the current one,
// and building the exact bytes to write and their MD5 digest. Pure: storage, locks and the digest
// item are the caller's (see storage.hpp and s3_backend.hpp).
//
// The rules mirror `terraform state push` (statemgr.CheckValidImport), which refuses:
//   cannot import state with lineage %q over unrelated state with lineage %q
//   cannot import state with serial %d over newer state with serial %d
//   cannot overwrite existing state with serial %d with a different state that has the same serial
// A restore keeps the lineage and writes the old content under a serial above the current one, so
// Terraform sees an ordinary newer snapshot (what HCP Terraform and Spacelift do on rollback).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "infra/state_diff.hpp"
#include "infra/tfstate.hpp"
#include "util/result.hpp"

namespace rb::infra {

struct RestoreOptions {
  // Restore a version whose lineage differs from the current state's (like `state push -force`,
  // for the lineage check only). The written file keeps the target's lineage.
  bool force_lineage = false;
  // Restore over a current state that cannot be read (invalid JSON, encrypted, not version 4),
  // which is the "state is corrupted" case the runbook's Method 3 is for. Without it, refused.
  bool allow_unreadable_current = false;
};

struct PreparedRestore {
  std::string bytes;    // the file to write: the target re-laid like Terraform (2 spaces, newline), new serial
  std::string md5_hex;  // lowercase hex MD5 of `bytes`: the Digest of DynamoDB item "<bucket>/<key>-md5"
  int64_t new_serial = 0;
  int64_t target_serial = 0;
  std::optional<int64_t> current_serial;  // nullopt when there is no current state or it is unreadable
  std::string lineage;
  std::string terraform_version;  // the target's, unchanged
  // From the current state to the restored one. changes.only_in_a are the orphaned instances: they
  // exist (the current state tracks them) but the restored state forgets them; changes.only_in_b
  // are instances the restored state believes exist although they may have been destroyed since.
  StateDiff changes;
  std::vector<std::string> warnings;  // things the user must hear before confirming

  const std::vector<std::string>& orphaned() const { return changes.only_in_a; }
};

// Same resources and same outputs (compared as JSON values, so key order and whitespace do not
// matter; array order does). serial, lineage, terraform_version and check_results are ignored:
// check_results is recomputed by every plan, and the others are what a restore changes anyway.
// This is the meaning of "the target equals the current content", which is refused as a no-op.
bool same_content(const StateFile& a, const StateFile& b);

// `current`: the bytes of the current state object, nullopt when none exists (never written, or
// its latest version is a delete marker). `target`: the bytes of the version to restore.
//
// Refused (code Refused, with a hint; Error::tag in brackets) when the target is not valid JSON
// ["invalid_json"], encrypted ["encrypted"], not format version 4 ["state_version"], not a state
// ["invalid_state"]; when its lineage differs from the current one ["lineage"] unless
// force_lineage or the current state is empty (Terraform lets anything overwrite an empty state);
// when it has the current content ["unchanged"]; when the current state is unreadable
// ["current_unreadable"] unless allow_unreadable_current.
//
// The new serial is max(current serial, target serial) + 1, i.e. current + 1 in every ordinary
// restore, and above anything Terraform could compare it with.
Result<PreparedRestore> prepare_restore(std::optional<std::string_view> current, std::string_view target,
                                        const RestoreOptions& options = {});

}  // namespace rb::infra
