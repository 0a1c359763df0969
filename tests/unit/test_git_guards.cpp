#include <gtest/gtest.h>

#include "git/guards.hpp"

using namespace rb::git;

namespace {

using Paths = std::vector<std::string>;

TEST(git_guards, SortsPathsIntoCategories) {
  auto c = categorize_paths({"app/main.py", "alembic/versions/0002_add.py", "infrastructure/terraform/rds.tf",
                             "alembic/env.py", "infrastructure/README.md"},
                            GuardConfig{});
  EXPECT_EQ(c.migrations, Paths{"alembic/versions/0002_add.py"});
  EXPECT_EQ(c.infrastructure, Paths{"infrastructure/terraform/rds.tf"});
  EXPECT_EQ(c.application, (Paths{"app/main.py", "alembic/env.py", "infrastructure/README.md"}));
  EXPECT_EQ(c.present(), (std::vector<PathCategory>{PathCategory::Migrations, PathCategory::Infrastructure,
                                                    PathCategory::Application}));
  EXPECT_TRUE(c.mixed());
  EXPECT_EQ(c.paths(PathCategory::Infrastructure), c.infrastructure);
}

TEST(git_guards, ApplicationOnlyIsNotMixed) {
  auto c = categorize_paths({"app/a.py", "tests/test_a.py"}, GuardConfig{});
  EXPECT_EQ(c.present(), std::vector<PathCategory>{PathCategory::Application});
  EXPECT_FALSE(c.mixed());
  EXPECT_FALSE(categorize_paths({}, GuardConfig{}).mixed());
  EXPECT_TRUE(categorize_paths({}, GuardConfig{}).present().empty());
}

TEST(git_guards, MatchesWholeFolderNames) {
  // "alembic/versions_old/" is not "alembic/versions/"; the folder itself must be a prefix.
  auto c = categorize_paths({"alembic/versions_old/x.py", "xalembic/versions/y.py", "infrastructure/terraformer.tf"},
                            GuardConfig{});
  EXPECT_TRUE(c.migrations.empty());
  EXPECT_TRUE(c.infrastructure.empty());
  EXPECT_EQ(c.application.size(), 3u);
}

TEST(git_guards, NormalizesConfiguredFolders) {
  GuardConfig cfg{"./services/api//migrations/versions", "/deploy/tf/"};
  auto c =
      categorize_paths({"services/api/migrations/versions/01.py", "deploy/tf/main.tf", "./deploy/tf/vars.tf"}, cfg);
  EXPECT_EQ(c.migrations, Paths{"services/api/migrations/versions/01.py"});
  EXPECT_EQ(c.infrastructure, (Paths{"deploy/tf/main.tf", "./deploy/tf/vars.tf"}));
}

TEST(git_guards, EmptyFolderDisablesACategoryAndNestedFoldersPreferTheDeeper) {
  auto off = categorize_paths({"alembic/versions/1.py"}, GuardConfig{"", "infrastructure/terraform/"});
  EXPECT_EQ(off.application, Paths{"alembic/versions/1.py"});

  GuardConfig nested{"infra/db/versions/", "infra/"};
  auto c = categorize_paths({"infra/db/versions/1.py", "infra/main.tf"}, nested);
  EXPECT_EQ(c.migrations, Paths{"infra/db/versions/1.py"});
  EXPECT_EQ(c.infrastructure, Paths{"infra/main.tf"});
}

TEST(git_guards, NamesCategories) {
  EXPECT_STREQ(to_string(PathCategory::Application), "application");
  EXPECT_STREQ(to_string(PathCategory::Migrations), "migrations");
  EXPECT_STREQ(to_string(PathCategory::Infrastructure), "infrastructure");
}

}  // namespace
