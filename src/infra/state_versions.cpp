#include "infra/state_versions.hpp"

#include <fmt/format.h>

#include "util/strings.hpp"

namespace rb::infra {

namespace {

// How many ids an error about an unknown version lists.
constexpr size_t kIdsInErrors = 5;

std::string url_of(const StateLocation& location) { return "s3://" + location.bucket + "/" + location.key; }

}  // namespace

Result<StateVersions> list_state_versions(StateObjectStore& store, const StateLocation& location) {
  auto listed = store.list_object_versions(location.bucket, location.key);
  if (!listed) {
    Error e = listed.take_error();
    e.message = fmt::format("listing the versions of {}: {}", url_of(location), e.message);
    if (e.tag == "NoSuchBucket" && e.hint.empty())
      e.hint = "check terraform.state.bucket (and the region) of this environment in rollback.yaml";
    return e;
  }
  return filter_state_versions(*listed, location.key);
}

Result<const StateVersion*> find_state_version(const StateVersions& versions, const StateLocation& location,
                                               const std::string& id) {
  if (id.empty()) return usage_error("--version-id is empty", "`rollback state list` shows the version ids");
  if (const StateVersion* exact = versions.find(id)) return exact;
  const StateVersion* match = nullptr;
  size_t matches = 0;
  if (id.size() >= kMinVersionPrefix) {
    for (const auto& v : versions.versions) {
      if (v.version_id.rfind(id, 0) == 0) {
        match = &v;
        ++matches;
      }
    }
  }
  if (matches == 1) return match;
  std::vector<std::string> ids;
  for (size_t i = 0; i < versions.versions.size() && i < kIdsInErrors; ++i) ids.push_back(versions.versions[i].version_id);
  Error e = usage_error(
      matches > 1 ? fmt::format("\"{}\" matches {} versions of {}: give more of the id", id, matches, url_of(location))
                  : fmt::format("\"{}\" is not a version of {} (versions of other keys, such as the .tflock object, and "
                                "delete markers do not count)",
                                id, url_of(location)),
      ids.empty() ? std::string("the state object has no versions at all: check the bucket, key and workspace")
                  : fmt::format("the newest versions are {}; `rollback state list` shows them all", join(ids, ", ")));
  e.tag = "no_such_version";
  return e;
}

Result<std::string> read_state_version(StateObjectStore& store, const StateLocation& location,
                                       const std::string& version_id) {
  auto bytes = store.get_object(location.bucket, location.key, version_id);
  if (!bytes) {
    Error e = bytes.take_error();
    e.message = fmt::format("reading {} version {}: {}", url_of(location), version_id, e.message);
    return e;
  }
  return bytes;
}

}  // namespace rb::infra
