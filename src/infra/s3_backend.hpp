// The S3 backend's naming rules (where a workspace's state, its lock and its digest live) and the
// state's version history as ListObjectVersions reports it. Pure: the S3 client adapts its
// listing to S3ObjectVersion (see storage.hpp).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace rb::infra {

// Terraform's names (internal/backend/remote-state/s3): the default workspace and the default
// workspace_key_prefix; the S3 lock object suffix (use_lockfile, Terraform >= 1.10); the suffix of
// the DynamoDB item holding the state's MD5 (stateIDSuffix).
inline constexpr std::string_view kDefaultWorkspace = "default";
inline constexpr std::string_view kDefaultWorkspaceKeyPrefix = "env:";
inline constexpr std::string_view kLockFileSuffix = ".tflock";
inline constexpr std::string_view kDigestSuffix = "-md5";

// The backend "s3" block, the parts that decide names.
struct S3BackendConfig {
  std::string bucket;
  std::string key;                                                        // e.g. api/terraform.tfstate
  std::string workspace_key_prefix = std::string(kDefaultWorkspaceKeyPrefix);
  std::string dynamodb_table;  // "" when DynamoDB locking is not configured
  bool use_lockfile = false;   // S3 native locking
};

// One workspace's state object and the names derived from it.
struct StateLocation {
  std::string bucket;
  std::string key;  // the state object's key

  std::string lockfile_key() const;    // "<key>.tflock": the S3 lock object
  std::string lock_id() const;         // "<bucket>/<key>": DynamoDB LockID of the lock item (and LockInfo.Path)
  std::string digest_lock_id() const;  // "<bucket>/<key>-md5": DynamoDB LockID of the digest item
};

// The state key for `workspace`: `key` for "default", else path.Join(workspace_key_prefix,
// workspace, key) like Terraform ("env:/staging/api/terraform.tfstate"; "staging/api/..." with an
// empty prefix). Usage errors for what Terraform's validation rejects: empty bucket or key, a key
// or prefix starting or ending with "/" or containing "//", a workspace name that is empty or has
// characters Terraform does not allow (it must survive URL path escaping unchanged).
Result<StateLocation> state_location(const S3BackendConfig& config, std::string_view workspace = kDefaultWorkspace);

// One entry of ListObjectVersions (Versions and DeleteMarkers merged).
struct S3ObjectVersion {
  std::string key;
  std::string version_id;  // "null" for an object written before versioning was enabled
  bool is_latest = false;
  std::chrono::system_clock::time_point last_modified{};
  int64_t size = 0;  // 0 for delete markers
  bool is_delete_marker = false;
};

struct StateVersion {
  std::string version_id;
  std::chrono::system_clock::time_point last_modified{};
  int64_t size = 0;
  bool is_current = false;  // the object a Terraform run reads now
};

struct StateVersions {
  std::vector<StateVersion> versions;  // newest first
  // The newest entry for the key is a delete marker: no state object exists now (nothing is current).
  bool deleted = false;

  const StateVersion* current() const;  // nullptr when there is none
  const StateVersion* find(std::string_view version_id) const;
};

// The versions of exactly `state_key` from a ListObjectVersions(Prefix=state_key) result, which also
// holds "<key>.tflock", "<key>-backup" style neighbours and delete markers: other keys and delete
// markers are dropped, the rest sorted newest first (ties keep S3's order, which is newest first),
// and the IsLatest one marked current. If no entry of the key says IsLatest (a truncated listing),
// none is marked.
StateVersions filter_state_versions(const std::vector<S3ObjectVersion>& listed, std::string_view state_key);

}  // namespace rb::infra
