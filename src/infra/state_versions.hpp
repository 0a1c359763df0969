// Reading the state's history from its versioned bucket: the versions of exactly the state key,
// and the bytes of one of them, with errors that say which version ids exist.
#pragma once

#include <string>

#include "infra/s3_backend.hpp"
#include "infra/storage.hpp"
#include "util/result.hpp"

namespace rb::infra {

// Shortest version-id prefix accepted in place of the full id (S3 ids are 32 characters).
inline constexpr size_t kMinVersionPrefix = 8;

// ListObjectVersions(Prefix=<key>) filtered to the exact key (no .tflock, no delete markers),
// newest first, the current one marked.
Result<StateVersions> list_state_versions(StateObjectStore& store, const StateLocation& location);

// The version `id` names: an exact version id of the state key, or a unique prefix of at least
// kMinVersionPrefix characters. Usage error (tag "no_such_version") naming the newest ids
// otherwise, e.g. for an id of another key (the .tflock) or of a delete marker.
Result<const StateVersion*> find_state_version(const StateVersions& versions, const StateLocation& location,
                                               const std::string& id);

// The exact bytes of one version (GetObject with versionId).
Result<std::string> read_state_version(StateObjectStore& store, const StateLocation& location,
                                       const std::string& version_id);

}  // namespace rb::infra
