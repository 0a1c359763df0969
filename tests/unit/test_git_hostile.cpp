// Values from the configuration or the command line that reach git's argument vector: none of
// them may be read as an option, and a "new" branch must really be new.
#include <gtest/gtest.h>

#include "../git/repo_fixture.hpp"
#include "git/plan.hpp"
#include "git/resolve.hpp"
#include "git/revert.hpp"

using namespace rb;
using namespace rb::git;
using rb::git::testing::RepoFixture;
namespace fs = std::filesystem;

TEST(GitHostile, RemoteNamesThatGitWouldReadAsOptionsAreRefused) {
  for (const char* bad : {"--upload-pack=touch /tmp/pwned", "-o", "", "..", "a..b", "/abs", "or igin", "x;y", "a\nb",
                          "origin/", ".hidden", "ext::sh -c touch% /tmp/x"}) {
    auto st = check_remote_name(bad);
    ASSERT_FALSE(st.ok()) << bad;
    EXPECT_EQ(st.error().code, ExitCode::Usage) << bad;
    EXPECT_NE(st.error().message.find("invalid git remote name"), std::string::npos) << st.error().message;
    EXPECT_FALSE(st.error().hint.empty());
  }
  for (const char* good : {"origin", "upstream", "team/origin", "my-remote_2.x"}) EXPECT_TRUE(check_remote_name(good).ok()) << good;
  EXPECT_FALSE(check_remote_name(std::string(kMaxRemoteName + 1, 'a')).ok());
}

TEST(GitHostile, BranchNamesFollowGitsRefFormatRules) {
  for (const char* bad : {"-f", "--force", "a..b", "a b", "a~1", "a^", "a:b", "a?", "a*", "a[", "a\\b", "x.lock", "/a",
                          "a/", "a.", "a//b", "a@{1}", ""}) {
    auto st = check_branch_name(bad);
    ASSERT_FALSE(st.ok()) << bad;
    EXPECT_EQ(st.error().code, ExitCode::Usage);
  }
  EXPECT_TRUE(check_branch_name("rollback/20261130-abc").ok());
}

class GitHostileRepo : public RepoFixture {};

TEST_F(GitHostileRepo, FetchWithAnOptionLikeRemoteRunsNothing) {
  fs::path marker = root() / "pwned";
  Git g = product();
  auto st = g.fetch("--upload-pack=touch " + marker.string(), "main");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ExitCode::Usage);
  EXPECT_FALSE(fs::exists(marker));
}

TEST_F(GitHostileRepo, PushBranchMustBeNewAndNotAnEnvironmentsBranch) {
  Git g = product();
  auto env_branch = check_new_remote_branch(g, "origin", "main", {"development", "staging", "main"});
  ASSERT_FALSE(env_branch.ok());
  EXPECT_EQ(env_branch.error().code, ExitCode::Refused);
  EXPECT_EQ(env_branch.error().tag, "environment-branch");
  // "development" exists on origin even when it is not listed as an environment.
  auto existing = check_new_remote_branch(g, "origin", "development", {"main"});
  ASSERT_FALSE(existing.ok());
  EXPECT_EQ(existing.error().tag, "branch-exists");
  EXPECT_NE(existing.error().message.find("already exists on origin"), std::string::npos);
  EXPECT_TRUE(check_new_remote_branch(g, "origin", "rollback/fix-1", {"main"}).ok());
  EXPECT_FALSE(check_new_remote_branch(g, "-x", "rollback/fix-1", {"main"}).ok());
}

TEST_F(GitHostileRepo, DryRunCheckRefusesAnAlreadyRevertedChangeLikeTheRealRun) {
  std::string sha = squash_pr(7, "Add feature", {{"app/feature.py", "x = 1\n"}});
  // Someone reverted it by hand already.
  sh(clone, {"revert", "--no-edit", sha});
  sh(clone, {"push", "-q", "origin", "main"});
  Git g = product();
  ASSERT_TRUE(g.fetch("origin", "main").ok());
  ResolveOptions ro;
  ro.branch = "main";
  auto resolved = resolve(g, Target::pull_request(7), ro);
  ASSERT_TRUE(resolved.ok()) << resolved.error().message;
  auto plan = make_plan(g, *resolved, {});
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  auto before = clone_state();
  auto checked = check_revert(g, *plan);
  ASSERT_FALSE(checked.ok());
  EXPECT_EQ(checked.error().tag, "empty");
  auto real = create_revert(g, *plan);
  ASSERT_FALSE(real.ok());
  EXPECT_EQ(real.error().tag, checked.error().tag);
  EXPECT_EQ(real.error().message, checked.error().message);
  EXPECT_EQ(clone_state(), before);
  EXPECT_EQ(worktree_count(clone), 1);
}

TEST_F(GitHostileRepo, StaleFolderIsToldFromTheFetchedBranch) {
  Git g = product();
  auto fresh = compare_folder_with_branch(g, "origin", "main", "app");
  ASSERT_TRUE(fresh.ok()) << fresh.error().message;
  EXPECT_TRUE(fresh->fresh());
  // Someone else changes app/ on origin; this clone does not pull.
  auto other = other_clone();
  write(other, {{"app/new.py", "y = 2\n"}});
  commit_all(other, "New module");
  sh(other, {"push", "-q", "origin", "main"});
  auto stale = compare_folder_with_branch(g, "origin", "main", "app");
  ASSERT_TRUE(stale.ok()) << stale.error().message;
  ASSERT_EQ(stale->differences.size(), 1u);
  EXPECT_NE(stale->differences[0].find("app/new.py"), std::string::npos) << stale->differences[0];
  EXPECT_EQ(stale->branch_tip, origin_tip());
  // An untracked script counts too.
  sh(clone, {"pull", "-q", "origin", "main"});
  write(clone, {{"app/local.py", "z = 3\n"}});
  auto untracked = compare_folder_with_branch(g, "origin", "main", "app");
  ASSERT_TRUE(untracked.ok());
  ASSERT_EQ(untracked->differences.size(), 1u);
  EXPECT_EQ(untracked->differences[0], "?\tapp/local.py");
}
