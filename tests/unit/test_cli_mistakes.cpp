#include <gtest/gtest.h>

#include <CLI/CLI.hpp>

#include <set>

#include "cli/completion.hpp"
#include "cli/mistakes.hpp"

using namespace rb;

namespace {

// A small command tree shaped like rollback's: required subcommand at the top, a group with a
// required subcommand (state), one with an optional one (db), commands with --env.
struct Tree {
  CLI::App app{"test", "rollback"};
  std::string env, version_id, out;
  bool dry_run = false;
  Tree() {
    app.require_subcommand(1);
    auto* ecs = app.add_subcommand("ecs", "Emergency rollback");
    ecs->add_option("--env,-e", env, "Environment");
    ecs->add_option("--output", out, "text or json");
    ecs->add_flag("--dry-run", dry_run, "Plan only");
    auto* status = app.add_subcommand("status", "What runs now");
    status->add_option("--env,-e", env, "Environment");
    auto* state = app.add_subcommand("state", "Terraform state");
    state->require_subcommand(1);
    auto* list = state->add_subcommand("list", "Versions");
    list->add_option("--env,-e", env, "Environment");
    auto* restore = state->add_subcommand("restore", "Restore: a version");
    restore->add_option("--env,-e", env, "Environment");
    restore->add_option("--version-id", version_id, "Version");
    auto* db = app.add_subcommand("db", "Database");
    db->require_subcommand(0, 1);
    db->add_option("--env,-e", env, "Environment");
    auto* db_status = db->add_subcommand("status", "Where the database is");
    db_status->add_option("--env,-e", env, "Environment");
  }
  std::optional<Error> check(std::vector<std::string> args) { return cli::check_command_words(app, args); }
};

}  // namespace

TEST(cli_mistakes, CorrectCommandLinesPass) {
  Tree t;
  EXPECT_FALSE(t.check({"ecs", "--env", "prod"}));
  EXPECT_FALSE(t.check({"ecs", "--env=prod", "--dry-run"}));
  EXPECT_FALSE(t.check({"ecs", "-e", "prod", "--output", "json"}));
  EXPECT_FALSE(t.check({"state", "restore", "--env", "dev", "--version-id", "abc"}));
  EXPECT_FALSE(t.check({"db", "--env", "dev"}));
  EXPECT_FALSE(t.check({"db", "status", "--env", "dev"}));
  EXPECT_FALSE(t.check({"--help"}));
  EXPECT_FALSE(t.check({}));
}

TEST(cli_mistakes, MisspeltCommandNamesTheClosest) {
  Tree t;
  auto e = t.check({"statuss", "--env", "prod"});
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code, ExitCode::Usage);
  EXPECT_EQ(error_code_of(*e), ErrorCode::UnknownCommand);
  EXPECT_EQ(e->message, "unknown command 'statuss'");
  EXPECT_NE(e->hint.find("did you mean `rollback status`?"), std::string::npos) << e->hint;

  auto far = t.check({"rollbak"});
  ASSERT_TRUE(far);
  EXPECT_EQ(far->message, "unknown command 'rollbak'");
  EXPECT_NE(far->hint.find("commands: ecs, status, state, db"), std::string::npos) << far->hint;

  auto nested = t.check({"state", "lst", "--env", "dev"});
  ASSERT_TRUE(nested);
  EXPECT_EQ(nested->message, "unknown command 'lst' for `rollback state`");
  EXPECT_NE(nested->hint.find("`rollback state list`"), std::string::npos);

  auto optional_level = t.check({"db", "stats", "--env", "dev"});
  ASSERT_TRUE(optional_level);
  EXPECT_NE(optional_level->hint.find("`rollback db status`"), std::string::npos);
}

TEST(cli_mistakes, BareEnvironmentWordIsRefusedWithTheExactCommand) {
  Tree t;
  auto e = t.check({"ecs", "prod", "--dry-run"});
  ASSERT_TRUE(e);
  EXPECT_EQ(error_code_of(*e), ErrorCode::Usage);
  EXPECT_NE(e->message.find("unexpected argument 'prod'"), std::string::npos);
  EXPECT_NE(e->hint.find("rollback ecs --env prod --dry-run"), std::string::npos) << e->hint;
  // The value of an option is not mistaken for a bare word.
  EXPECT_FALSE(t.check({"ecs", "--output", "json", "--env", "prod"}));
  // With --env given too, the word is still refused, never ignored.
  auto both = t.check({"ecs", "--env", "prod", "staging"});
  ASSERT_TRUE(both);
  EXPECT_NE(both->message.find("unexpected argument 'staging'"), std::string::npos);
}

TEST(cli_completion, EveryCommandAndOptionInEveryScriptAndTheManPage) {
  Tree t;
  for (const char* shell : {"bash", "zsh", "fish"}) {
    auto script = cli::completion_script(t.app, shell);
    ASSERT_TRUE(script) << shell;
    for (const char* word : {"ecs", "status", "state", "list", "restore", "db"})
      EXPECT_NE(script->find(word), std::string::npos) << shell << ": " << word;
    for (const char* opt : {"version-id", "dry-run", "env", "output"})
      EXPECT_NE(script->find(opt), std::string::npos) << shell << ": " << opt;
  }
  EXPECT_FALSE(cli::completion_script(t.app, "powershell"));
  std::string man = cli::man_page(t.app, "1.2.3 (commit abc)");
  EXPECT_NE(man.find(".TH ROLLBACK 1 \"\" \"rollback 1.2.3 (commit abc)\""), std::string::npos);
  EXPECT_NE(man.find(".SS \"rollback state restore\""), std::string::npos);
  EXPECT_NE(man.find("\\-\\-version\\-id"), std::string::npos);
  // A description starting with a dot or holding a backslash cannot break the roff.
  CLI::App odd{".TH not a request \\fB", "rollback"};
  odd.add_subcommand("x", "'quoted first");
  std::string odd_man = cli::man_page(odd, "1");
  EXPECT_NE(odd_man.find("\n\\&.TH not a request \\efB\n"), std::string::npos) << odd_man;
  EXPECT_NE(odd_man.find("\n\\&'quoted first\n"), std::string::npos) << odd_man;
}

TEST(util_error_code, StableNamesAndDefaultsFromTheExitCode) {
  std::set<std::string> names;
  for (ErrorCode c : kAllErrorCodes) names.insert(error_code_name(c));
  EXPECT_EQ(names.size(), std::size(kAllErrorCodes));  // one distinct name per code
  EXPECT_EQ(std::string(error_code_name(error_code_of(refusal("x")))), "refused");
  EXPECT_EQ(std::string(error_code_name(error_code_of(lock_error("x")))), "locked");
  EXPECT_EQ(std::string(error_code_name(error_code_of(usage_error("x")))), "usage");
  EXPECT_EQ(std::string(error_code_name(error_code_of(failure("x")))), "failed");
  EXPECT_EQ(std::string(error_code_name(error_code_of(config_error("x")))), "config");
  EXPECT_EQ(config_error("x").code, ExitCode::Usage);
  Error e{ExitCode::CannotStart, "m", "h", "t"};
  EXPECT_EQ(std::string(error_code_name(error_code_of(e))), "cannot_start");
  e.error_code = ErrorCode::Credentials;
  EXPECT_EQ(std::string(error_code_name(error_code_of(e))), "credentials");
}
