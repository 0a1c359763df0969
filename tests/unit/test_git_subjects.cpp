// Pure logic of the git layer: PR subjects, revert subjects, commit messages, targets.
#include <gtest/gtest.h>

#include "git/commits.hpp"
#include "git/message.hpp"
#include "git/resolve.hpp"

using namespace rb;
using namespace rb::git;

namespace {

const std::string kSha1 = "1111111111111111111111111111111111111111";
const std::string kSha2 = "2222222222222222222222222222222222222222";
const std::string kSha3 = "3333333333333333333333333333333333333333";
const std::string kParent = "9999999999999999999999999999999999999999";

CommitInfo commit(std::string sha, std::string subject, std::vector<std::string> parents = {kParent}) {
  CommitInfo c;
  c.sha = std::move(sha);
  c.short_sha = c.sha.substr(0, 7);
  c.subject = std::move(subject);
  c.parents = std::move(parents);
  return c;
}

TEST(git_subjects, ParsesGitHubMergeCommitSubject) {
  auto c = parse_pr_subject("Merge pull request #123 from owner/branch");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->style, PrStyle::MergeCommit);
  EXPECT_EQ(c->number, 123u);
  EXPECT_EQ(parse_pr_subject("Merge pull request #7 from acme/fix-(#8)")->number, 7u);
}

TEST(git_subjects, ParsesSquashSubject) {
  auto c = parse_pr_subject("Fix thing (#123)");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->style, PrStyle::Squash);
  EXPECT_EQ(c->number, 123u);
  EXPECT_EQ(parse_pr_subject("Fix thing (#123)  ")->number, 123u);  // trailing whitespace
  EXPECT_EQ(parse_pr_subject("Fix #12 properly (#123)")->number, 123u);
}

TEST(git_subjects, MatchesWholeNumbersOnly) {
  EXPECT_EQ(parse_pr_subject("Merge pull request #123 from o/b")->number, 123u);
  EXPECT_NE(parse_pr_subject("Merge pull request #123 from o/b")->number, 12u);
  EXPECT_EQ(parse_pr_subject("Fix thing (#123)")->number, 123u);

  std::vector<CommitInfo> history{commit(kSha1, "Merge pull request #123 from o/b"), commit(kSha2, "Fix thing (#1234)"),
                                  commit(kSha3, "Other (#12)")};
  auto m12 = find_pr(history, 12);
  ASSERT_EQ(m12.size(), 1u);
  EXPECT_EQ(m12[0].commit.sha, kSha3);
  EXPECT_EQ(m12[0].style, PrStyle::Squash);
  auto m123 = find_pr(history, 123);
  ASSERT_EQ(m123.size(), 1u);
  EXPECT_EQ(m123[0].commit.sha, kSha1);
  EXPECT_TRUE(find_pr(history, 1).empty());
  EXPECT_TRUE(find_pr(history, 23).empty());
}

TEST(git_subjects, IgnoresSubjectsThatDoNotClaimAPr) {
  for (const char* s :
       {"Fix thing", "Fix thing (#)", "Fix thing (#abc)", "Fix thing (#12) later", "Fix thing(#12)", "Fix thing #12",
        "Revert \"Fix thing (#12)\"", "Merge pull request #12", "Merge pull request #x from o/b",
        "Merge branch 'main' into feature", "Fix thing (#012)", "Merge pull request #-1 from o/b", ""}) {
    EXPECT_FALSE(parse_pr_subject(s).has_value()) << s;
  }
}

TEST(git_subjects, RevertSubjectFollowsGit243) {
  EXPECT_EQ(revert_subject("Fix thing (#123)"), "Revert \"Fix thing (#123)\"");
  EXPECT_EQ(revert_subject("Merge pull request #5 from o/b"), "Revert \"Merge pull request #5 from o/b\"");
  EXPECT_EQ(revert_subject("Revert \"Fix thing (#123)\""), "Reapply \"Fix thing (#123)\"");
  // Repeated reverts are left alone, as git >= 2.43 does (sequencer.c).
  EXPECT_EQ(revert_subject("Revert \"Revert \"X\"\""), "Revert \"Revert \"Revert \"X\"\"\"");
  EXPECT_EQ(revert_subject("Reapply \"X\""), "Revert \"Reapply \"X\"\"");
  EXPECT_EQ(revert_subject("Revert something without quotes"), "Revert \"Revert something without quotes\"");
}

TEST(git_message, SingleCommitIsGitsOwnMessagePlusTrailer) {
  auto msg = build_revert_message({commit(kSha1, "Fix thing (#123)")}, "", {"", "rb-20261126-0001"});
  EXPECT_EQ(msg,
            "Revert \"Fix thing (#123)\"\n\nThis reverts commit " + kSha1 + ".\n\nRollback-Id: rb-20261126-0001\n");
}

TEST(git_message, MergeCommitSaysWhichParentItKeeps) {
  auto msg = build_revert_message({commit(kSha1, "Merge pull request #5 from o/b", {kParent, kSha2})}, "",
                                  {"API 500s after deploy", "rb-1"});
  EXPECT_EQ(msg, "Revert \"Merge pull request #5 from o/b\"\n\nThis reverts commit " + kSha1 +
                     ", reversing\nchanges made to " + kParent +
                     ".\n\nReason: API 500s after deploy\n\nRollback-Id: rb-1\n");
}

TEST(git_message, ReasonIsCleanedAndTrailerStaysLast) {
  auto msg = build_revert_message({commit(kSha1, "X")}, "", {"\n  line one  \r\n\n\n# line two\n\n", "rb-1"});
  EXPECT_EQ(msg, "Revert \"X\"\n\nThis reverts commit " + kSha1 +
                     ".\n\nReason:   line one\n\n# line two\n\nRollback-Id: rb-1\n");
  EXPECT_EQ(build_revert_message({commit(kSha1, "X")}, "", {}), "Revert \"X\"\n\nThis reverts commit " + kSha1 + ".\n");
}

TEST(git_message, RevertOfRevertSaysReapply) {
  auto msg = build_revert_message({commit(kSha1, "Revert \"Add feature (#5)\"")}, "", {});
  EXPECT_EQ(msg, "Reapply \"Add feature (#5)\"\n\nThis reverts commit " + kSha1 + ".\n");
}

TEST(git_message, RangeListsEveryCommitNewestFirst) {
  auto msg = build_revert_message({commit(kSha1, "Add cache"), commit(kSha2, "Use cache"), commit(kSha3, "Tune cache")},
                                  "abcdef0", {"stampede", "rb-9"});
  EXPECT_EQ(msg,
            "Revert 3 commits (abcdef0..3333333)\n\n"
            "Reverted commits, newest first:\n"
            "  3333333 Tune cache\n"
            "  2222222 Use cache\n"
            "  1111111 Add cache\n\n"
            "This reverts commit " +
                kSha3 +
                ".\n"
                "This reverts commit " +
                kSha2 +
                ".\n"
                "This reverts commit " +
                kSha1 +
                ".\n\n"
                "Reason: stampede\n\n"
                "Rollback-Id: rb-9\n");
}

TEST(git_message, ValidatesRollbackIds) {
  for (const char* ok : {"rb-20261126-0001", "a", "A.b_c-9"}) EXPECT_TRUE(check_rollback_id(ok).ok()) << ok;
  for (const char* bad : {"", "-x", ".x", "a b", "a/b", "a..b", "x.lock", "a\nb", "ü"}) {
    auto s = check_rollback_id(bad);
    ASSERT_FALSE(s.ok()) << bad;
    EXPECT_EQ(s.error().code, ExitCode::Usage);
  }
  EXPECT_FALSE(check_rollback_id(std::string(101, 'a')).ok());
}

TEST(git_target, ParsesRanges) {
  auto t = Target::range("4f2a9c1..9e8d7c6b");
  ASSERT_TRUE(t.ok()) << t.error().message;
  EXPECT_EQ(t->type, Target::Type::Range);
  EXPECT_EQ(t->from, "4f2a9c1");
  EXPECT_EQ(t->to, "9e8d7c6b");
  EXPECT_EQ(t->describe(), "range 4f2a9c1..9e8d7c6b");
  for (const char* bad :
       {"", "abc", "abcd..", "..abcd", "abcd...ef01", "HEAD~3..HEAD", "main..abcd", "abcd..ef01..99"}) {
    auto r = Target::range(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, ExitCode::Usage) << bad;
  }
  EXPECT_EQ(Target::pull_request(123).describe(), "PR #123");
  EXPECT_EQ(Target::single_commit("4f2a9c1").describe(), "commit 4f2a9c1");
}

TEST(git_target, ValidatesCommitIdsAndBranchNames) {
  EXPECT_TRUE(check_commit_id("4f2a").ok());
  EXPECT_TRUE(check_commit_id(kSha1).ok());
  for (const char* bad : {"", "abc", "HEAD", "-n", "4f2a9c1~1", "g123456"})
    EXPECT_FALSE(check_commit_id(bad).ok()) << bad;
  for (const char* ok : {"main", "staging", "rollback/rb-1", "release-1.2"})
    EXPECT_TRUE(check_branch_name(ok).ok()) << ok;
  for (const char* bad : {"", "-f", "a..b", "a b", "a:b", "a~1", "a^", "x.lock", "/x", "x/", "a\\b", "a@{1}"})
    EXPECT_FALSE(check_branch_name(bad).ok()) << bad;
}

}  // namespace
