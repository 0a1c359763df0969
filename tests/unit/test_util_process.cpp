#include <gtest/gtest.h>

#include "util/process.hpp"

using namespace rb;

TEST(Process, RunsByArgumentVectorWithoutAShell) {
  // A shell would expand $HOME and split on ';'.
  auto r = run_process({"printf", "%s|", "$HOME; echo injected", "two words"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, 0);
  EXPECT_EQ(r->out, "$HOME; echo injected|two words|");
}

TEST(Process, ReportsExitCodeSignalAndMissingProgram) {
  auto failed = run_process({"sh", "-c", "echo oops >&2; exit 3"});
  ASSERT_TRUE(failed.ok());
  EXPECT_EQ(failed->exit_code, 3);
  EXPECT_EQ(failed->err, "oops\n");
  EXPECT_EQ(failed->describe(), "exit code 3");

  auto killed = run_process({"sh", "-c", "kill -9 $$"});
  ASSERT_TRUE(killed.ok());
  EXPECT_EQ(killed->signal, 9);
  EXPECT_FALSE(killed->ok());

  auto missing = run_process({"no-such-program-rollback-test"});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("no-such-program-rollback-test"), std::string::npos);
}

TEST(Process, StreamsLinesEnvironmentStdinAndTimeout) {
  std::vector<std::string> lines;
  ProcessOptions o;
  o.env_set["ROLLBACK_TEST_VAR"] = "value";
  o.stdin_data = "from stdin\n";
  o.on_line = [&](std::string_view l, bool) { lines.emplace_back(l); };
  auto r = run_process({"sh", "-c", "echo $ROLLBACK_TEST_VAR; cat"}, o);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(lines, (std::vector<std::string>{"value", "from stdin"}));

  ProcessOptions slow;
  slow.timeout = std::chrono::milliseconds(200);
  auto t = run_process({"sleep", "5"}, slow);
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(t->timed_out);
  EXPECT_FALSE(t->ok());
}

TEST(Process, EndlessOutputIsCutOffNotCollected) {
  ProcessOptions options;
  options.max_output = size_t{1} << 20;
  auto r = run_process({"yes", "rollback"}, options);  // never ends by itself
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->output_too_large);
  EXPECT_FALSE(r->ok());
  EXPECT_LE(r->out.size(), options.max_output);
  EXPECT_NE(r->describe().find("output grew past the limit"), std::string::npos);
}
