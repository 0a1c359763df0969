#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

#include "../infra/test_support.hpp"
#include "infra/apply_watch.hpp"
#include "infra/terraform_runner.hpp"
#include "util/fs.hpp"

using namespace rb;
using namespace rb::infra;
using rb::infra::testing::fixture_path;
using rb::infra::testing::project_fixture_path;

namespace {

const std::string kFake = std::string(ROLLBACK_SOURCE_DIR) + "/tests/infra/fake-terraform";

// The real runner, remembering what it was asked to run.
class RecordingRunner final : public CommandRunner {
 public:
  Result<ProcessResult> run(const std::vector<std::string>& argv, const ProcessOptions& options) override {
    calls.push_back({argv, options.cwd, options.env_set, static_cast<bool>(options.on_line)});
    return real_.run(argv, options);
  }
  struct Call {
    std::vector<std::string> argv;
    std::filesystem::path cwd;
    std::map<std::string, std::string> env;
    bool streamed;
  };
  std::vector<Call> calls;

 private:
  SystemCommandRunner real_;
};

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class infra_terraform_runner : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = TempDir::create("rollback-infra-test");
    ASSERT_TRUE(d.ok()) << d.error().message;
    dir_.emplace(std::move(*d));
    work_ = dir_->path() / "environments" / "prod";
    std::filesystem::create_directories(work_);
    log_ = dir_->path() / "fake-tf.log";
  }

  // The stand-in prints tests/fixtures/terraform/plans/<plan_fixture> for `show -json`.
  TerraformRunnerOptions options(const std::string& plan_fixture = "replace.plan.json") {
    TerraformRunnerOptions o;
    o.binary = kFake;
    o.working_dir = work_;
    o.env["FAKE_TF_LOG"] = log_.string();
    o.env["FAKE_TF_PLAN_JSON"] = project_fixture_path("terraform/plans/" + plan_fixture).string();
    return o;
  }

  // The same with a shared conformance plan (conformance_* tests only).
  TerraformRunnerOptions shared_options(const std::string& plan_fixture) {
    TerraformRunnerOptions o = options();
    o.env["FAKE_TF_PLAN_JSON"] = fixture_path("terraform/plans/" + plan_fixture).string();
    return o;
  }

  std::optional<TempDir> dir_;
  std::filesystem::path work_;
  std::filesystem::path log_;
  RecordingRunner runner_;
};

// The conformance tests of the runner: the same set-up, against the shared plans.
class conformance_infra_terraform_runner : public infra_terraform_runner {};

}  // namespace

TEST_F(infra_terraform_runner, InitPlanShowApplyRunsTheSavedPlan) {
  std::vector<std::string> lines;
  auto o = options();
  o.on_line = [&](std::string_view line, bool) { lines.emplace_back(line); };
  TerraformRunner tf(runner_, o);

  ASSERT_TRUE(tf.init().ok());
  EXPECT_NE(std::find(lines.begin(), lines.end(), "Terraform has been successfully initialized!"), lines.end());

  auto planned = tf.plan("rollback.tfplan");
  ASSERT_TRUE(planned.ok()) << planned.error().message;
  EXPECT_TRUE(std::filesystem::exists(work_ / "rollback.tfplan"));  // relative to the working directory
  EXPECT_NE(std::find(lines.begin(), lines.end(), "Saved the plan to: rollback.tfplan"), lines.end());

  size_t streamed_before_show = lines.size();
  auto summary = tf.show_json("rollback.tfplan");
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(lines.size(), streamed_before_show);  // the JSON is not streamed
  EXPECT_EQ(summary->addresses(ChangeKind::Replace), std::vector<std::string>{"local_file.local_file"});
  EXPECT_TRUE(summary->needs_confirmation());

  auto applied = tf.apply("rollback.tfplan");
  ASSERT_TRUE(applied.ok()) << applied.error().message;
  EXPECT_EQ(lines.back(), "Apply complete! Resources: 1 added, 0 changed, 1 destroyed.");

  // Exactly these argument vectors, in the working directory, with TF_IN_AUTOMATION.
  std::vector<std::vector<std::string>> expected = {
      {kFake, "init", "-input=false", "-no-color"},
      {kFake, "plan", "-input=false", "-no-color", "-out=rollback.tfplan"},
      {kFake, "show", "-json", "rollback.tfplan"},
      {kFake, "apply", "-input=false", "-no-color", "rollback.tfplan"},
  };
  ASSERT_EQ(runner_.calls.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(runner_.calls[i].argv, expected[i]);
    EXPECT_EQ(runner_.calls[i].cwd, work_);
    EXPECT_EQ(runner_.calls[i].env.at("TF_IN_AUTOMATION"), "1");
  }
  EXPECT_TRUE(runner_.calls[0].streamed);
  EXPECT_FALSE(runner_.calls[2].streamed);

  // What the subprocess itself saw.
  std::string cwd = "cwd=" + work_.string() + " ";
  EXPECT_EQ(slurp(log_), cwd + "init -input=false -no-color\n" + cwd + "plan -input=false -no-color -out=rollback.tfplan\n" + cwd +
                             "show -json rollback.tfplan\n" + cwd + "apply -input=false -no-color rollback.tfplan\n");
}

TEST_F(infra_terraform_runner, WithoutCallbackOutputIsOnlyCollected) {
  TerraformRunner tf(runner_, options());
  ASSERT_TRUE(tf.init().ok());
  EXPECT_FALSE(runner_.calls[0].streamed);
}

TEST_F(infra_terraform_runner, ApplyOfAFileThatIsNotTheSavedPlanFails) {
  std::ofstream(work_ / "hand-made.tfplan") << "not a plan\n";
  TerraformRunner tf(runner_, options());
  auto r = tf.apply("hand-made.tfplan");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().tag, "terraform");
  EXPECT_NE(r.error().message.find("apply -input=false -no-color hand-made.tfplan` failed in " + work_.string() + " (exit code 1)"),
            std::string::npos)
      << r.error().message;
  EXPECT_NE(r.error().message.find("not a plan file written by plan"), std::string::npos);
  EXPECT_FALSE(tf.apply("missing.tfplan").ok());
}

TEST_F(infra_terraform_runner, FailureQuotesCommandExitCodeAndStderrTail) {
  auto o = options();
  o.env["FAKE_TF_FAIL"] = "plan";
  TerraformRunner tf(runner_, o);
  auto r = tf.plan("p.tfplan");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ExitCode::Failed);
  const std::string& m = r.error().message;
  EXPECT_EQ(m.find("`" + kFake + " plan -input=false -no-color -out=p.tfplan` failed in " + work_.string() + " (exit code 1):\n"), 0u)
      << m;
  EXPECT_NE(m.find("Error: simulated failure of plan\n  on main.tf line 3"), std::string::npos) << m;
  EXPECT_EQ(m.find("Running plan..."), std::string::npos);  // stdout is not quoted when stderr says why
  EXPECT_FALSE(r.error().hint.empty());
  EXPECT_FALSE(std::filesystem::exists(work_ / "p.tfplan"));
}

TEST_F(infra_terraform_runner, StalePlanGetsItsOwnHint) {
  auto o = options();
  TerraformRunner planner(runner_, o);
  ASSERT_TRUE(planner.plan("p.tfplan").ok());
  o.env["FAKE_TF_STALE"] = "1";
  TerraformRunner tf(runner_, o);
  auto r = tf.apply("p.tfplan");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("Saved plan is stale"), std::string::npos);
  EXPECT_NE(r.error().hint.find("state restore"), std::string::npos);
}

TEST_F(conformance_infra_terraform_runner, ShowJsonReportsAnInvalidPlanWithPosition) {
  RB_REQUIRE_SHARED_FIXTURES();
  TerraformRunner tf(runner_, shared_options("invalid.plan.json"));
  ASSERT_TRUE(tf.plan("p.tfplan").ok());
  auto r = tf.show_json("p.tfplan");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().tag, "invalid_json");
  EXPECT_NE(r.error().message.find("show -json p.tfplan` is not valid JSON: line 676, column 29"), std::string::npos)
      << r.error().message;
}

TEST_F(conformance_infra_terraform_runner, ShowJsonOfEveryFixturePlanThroughTheStandIn) {
  RB_REQUIRE_SHARED_FIXTURES();
  for (const auto& name : rb::infra::testing::fixture_names("terraform/plans", ".plan.json")) {
    if (name == "invalid.plan.json") continue;
    SCOPED_TRACE(name);
    TerraformRunner tf(runner_, shared_options(name));
    ASSERT_TRUE(tf.plan("p.tfplan").ok());
    auto r = tf.show_json("p.tfplan");
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->format_version, "1.2");
  }
}

TEST_F(infra_terraform_runner, MissingBinaryIsReported) {
  auto o = options();
  o.binary = "rollback-no-such-terraform";
  TerraformRunner tf(runner_, o);
  auto r = tf.init();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("rollback-no-such-terraform"), std::string::npos);
  EXPECT_NE(r.error().hint.find("PATH"), std::string::npos);
}

TEST(infra_runner, LastLines) {
  EXPECT_EQ(last_lines("a\n\nb\nc\n\n", 2), "b\nc");
  EXPECT_EQ(last_lines("a\nb", 5), "a\nb");
  EXPECT_EQ(last_lines("", 3), "");
}

// The check after CI's apply (issue 12): plan the reverted folder; no changes is done, changes are
// drift to report with their count, and a folder that cannot be planned is no verdict at all.
TEST_F(infra_terraform_runner, TheCheckAfterTheApplyJudgesThePlansExitCode) {
  {
    auto o = options();
    o.env["FAKE_TF_PLAN_EXIT"] = "0";
    TerraformRunner tf(runner_, o);
    auto check = check_no_changes(tf, "check.tfplan");
    EXPECT_EQ(check.verdict, NoChangesVerdict::NoChanges) << check.detail;
    // Without taking Terraform's lock: a read-only check must not block CI.
    ASSERT_EQ(runner_.calls.size(), 2u);
    EXPECT_EQ(runner_.calls[1].argv, (std::vector<std::string>{kFake, "plan", "-input=false", "-no-color", "-lock=false",
                                                              "-detailed-exitcode", "-out=check.tfplan"}));
  }
  {
    auto o = options("replace.plan.json");
    o.env["FAKE_TF_PLAN_EXIT"] = "2";
    TerraformRunner tf(runner_, o);
    auto check = check_no_changes(tf, "check.tfplan");
    EXPECT_EQ(check.verdict, NoChangesVerdict::Changes);
    EXPECT_EQ(check.changes, 1u);
    EXPECT_NE(check.detail.find("local_file.local_file"), std::string::npos) << check.detail;
    EXPECT_EQ(check.plan_line.rfind("Plan: 1 to add, 0 to change, 1 to destroy", 0), 0u) << check.plan_line;
  }
  for (const char* failing : {"init", "plan"}) {
    auto o = options();
    o.env["FAKE_TF_FAIL"] = failing;
    TerraformRunner tf(runner_, o);
    auto check = check_no_changes(tf, "check.tfplan");
    EXPECT_EQ(check.verdict, NoChangesVerdict::CannotPlan) << failing;
    EXPECT_NE(check.detail.find(std::string("terraform ") + failing + " failed"), std::string::npos) << check.detail;
  }
  {
    // An exit code other than 0 and 2 is an error, not an answer.
    auto o = options();
    o.env["FAKE_TF_PLAN_EXIT"] = "3";
    TerraformRunner tf(runner_, o);
    EXPECT_EQ(check_no_changes(tf, "check.tfplan").verdict, NoChangesVerdict::CannotPlan);
  }
}
