// Path guards: what kind of change a revert would undo, from the paths it touches. Pure.
//
// The runbook's key principle is that infrastructure and application changes land in separate
// PRs, and scenario 3 says "Do NOT just revert code" when a migration is involved: reverting a
// PR that added an Alembic migration removes the script while the database still carries its
// revision. The command uses these categories to refuse or warn; this layer only classifies.
#pragma once

#include <string>
#include <vector>

namespace rb::git {

struct GuardConfig {
  std::string migrations_dir = "alembic/versions/";              // Alembic versions folder, repo-relative
  std::string infrastructure_dir = "infrastructure/terraform/";  // Terraform folder, repo-relative
};

enum class PathCategory { Application, Migrations, Infrastructure };

const char* to_string(PathCategory category);  // "application", "migrations", "infrastructure"

struct PathCategories {
  std::vector<std::string> application;
  std::vector<std::string> migrations;
  std::vector<std::string> infrastructure;

  // The categories that have at least one path, in the order migrations, infrastructure,
  // application (most dangerous first).
  std::vector<PathCategory> present() const;
  const std::vector<std::string>& paths(PathCategory category) const;
  // More than one category: the PR mixes kinds of change the runbook wants in separate PRs.
  bool mixed() const { return present().size() > 1; }
};

// Sorts `paths` (repo-relative, '/'-separated, as git prints them) into categories. A path is
// in a folder when it starts with the folder's path followed by '/'; folders are normalized
// (leading "./" and surplus '/' removed, trailing '/' added). An empty folder setting disables
// that category. Paths keep their input order within a category.
PathCategories categorize_paths(const std::vector<std::string>& paths, const GuardConfig& config);

}  // namespace rb::git
