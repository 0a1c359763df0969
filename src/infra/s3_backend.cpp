#include "infra/s3_backend.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "util/strings.hpp"

namespace rb::infra {

namespace {

// Characters Go's url.PathEscape leaves alone in a path segment: Terraform accepts a workspace
// name only when escaping does not change it.
bool path_segment_safe(char c) {
  if (std::isalnum(static_cast<unsigned char>(c))) return true;
  switch (c) {
    case '-': case '_': case '.': case '~': case '$': case '&': case '+': case ':': case '=': case '@':
      return true;
    default:
      return false;
  }
}

Status validate_s3_path(std::string_view name, std::string_view value, bool allow_empty) {
  if (value.empty()) {
    if (allow_empty) return {};
    return usage_error(fmt::format("the S3 backend's {} is empty", name));
  }
  if (trim(value).empty()) return usage_error(fmt::format("the S3 backend's {} is all whitespace", name));
  if (value.front() == '/' || value.back() == '/')
    return usage_error(fmt::format("the S3 backend's {} \"{}\" must not start or end with \"/\"", name, value),
                       "use the same value as the backend \"s3\" block");
  if (value.find("//") != std::string_view::npos)
    return usage_error(fmt::format("the S3 backend's {} \"{}\" must not contain \"//\"", name, value));
  return {};
}

// Go's path.Join: join with "/", then clean ("." and ".." segments, repeated slashes).
std::string go_path_join(const std::vector<std::string_view>& parts) {
  std::vector<std::string> segments;
  bool any = false;
  for (auto part : parts) {
    if (part.empty()) continue;
    any = true;
    for (const auto& seg : split(part, '/')) {
      if (seg.empty() || seg == ".") continue;
      if (seg == "..") {
        if (!segments.empty() && segments.back() != "..") {
          segments.pop_back();
        } else {
          segments.push_back(seg);
        }
        continue;
      }
      segments.push_back(seg);
    }
  }
  if (!any) return "";
  std::string out = join(segments, "/");
  return out.empty() ? "." : out;
}

}  // namespace

std::string StateLocation::lockfile_key() const { return key + std::string(kLockFileSuffix); }
std::string StateLocation::lock_id() const { return bucket + "/" + key; }
std::string StateLocation::digest_lock_id() const { return lock_id() + std::string(kDigestSuffix); }

Result<StateLocation> state_location(const S3BackendConfig& config, std::string_view workspace) {
  if (config.bucket.empty()) return usage_error("the S3 backend's bucket is empty");
  RB_TRY(validate_s3_path("key", config.key, false));
  RB_TRY(validate_s3_path("workspace_key_prefix", config.workspace_key_prefix, true));
  if (workspace.empty()) return usage_error("the workspace name is empty");
  if (!std::all_of(workspace.begin(), workspace.end(), path_segment_safe))
    return usage_error(fmt::format("\"{}\" is not a valid Terraform workspace name", workspace),
                       "workspace names may use letters, digits and - _ . ~ $ & + : = @");
  StateLocation loc;
  loc.bucket = config.bucket;
  if (workspace == kDefaultWorkspace) {
    loc.key = config.key;
  } else {
    loc.key = go_path_join({config.workspace_key_prefix, workspace, config.key});
  }
  return loc;
}

const StateVersion* StateVersions::current() const {
  for (const auto& v : versions) {
    if (v.is_current) return &v;
  }
  return nullptr;
}

const StateVersion* StateVersions::find(std::string_view version_id) const {
  for (const auto& v : versions) {
    if (v.version_id == version_id) return &v;
  }
  return nullptr;
}

StateVersions filter_state_versions(const std::vector<S3ObjectVersion>& listed, std::string_view state_key) {
  StateVersions out;
  for (const auto& entry : listed) {
    if (entry.key != state_key) continue;
    if (entry.is_delete_marker) {
      if (entry.is_latest) out.deleted = true;
      continue;
    }
    StateVersion v;
    v.version_id = entry.version_id;
    v.last_modified = entry.last_modified;
    v.size = entry.size;
    v.is_current = entry.is_latest;
    out.versions.push_back(std::move(v));
  }
  std::stable_sort(out.versions.begin(), out.versions.end(), [](const StateVersion& a, const StateVersion& b) {
    if (a.last_modified != b.last_modified) return a.last_modified > b.last_modified;
    return a.is_current && !b.is_current;
  });
  return out;
}

}  // namespace rb::infra
