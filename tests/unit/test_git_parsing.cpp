// Parsers of git output and the runner's contract, with a fake command runner.
#include <gtest/gtest.h>

#include "git/commits.hpp"
#include "git/git.hpp"
#include "git/plan.hpp"
#include "git/revert.hpp"

using namespace rb;
using namespace rb::git;
using namespace std::string_literals;

namespace {

const std::string kA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const std::string kB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
const std::string kC = "cccccccccccccccccccccccccccccccccccccccc";

TEST(git_parsing, ParsesLogRecords) {
  std::string out = kA + "\0"s + kB + " " + kC + "\0"s + "Ana Dev\0"s + "ana@example.com\0"s +
                    "2026-11-26T10:37:24+01:00\0"s + "Merge pull request #5 from o/b\x1e\n" + kB + "\0"s + kC + "\0"s +
                    "Bo\0"s + "bo@example.com\0"s + "2026-11-25T09:00:00Z\0"s + "Tab\tin subject\x1e\n";
  auto r = parse_log(out);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].sha, kA);
  EXPECT_EQ((*r)[0].parents, (std::vector<std::string>{kB, kC}));
  EXPECT_TRUE((*r)[0].is_merge());
  EXPECT_EQ((*r)[0].author_name, "Ana Dev");
  EXPECT_EQ((*r)[0].author_email, "ana@example.com");
  EXPECT_EQ((*r)[0].date, "2026-11-26T10:37:24+01:00");
  EXPECT_EQ((*r)[0].subject, "Merge pull request #5 from o/b");
  EXPECT_FALSE((*r)[1].is_merge());
  EXPECT_EQ((*r)[1].subject, "Tab\tin subject");
  EXPECT_TRUE(parse_log("").ok());
  EXPECT_TRUE(parse_log("")->empty());
}

TEST(git_parsing, ParsesRootCommitAndRejectsGarbage) {
  std::string root = kA + "\0\0"s + "R\0"s + "r@x\0"s + "2026-01-01T00:00:00Z\0"s + "Initial\x1e\n";
  auto r = parse_log(root);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE((*r)[0].parents.empty());
  auto bad = parse_log("not a log record\x1e\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("not a log record"), std::string::npos);
}

TEST(git_parsing, ParsesNumstatWithBinaryFilesAndOddNames) {
  std::string out = "3\t1\tapp/main.py\0"s + "-\t-\tassets/logo.png\0"s + "0\t12\tdir with space/tab\there.txt\0"s;
  auto r = parse_numstat(out);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[0].path, "app/main.py");
  EXPECT_EQ((*r)[0].added, 3);
  EXPECT_EQ((*r)[0].deleted, 1);
  EXPECT_TRUE((*r)[1].binary());
  EXPECT_EQ((*r)[1].path, "assets/logo.png");
  EXPECT_EQ((*r)[2].path, "dir with space/tab\there.txt");
  EXPECT_EQ((*r)[2].deleted, 12);
  for (std::string bad : {"x\t1\tp\0"s, "1\tp\0"s, "1\t-\tp\0"s, "1\t2\t\0"s}) {
    EXPECT_FALSE(parse_numstat(bad).ok()) << bad;
  }
}

TEST(git_parsing, ClassifiesPushErrors) {
  auto race = parse_push_error(
      "To /tmp/o.git\n ! [rejected]        abc -> main (fetch first)\nerror: failed to push some refs to "
      "'/tmp/o.git'\nhint: Updates were rejected because the remote contains work\n");
  EXPECT_TRUE(race.rejected);
  EXPECT_TRUE(race.non_fast_forward);
  EXPECT_EQ(race.report,
            "! [rejected]        abc -> main (fetch first)\nerror: failed to push some refs to '/tmp/o.git'");

  EXPECT_TRUE(parse_push_error(" ! [rejected]        abc -> main (non-fast-forward)\n").non_fast_forward);

  auto hook = parse_push_error(
      "remote: GH006: Protected branch update failed for refs/heads/main.        \nremote: error: At least 1 "
      "approving review is required.        \nTo github.com:o/r.git\n ! [remote rejected] abc -> main (protected "
      "branch hook declined)\nerror: failed to push some refs\n");
  EXPECT_TRUE(hook.rejected);
  EXPECT_FALSE(hook.non_fast_forward);
  EXPECT_EQ(hook.report,
            "remote: GH006: Protected branch update failed for refs/heads/main.\n"
            "remote: error: At least 1 approving review is required.\n"
            "! [remote rejected] abc -> main (protected branch hook declined)\n"
            "error: failed to push some refs");

  auto network = parse_push_error("fatal: unable to access 'https://x/': Could not resolve host: x\n");
  EXPECT_FALSE(network.rejected);
  EXPECT_EQ(network.report, "fatal: unable to access 'https://x/': Could not resolve host: x");
}

TEST(git_parsing, StderrExcerptDropsHintsAndProgress) {
  EXPECT_EQ(stderr_excerpt("error: could not revert abc\nhint: after resolving\nhint: the conflicts\n"),
            "error: could not revert abc");
  EXPECT_EQ(stderr_excerpt("Counting: 10%\rCounting: 100%\r\nremote: ok   \n"), "Counting: 100%\nremote: ok");
}

// A fake runner that records the call and answers with a canned result.
class FakeRunner : public CommandRunner {
 public:
  Result<ProcessResult> run(const std::vector<std::string>& argv, const ProcessOptions& options) override {
    calls.push_back(argv);
    last_options = options;
    return answer;
  }
  std::vector<std::vector<std::string>> calls;
  ProcessOptions last_options;
  ProcessResult answer;
};

TEST(git_runner, RunsGitWithCByArgvAndAFixedEnvironment) {
  FakeRunner fake;
  fake.answer.exit_code = 0;
  fake.answer.out = "abc\n";
  Git g(fake, "/srv/repo");
  auto r = g.run({"rev-parse", "HEAD"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, "abc\n");
  ASSERT_EQ(fake.calls.size(), 1u);
  EXPECT_EQ(fake.calls[0], (std::vector<std::string>{"git", "-C", "/srv/repo", "rev-parse", "HEAD"}));
  EXPECT_EQ(fake.last_options.env_set.at("LC_ALL"), "C");
  EXPECT_EQ(fake.last_options.env_set.at("GIT_TERMINAL_PROMPT"), "0");
  auto& unset = fake.last_options.env_unset;
  EXPECT_NE(std::find(unset.begin(), unset.end(), "GIT_DIR"), unset.end());
  EXPECT_EQ(fake.last_options.timeout, kLocalTimeout);
}

TEST(git_runner, ErrorsQuoteTheCommandAndGitsStderr) {
  FakeRunner fake;
  fake.answer.exit_code = 128;
  fake.answer.err = "fatal: bad revision 'nope'\nhint: try harder\n";
  Git g(fake, "/srv/repo");
  auto r = g.run({"log", "nope"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ExitCode::Failed);
  EXPECT_EQ(r.error().message, "`git -C /srv/repo log nope` failed (exit code 128):\nfatal: bad revision 'nope'");
  auto raw = g.try_run({"log", "nope"});
  ASSERT_TRUE(raw.ok());
  EXPECT_EQ(raw->exit_code, 128);
}

TEST(git_runner, FetchAndPushUseTheNetworkTimeout) {
  FakeRunner fake;
  fake.answer.exit_code = 0;
  Git g(fake, "/srv/repo");
  ASSERT_TRUE(g.fetch("origin", "main").ok());
  EXPECT_EQ(fake.calls.back(), (std::vector<std::string>{"git", "-C", "/srv/repo", "fetch", "--no-tags", "--quiet", "--",
                                                         "origin", "+refs/heads/main:refs/remotes/origin/main"}));
  EXPECT_EQ(fake.last_options.timeout, kNetworkTimeout);

  fake.answer.exit_code = 128;
  fake.answer.err = "fatal: couldn't find remote ref prod\n";
  auto missing = g.fetch("origin", "prod");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ExitCode::Usage);
  EXPECT_EQ(missing.error().tag, "no-such-branch");
  EXPECT_FALSE(g.fetch("origin", "-oops").ok());  // never reaches git
  EXPECT_EQ(fake.calls.size(), 2u);
}

TEST(git_runner, TimeoutIsAnError) {
  FakeRunner fake;
  fake.answer.timed_out = true;
  fake.answer.signal = 15;
  Git g(fake, "/srv/repo");
  auto r = g.try_run({"fetch", "origin"}, RunOptions::network());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("timed out after 10m"), std::string::npos) << r.error().message;
}

}  // namespace
