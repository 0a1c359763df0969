// The git layer against real repositories: a bare origin and clones in a temporary folder.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

#include "../git/repo_fixture.hpp"
#include "git/guards.hpp"
#include "git/plan.hpp"
#include "git/resolve.hpp"
#include "git/revert.hpp"

using namespace rb;
using namespace rb::git;
using rb::git::testing::Files;
using rb::git::testing::RepoFixture;
namespace fs = std::filesystem;

namespace {

class git_repo : public RepoFixture {
 protected:
  Result<Resolved> resolve_on(const Target& target, const std::string& branch = "main") {
    Git g = product();
    auto fetched = g.fetch("origin", branch);
    if (!fetched) return fetched.take_error();
    ResolveOptions o;
    o.branch = branch;
    return resolve(g, target, o);
  }

  Plan plan_for(const Target& target, const std::string& reason = {}, const std::string& id = "rb-test-1") {
    auto resolved = resolve_on(target);
    EXPECT_TRUE(resolved.ok()) << resolved.error().message;
    Git g = product();
    PlanOptions o;
    o.message.reason = reason;
    o.message.rollback_id = id;
    auto plan = make_plan(g, *resolved, o);
    EXPECT_TRUE(plan.ok()) << plan.error().message;
    return *plan;
  }

  // What git itself writes for `git revert --no-edit [args]` on top of origin's tip.
  std::string gits_own_revert_message(const std::vector<std::string>& revert_args) {
    auto scratch = other_clone("scratch");
    std::vector<std::string> args{"revert", "--no-edit"};
    args.insert(args.end(), revert_args.begin(), revert_args.end());
    sh(scratch, args);
    return sh(scratch, {"log", "-1", "--format=%B"}) + "\n";
  }

  std::string message_of(const fs::path& dir, const std::string& sha) {
    return sh(dir, {"log", "-1", "--format=%B", sha}) + "\n";
  }
};

// Everything after git's own message: "\nRollback-Id: ...\n" etc.
std::string without_additions(const std::string& message) {
  auto pos = message.find("\nRollback-Id:");
  auto reason = message.find("\nReason:");
  if (reason != std::string::npos && reason < pos) pos = reason;
  return message.substr(0, pos);
}

// --- resolving ---

TEST_F(git_repo, FindsMergedPrByExactNumber) {
  std::string pr12 = merge_pr(12, "small", {{"app/small.py", "x = 1\n"}});
  std::string pr123 = merge_pr(123, "feature", {{"app/feature.py", "y = 2\n"}});
  merge_pr(1234, "later", {{"app/later.py", "z = 3\n"}});

  auto r = resolve_on(Target::pull_request(123));
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->commits.size(), 1u);
  EXPECT_EQ(r->commits[0].sha, pr123);
  EXPECT_EQ(r->kind, RevertKind::Merge);
  EXPECT_EQ(r->commits[0].subject, "Merge pull request #123 from acme/feature");
  EXPECT_EQ(r->commits[0].author_email, "test@example.com");
  EXPECT_FALSE(r->commits[0].short_sha.empty());
  EXPECT_EQ(r->base_sha, origin_tip());

  auto r12 = resolve_on(Target::pull_request(12));
  ASSERT_TRUE(r12.ok()) << r12.error().message;
  EXPECT_EQ(r12->commits[0].sha, pr12);
}

TEST_F(git_repo, FindsSquashedPr) {
  std::string sha = squash_pr(45, "Fix the thing", {{"app/main.py", "def handler():\n    return 'v2'\n"}});
  squash_pr(4, "Other fix", {{"app/util.py", "def helper():\n    return 2\n"}});
  auto r = resolve_on(Target::pull_request(45));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->commits[0].sha, sha);
  EXPECT_EQ(r->kind, RevertKind::Squash);
}

TEST_F(git_repo, PrNotFoundSuggestsRangeOrCommit) {
  rebase_pr({{"Add cache", {{"app/cache.py", "c = 1\n"}}}, {"Use cache", {{"app/main.py", "import cache\n"}}}});
  auto r = resolve_on(Target::pull_request(77));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ExitCode::Usage);
  EXPECT_EQ(r.error().tag, "pr-not-found");
  EXPECT_NE(r.error().message.find("#77"), std::string::npos);
  EXPECT_NE(r.error().hint.find("--range"), std::string::npos);
}

TEST_F(git_repo, AmbiguousPrListsTheCandidates) {
  std::string a = squash_pr(7, "First attempt", {{"app/a.py", "a\n"}});
  std::string b = merge_pr(7, "second", {{"app/b.py", "b\n"}});
  auto r = resolve_on(Target::pull_request(7));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ExitCode::Usage);
  EXPECT_EQ(r.error().tag, "ambiguous");
  EXPECT_NE(r.error().message.find(a.substr(0, 7)), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find(b.substr(0, 7)), std::string::npos);
  EXPECT_NE(r.error().message.find("First attempt (#7)"), std::string::npos);
  EXPECT_NE(r.error().hint.find("--commit"), std::string::npos);
}

TEST_F(git_repo, PrReachableOnlyThroughAPromotionMergeIsPointedAt) {
  // PR #123 merged into staging, then staging promoted to main with a merge commit.
  std::string pr = merge_pr(123, "feature", {{"app/feature.py", "f\n"}}, "staging");
  sh(clone, {"checkout", "-q", "main"});
  sh(clone, {"merge", "-q", "--no-ff", "-m", "Merge pull request #200 from acme/staging", "staging"});
  sh(clone, {"push", "-q", "origin", "main"});
  auto r = resolve_on(Target::pull_request(123));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().tag, "pr-not-found");
  EXPECT_NE(r.error().message.find("through a merge"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().hint.find("--commit " + pr.substr(0, 7)), std::string::npos) << r.error().hint;
}

TEST_F(git_repo, CommitNotOnTheBranchIsRefused) {
  std::string on_staging = push_commit("Staging only", {{"app/s.py", "s\n"}}, "staging");
  auto r = resolve_on(Target::single_commit(on_staging.substr(0, 10)));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ExitCode::Refused);
  EXPECT_EQ(r.error().tag, "not-on-branch");
  EXPECT_NE(r.error().message.find("is not on origin/main"), std::string::npos) << r.error().message;
}

TEST_F(git_repo, UnknownAndSymbolicCommitsAreUsageErrors) {
  auto unknown = resolve_on(Target::single_commit("deadbeefdeadbeef"));
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, ExitCode::Usage);
  EXPECT_EQ(unknown.error().tag, "unknown-commit");
  auto symbolic = resolve_on(Target::single_commit("HEAD"));
  ASSERT_FALSE(symbolic.ok());
  EXPECT_EQ(symbolic.error().code, ExitCode::Usage);
}

TEST_F(git_repo, RepositoryRemoteAndBranchErrorsAreClear) {
  fs::create_directories(root() / "plain");
  Git plain(runner, root() / "plain");
  auto not_repo = plain.check_repository();
  ASSERT_FALSE(not_repo.ok());
  EXPECT_EQ(not_repo.error().code, ExitCode::Usage);
  EXPECT_NE(not_repo.error().message.find("not a git repository"), std::string::npos);

  Git missing(runner, root() / "nope");
  EXPECT_EQ(missing.check_repository().error().code, ExitCode::Usage);

  Git g = product();
  EXPECT_TRUE(g.check_repository().ok());
  auto no_branch = g.fetch("origin", "production");
  ASSERT_FALSE(no_branch.ok());
  EXPECT_EQ(no_branch.error().code, ExitCode::Usage);
  EXPECT_EQ(no_branch.error().tag, "no-such-branch");
  EXPECT_NE(no_branch.error().message.find("couldn't find remote ref"), std::string::npos) << no_branch.error().message;

  auto no_remote = g.fetch("upstream", "main");
  ASSERT_FALSE(no_remote.ok());
  EXPECT_EQ(no_remote.error().code, ExitCode::Usage);

  ResolveOptions o;
  o.branch = "production";
  auto unfetched = resolve(g, Target::pull_request(1), o);
  ASSERT_FALSE(unfetched.ok());
  EXPECT_EQ(unfetched.error().code, ExitCode::Usage);
  EXPECT_NE(unfetched.error().message.find("no origin/production"), std::string::npos);
}

// --- planning and reverting ---

TEST_F(git_repo, RevertsAMergeCommitWithMainlineOne) {
  std::string before = origin_tip();
  std::string merge = merge_pr(123, "feature",
                               {{"app/feature.py", "def feature():\n    return 1\n"},
                                {"app/main.py", "def handler():\n    return 'v2'\n"},
                                {"assets/logo.png", std::string("\x89PNG\r\n\x1a\n\0\0bin", 13)}});
  Plan plan = plan_for(Target::pull_request(123), "500s on /orders");
  EXPECT_EQ(plan.kind, RevertKind::Merge);
  EXPECT_EQ(plan.diff_from, before);
  EXPECT_EQ(plan.diff_to, merge);
  ASSERT_EQ(plan.files.size(), 3u);
  EXPECT_EQ(plan.files[0].path, "app/feature.py");
  EXPECT_EQ(plan.files[0].added, 2);
  EXPECT_EQ(plan.files[1].path, "app/main.py");
  EXPECT_EQ(plan.files[1].added, 1);
  EXPECT_EQ(plan.files[1].deleted, 1);
  EXPECT_EQ(plan.files[2].path, "assets/logo.png");
  EXPECT_TRUE(plan.files[2].binary());
  EXPECT_EQ(plan.paths, (std::vector<std::string>{"app/feature.py", "app/main.py", "assets/logo.png"}));

  // git's own message for `git revert -m 1`, then our reason and trailer.
  std::string own = gits_own_revert_message({"-m", "1", merge});
  EXPECT_EQ(without_additions(plan.message), own);
  EXPECT_EQ(plan.message, own + "\nReason: 500s on /orders\n\nRollback-Id: rb-test-1\n");

  make_user_busy();
  auto state = clone_state();
  Git g = product();
  auto pushed = revert_and_push(g, plan, {});
  ASSERT_TRUE(pushed.ok()) << pushed.error().message;
  EXPECT_EQ(pushed->attempts, 1);
  EXPECT_EQ(origin_tip(), pushed->sha);
  EXPECT_EQ(sh(origin, {"rev-parse", pushed->sha + "^"}), merge);
  // The tree after the revert is the tree before the merge.
  EXPECT_EQ(sh(origin, {"rev-parse", pushed->sha + "^{tree}"}), sh(origin, {"rev-parse", before + "^{tree}"}));
  EXPECT_EQ(message_of(origin, pushed->sha), plan.message);
  EXPECT_EQ(sh(origin, {"log", "-1", "--format=%(trailers:key=Rollback-Id,valueonly)", pushed->sha}), "rb-test-1");
  EXPECT_EQ(clone_state(), state);
  EXPECT_EQ(worktree_count(clone), 1);
}

TEST_F(git_repo, RevertsAPlainCommitAndASquashCommit) {
  std::string plain = push_commit("Tweak helper", {{"app/util.py", "def helper():\n    return 2\n"}});
  std::string squash = squash_pr(9, "Bump handler", {{"app/main.py", "def handler():\n    return 'v9'\n"}});

  Plan p1 = plan_for(Target::single_commit(plain.substr(0, 8)), "", "");
  EXPECT_EQ(p1.kind, RevertKind::Plain);
  EXPECT_EQ(p1.message, "Revert \"Tweak helper\"\n\nThis reverts commit " + plain + ".\n");
  EXPECT_EQ(p1.message, gits_own_revert_message({plain}));

  Plan p2 = plan_for(Target::single_commit(squash));
  EXPECT_EQ(p2.kind, RevertKind::Squash);
  EXPECT_EQ(p2.paths, std::vector<std::string>{"app/main.py"});
  Git g = product();
  auto revert = create_revert(g, p2);
  ASSERT_TRUE(revert.ok()) << revert.error().message;
  EXPECT_EQ(sh(clone, {"show", revert->sha + ":app/main.py"}) + "\n", "def handler():\n    return 'v1'\n");
  EXPECT_EQ(message_of(clone, revert->sha), p2.message);
  EXPECT_EQ(origin_tip(), squash);  // not pushed
}

TEST_F(git_repo, MultiLineFirstParagraphIsQuotedLikeGitDoes) {
  std::string sha = push_commit("Fix the handler\nwhen the cache is cold\n\nDetails.", {{"app/main.py", "x\n"}});
  Plan plan = plan_for(Target::single_commit(sha), "", "");
  EXPECT_EQ(plan.message, gits_own_revert_message({sha}));
  EXPECT_TRUE(plan.message.starts_with("Revert \"Fix the handler\"\n")) << plan.message;
}

TEST_F(git_repo, RevertsARebaseMergedRangeAsOneCommit) {
  std::string before = origin_tip();
  auto shas = rebase_pr({{"Add cache", {{"app/cache.py", "c = 1\n"}}},
                         {"Use cache", {{"app/main.py", "def handler():\n    return cache\n"}}},
                         {"Tune cache", {{"app/cache.py", "c = 2\n"}}}});
  push_commit("Unrelated later work", {{"app/other.py", "o\n"}});

  auto target = Target::range(before.substr(0, 9) + ".." + shas.back().substr(0, 9));
  ASSERT_TRUE(target.ok()) << target.error().message;
  Plan plan = plan_for(*target, "cache stampede");
  EXPECT_EQ(plan.kind, RevertKind::Range);
  ASSERT_EQ(plan.commits.size(), 3u);
  EXPECT_EQ(plan.commits[0].sha, shas[0]);  // oldest first
  EXPECT_EQ(plan.commits[2].sha, shas[2]);
  EXPECT_EQ(plan.paths, (std::vector<std::string>{"app/cache.py", "app/main.py"}));
  EXPECT_TRUE(plan.message.starts_with("Revert 3 commits (" + plan.range_from.substr(0, 7)));
  EXPECT_NE(plan.message.find("This reverts commit " + shas[2] + ".\nThis reverts commit " + shas[1] +
                              ".\nThis reverts commit " + shas[0] + ".\n"),
            std::string::npos)
      << plan.message;

  Git g = product();
  auto revert = create_revert(g, plan);
  ASSERT_TRUE(revert.ok()) << revert.error().message;
  EXPECT_EQ(sh(clone, {"rev-list", "--count", plan.base_sha + ".." + revert->sha}), "1");  // one commit
  EXPECT_EQ(sh(clone, {"rev-parse", revert->sha + ":app/main.py"}), sh(clone, {"rev-parse", before + ":app/main.py"}));
  EXPECT_NE(sh(clone, {"ls-tree", "--name-only", revert->sha, "app/"}).find("app/other.py"), std::string::npos);
  EXPECT_EQ(sh(clone, {"ls-tree", "--name-only", revert->sha, "app/cache.py"}), "");
}

TEST_F(git_repo, RejectsEmptyRangesAndRangesWithMerges) {
  std::string before = origin_tip();
  auto empty = resolve_on(*Target::range(before + ".." + before));
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().code, ExitCode::Usage);
  EXPECT_NE(empty.error().message.find("empty"), std::string::npos);

  push_commit("Plain", {{"app/p.py", "p\n"}});
  std::string merge = merge_pr(5, "topic", {{"app/t.py", "t\n"}});
  auto with_merge = resolve_on(*Target::range(before + ".." + merge));
  ASSERT_FALSE(with_merge.ok());
  EXPECT_EQ(with_merge.error().code, ExitCode::Usage);
  EXPECT_EQ(with_merge.error().tag, "range-has-merges");
  EXPECT_NE(with_merge.error().message.find("Merge pull request #5"), std::string::npos);

  auto backwards = resolve_on(*Target::range(merge + ".." + before));
  ASSERT_FALSE(backwards.ok());
  EXPECT_EQ(backwards.error().code, ExitCode::Usage);
}

TEST_F(git_repo, ConflictIsRefusedWithTheFilesAndTouchesNothing) {
  merge_pr(123, "feature",
           {{"app/main.py", "def handler():\n    return 'v2'\n"}, {"app/util.py", "def helper():\n    return 'pr'\n"}});
  push_commit("Hotfix on top", {{"app/main.py", "def handler():\n    return 'v3-hotfix'\n"}});
  Plan plan = plan_for(Target::pull_request(123));
  make_user_busy();
  auto state = clone_state();
  std::string tip = origin_tip();

  Git g = product();
  auto r = revert_and_push(g, plan, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ExitCode::Refused);
  EXPECT_EQ(r.error().tag, "conflict");
  EXPECT_NE(r.error().message.find("app/main.py"), std::string::npos) << r.error().message;
  EXPECT_EQ(r.error().message.find("app/util.py"), std::string::npos) << "only conflicting files are listed";
  EXPECT_NE(r.error().hint.find("git revert -m 1"), std::string::npos) << r.error().hint;

  EXPECT_EQ(clone_state(), state);
  EXPECT_EQ(read(clone, "notes.txt"), "untracked\n");
  EXPECT_EQ(origin_tip(), tip);
  EXPECT_EQ(worktree_count(clone), 1);
  EXPECT_EQ(sh(clone, {"for-each-ref", "refs/heads/rollback"}), "");
}

TEST_F(git_repo, AlreadyRevertedChangeIsRefusedAsEmpty) {
  std::string sha = squash_pr(3, "Feature", {{"app/f.py", "f\n"}});
  sh(clone, {"revert", "--no-edit", sha});
  sh(clone, {"push", "-q", "origin", "main"});
  Plan plan = plan_for(Target::single_commit(sha));
  Git g = product();
  auto r = create_revert(g, plan);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ExitCode::Refused);
  EXPECT_EQ(r.error().tag, "empty");
  EXPECT_EQ(worktree_count(clone), 1);
}

TEST_F(git_repo, RevertOfARevertSaysReapply) {
  std::string sha = squash_pr(5, "Add feature", {{"app/feature.py", "on\n"}});
  Plan first = plan_for(Target::pull_request(5));
  Git g = product();
  auto pushed = revert_and_push(g, first, {});
  ASSERT_TRUE(pushed.ok()) << pushed.error().message;
  EXPECT_TRUE(message_of(origin, pushed->sha).starts_with("Revert \"Add feature (#5)\"\n"));

  Plan again = plan_for(Target::single_commit(pushed->sha), "", "rb-test-2");
  EXPECT_EQ(again.message,
            "Reapply \"Add feature (#5)\"\n\nThis reverts commit " + pushed->sha + ".\n\nRollback-Id: rb-test-2\n");
  auto reapplied = revert_and_push(g, again, {});
  ASSERT_TRUE(reapplied.ok()) << reapplied.error().message;
  EXPECT_EQ(sh(origin, {"show", "main:app/feature.py"}), "on");
  // PR #5 still resolves to its squash commit: the revert and the reapply claim no PR number.
  EXPECT_TRUE(resolve_on(Target::pull_request(5)).ok());
}

TEST_F(git_repo, MigrationTouchingPrIsCategorized) {
  merge_pr(31, "add-column",
           {{"alembic/versions/0002_add_column.py", "revision = '0002'\ndown_revision = '0001'\n"},
            {"app/models.py", "column = True\n"}});
  Plan plan = plan_for(Target::pull_request(31));
  auto cats = categorize_paths(plan.paths, GuardConfig{});
  EXPECT_EQ(cats.migrations, std::vector<std::string>{"alembic/versions/0002_add_column.py"});
  EXPECT_EQ(cats.application, std::vector<std::string>{"app/models.py"});
  EXPECT_TRUE(cats.infrastructure.empty());
  EXPECT_TRUE(cats.mixed());
  EXPECT_EQ(cats.present().front(), PathCategory::Migrations);
}

TEST_F(git_repo, NoPushCreatesOnlyALocalBranch) {
  merge_pr(8, "thing", {{"app/thing.py", "t\n"}});
  Plan plan = plan_for(Target::pull_request(8));
  make_user_busy();
  auto state = clone_state();
  std::string tip = origin_tip();
  Git g = product();
  auto revert = create_revert(g, plan);
  ASSERT_TRUE(revert.ok()) << revert.error().message;
  auto branch = create_local_branch(g, "rb-test-1", revert->sha);
  ASSERT_TRUE(branch.ok()) << branch.error().message;
  EXPECT_EQ(*branch, "rollback/rb-test-1");
  EXPECT_EQ(sh(clone, {"rev-parse", "refs/heads/rollback/rb-test-1"}), revert->sha);
  auto after = clone_state();
  EXPECT_EQ(after.head, state.head);
  EXPECT_EQ(after.branch, state.branch);
  EXPECT_EQ(after.status, state.status);
  EXPECT_EQ(after.diff, state.diff);
  EXPECT_EQ(origin_tip(), tip);
  EXPECT_EQ(worktree_count(clone), 1);

  auto twice = create_local_branch(g, "rb-test-1", revert->sha);
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(twice.error().code, ExitCode::Usage);
}

TEST_F(git_repo, CommitFailureStillRemovesTheWorktree) {
  squash_pr(4, "Feature", {{"app/f.py", "f\n"}});
  Plan plan = plan_for(Target::pull_request(4));
  // No identity: git refuses to commit.
  sh(clone, {"config", "--unset", "user.email"});
  sh(clone, {"config", "user.useConfigOnly", "true"});
  Git g = product();
  auto r = create_revert(g, plan);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ExitCode::Failed);
  EXPECT_NE(r.error().message.find("git"), std::string::npos);
  EXPECT_NE(r.error().message.find("commit"), std::string::npos) << r.error().message;
  EXPECT_EQ(worktree_count(clone), 1);
  EXPECT_EQ(sh(clone, {"worktree", "list", "--porcelain"}).find("rollback-revert"), std::string::npos);
}

// SIGKILL runs no destructor: the scratch worktree of a killed run stays listed until the next
// command that opens the repository sweeps it.
TEST_F(git_repo, ScratchWorktreeOfAKilledRunIsSweptAndALiveOneIsNot) {
  squash_pr(4, "Feature", {{"app/f.py", "f\n"}});
  const std::string tip = origin_tip();
  // A live scratch worktree: its owner (this process) holds the lock.
  Git g = product();
  ScratchWorktree live(g);
  ASSERT_TRUE(live.add(tip).ok());
  // Another run adds one (its own sweep leaves the live one alone), then is killed.
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    Git cg = product();
    ScratchWorktree wt(cg);
    if (!wt.add(tip)) _exit(1);
    kill(getpid(), SIGKILL);
    _exit(2);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;
  ASSERT_EQ(worktree_count(clone), 3);  // the killed run's worktree is left
  // A scratch-looking folder without an owner file and the user's own worktree: never touched.
  fs::path foreign = root() / "rollback-revert-user" / "worktree";
  fs::create_directories(foreign.parent_path());
  sh(clone, {"worktree", "add", "--detach", foreign.string(), tip});
  fs::path users = root() / "users-worktree";
  sh(clone, {"worktree", "add", "--detach", users.string(), tip});
  ASSERT_EQ(worktree_count(clone), 5);

  auto removed = sweep_abandoned_worktrees(g);
  ASSERT_EQ(removed.size(), 1u);
  EXPECT_NE(removed[0], live.path());
  EXPECT_TRUE(removed[0].parent_path().filename().string().starts_with("rollback-revert-"));
  EXPECT_FALSE(fs::exists(removed[0].parent_path()));
  EXPECT_EQ(worktree_count(clone), 4);
  EXPECT_TRUE(fs::exists(live.path()));
  EXPECT_TRUE(fs::exists(foreign));
  EXPECT_TRUE(fs::exists(users));
  EXPECT_TRUE(sweep_abandoned_worktrees(g).empty());
}

TEST_F(git_repo, UsersCommitSigningConfigurationApplies) {
  if (!program_exists("ssh-keygen")) GTEST_SKIP() << "ssh-keygen is not installed";
  squash_pr(4, "Feature", {{"app/f.py", "f\n"}});
  Plan plan = plan_for(Target::pull_request(4));
  fs::path key = root() / "signing_key";
  auto keygen = run_process({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "test", "-f", key.string()});
  ASSERT_TRUE(keygen.ok() && keygen->ok()) << (keygen.ok() ? keygen->err : keygen.error().message);
  sh(clone, {"config", "gpg.format", "ssh"});
  sh(clone, {"config", "user.signingkey", key.string()});
  sh(clone, {"config", "commit.gpgsign", "true"});
  Git g = product();
  auto r = create_revert(g, plan);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_NE(sh(clone, {"cat-file", "commit", r->sha}).find("gpgsig -----BEGIN SSH SIGNATURE-----"), std::string::npos);
}

// --- pushing ---

TEST_F(git_repo, UsersPrePushHookApplies) {
  squash_pr(4, "Feature", {{"app/f.py", "f\n"}});
  Plan plan = plan_for(Target::pull_request(4));
  fs::path hook = clone / ".git" / "hooks" / "pre-push";
  std::ofstream(hook) << "#!/bin/sh\necho 'pre-push: deploy freeze until 14:00' >&2\nexit 1\n";
  fs::permissions(hook, fs::perms::owner_all);
  std::string tip = origin_tip();
  Git g = product();
  auto r = revert_and_push(g, plan, {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("pre-push: deploy freeze until 14:00"), std::string::npos) << r.error().message;
  EXPECT_EQ(origin_tip(), tip);
  EXPECT_EQ(worktree_count(clone), 1);
}

TEST_F(git_repo, PushRejectedByAHookReportsItsOutput) {
  merge_pr(123, "feature", {{"app/feature.py", "f\n"}});
  Plan plan = plan_for(Target::pull_request(123));
  fs::path hook = origin / "hooks" / "pre-receive";
  std::ofstream(hook) << "#!/bin/sh\necho 'GH006: Protected branch update failed for refs/heads/main.'\n"
                         "echo 'error: Changes must be made through a pull request.' >&2\nexit 1\n";
  fs::permissions(hook, fs::perms::owner_all);
  make_user_busy();
  auto state = clone_state();
  std::string tip = origin_tip();

  Git g = product();
  auto r = revert_and_push(g, plan, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ExitCode::Failed);
  EXPECT_EQ(r.error().tag, "push-rejected");
  EXPECT_NE(r.error().message.find("remote: GH006: Protected branch update failed"), std::string::npos)
      << r.error().message;
  EXPECT_NE(r.error().message.find("remote: error: Changes must be made through a pull request."), std::string::npos);
  EXPECT_NE(r.error().message.find("! [remote rejected]"), std::string::npos);
  EXPECT_NE(r.error().hint.find("--push-branch"), std::string::npos);
  EXPECT_EQ(origin_tip(), tip);
  EXPECT_EQ(clone_state(), state);
  EXPECT_EQ(worktree_count(clone), 1);
}

TEST_F(git_repo, PushToANewBranchForAPullRequest) {
  merge_pr(123, "feature", {{"app/feature.py", "f\n"}});
  Plan plan = plan_for(Target::pull_request(123));
  std::string tip = origin_tip();
  Git g = product();
  PushOptions o;
  o.push_branch = "rollback/rb-test-1";
  auto r = revert_and_push(g, plan, o);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->ref, "refs/heads/rollback/rb-test-1");
  EXPECT_EQ(origin_tip("rollback/rb-test-1"), r->sha);
  EXPECT_EQ(origin_tip(), tip);
}

TEST_F(git_repo, PushRaceIsRetriedOnceOnTheNewTip) {
  merge_pr(123, "feature", {{"app/feature.py", "f\n"}});
  Plan plan = plan_for(Target::pull_request(123));
  Git g = product();
  auto revert = create_revert(g, plan);
  ASSERT_TRUE(revert.ok()) << revert.error().message;

  // Someone else pushes in between.
  auto other = other_clone();
  write(other, {{"app/unrelated.py", "u\n"}});
  std::string theirs = commit_all(other, "Unrelated fix");
  sh(other, {"push", "-q", "origin", "main"});

  auto r = push_revert(g, plan, *revert, {});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->attempts, 2);
  EXPECT_NE(r->sha, revert->sha);
  EXPECT_EQ(r->base_sha, theirs);
  EXPECT_EQ(origin_tip(), r->sha);
  EXPECT_EQ(sh(origin, {"rev-parse", r->sha + "^"}), theirs);
  EXPECT_EQ(message_of(origin, r->sha), plan.message);
  EXPECT_EQ(sh(origin, {"show", "main:app/unrelated.py"}), "u");
  EXPECT_EQ(sh(origin, {"ls-tree", "main", "app/feature.py"}), "");
  EXPECT_EQ(worktree_count(clone), 1);
}

TEST_F(git_repo, PushRaceThatNoLongerAppliesIsRefused) {
  merge_pr(123, "feature", {{"app/main.py", "def handler():\n    return 'v2'\n"}});
  Plan plan = plan_for(Target::pull_request(123));
  Git g = product();
  auto revert = create_revert(g, plan);
  ASSERT_TRUE(revert.ok()) << revert.error().message;

  auto other = other_clone();
  write(other, {{"app/main.py", "def handler():\n    return 'v3'\n"}});
  std::string theirs = commit_all(other, "Conflicting fix");
  sh(other, {"push", "-q", "origin", "main"});

  auto r = push_revert(g, plan, *revert, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ExitCode::Refused);
  EXPECT_EQ(r.error().tag, "conflict");
  EXPECT_EQ(origin_tip(), theirs);
  EXPECT_EQ(worktree_count(clone), 1);
  EXPECT_EQ(sh(clone, {"for-each-ref", "refs/heads/rollback"}), "");
}

TEST_F(git_repo, PushRaceWithoutRetryIsReported) {
  merge_pr(123, "feature", {{"app/feature.py", "f\n"}});
  Plan plan = plan_for(Target::pull_request(123));
  Git g = product();
  auto revert = create_revert(g, plan);
  ASSERT_TRUE(revert.ok());
  auto other = other_clone();
  write(other, {{"app/unrelated.py", "u\n"}});
  std::string theirs = commit_all(other, "Unrelated fix");
  sh(other, {"push", "-q", "origin", "main"});

  PushOptions o;
  o.retry_on_race = false;
  auto r = push_revert(g, plan, *revert, o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ExitCode::Failed);
  EXPECT_NE(r.error().message.find("! [rejected]"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("(fetch first)"), std::string::npos);
  EXPECT_EQ(origin_tip(), theirs);
}

}  // namespace
