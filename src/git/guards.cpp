#include "git/guards.hpp"

#include "util/strings.hpp"

namespace rb::git {

namespace {

// "./alembic//versions" -> "alembic/versions/"; "" stays "" (category disabled).
std::string normalize_dir(const std::string& dir) {
  std::vector<std::string> parts;
  for (auto& p : split(dir, '/'))
    if (!p.empty() && p != ".") parts.push_back(p);
  if (parts.empty()) return {};
  return join(parts, "/") + "/";
}

bool in_dir(const std::string& path, const std::string& dir) { return !dir.empty() && path.starts_with(dir); }

}  // namespace

const char* to_string(PathCategory category) {
  switch (category) {
    case PathCategory::Application:
      return "application";
    case PathCategory::Migrations:
      return "migrations";
    case PathCategory::Infrastructure:
      return "infrastructure";
  }
  return "application";
}

std::vector<PathCategory> PathCategories::present() const {
  std::vector<PathCategory> out;
  if (!migrations.empty()) out.push_back(PathCategory::Migrations);
  if (!infrastructure.empty()) out.push_back(PathCategory::Infrastructure);
  if (!application.empty()) out.push_back(PathCategory::Application);
  return out;
}

const std::vector<std::string>& PathCategories::paths(PathCategory category) const {
  switch (category) {
    case PathCategory::Migrations:
      return migrations;
    case PathCategory::Infrastructure:
      return infrastructure;
    case PathCategory::Application:
      break;
  }
  return application;
}

PathCategories categorize_paths(const std::vector<std::string>& paths, const GuardConfig& config) {
  const std::string migrations = normalize_dir(config.migrations_dir);
  const std::string infrastructure = normalize_dir(config.infrastructure_dir);
  PathCategories out;
  for (const auto& raw : paths) {
    std::string path = raw.starts_with("./") ? raw.substr(2) : raw;
    // The longer (more specific) folder wins when one is configured inside the other.
    bool m = in_dir(path, migrations), i = in_dir(path, infrastructure);
    if (m && i) (migrations.size() >= infrastructure.size() ? i : m) = false;
    if (m)
      out.migrations.push_back(raw);
    else if (i)
      out.infrastructure.push_back(raw);
    else
      out.application.push_back(raw);
  }
  return out;
}

}  // namespace rb::git
