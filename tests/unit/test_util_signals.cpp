// Signals this process receives while a child runs are passed on to the child, so it can release
// what it holds (Terraform's state lock, git's index.lock) before we clean up.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <thread>

#include "infra/terraform_runner.hpp"
#include "util/clock.hpp"
#include "util/fs.hpp"
#include "util/process.hpp"

using namespace rb;
namespace fs = std::filesystem;

namespace {

// Installs the tool's handlers for the test and puts the defaults back afterwards.
class Signals : public ::testing::Test {
 protected:
  void SetUp() override {
    install_interrupt_handlers();
    clear_interrupted();
    tmp_ = std::make_unique<TempDir>(*TempDir::create("rollback-signals"));
  }
  void TearDown() override {
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGPIPE}) signal(sig, SIG_DFL);
    clear_interrupted();
  }
  // Runs a child that traps `trap_sig`, writes "ready" and waits; sends `send` to ourselves once
  // it is ready. Returns what the child wrote when its trap ran.
  std::string forwarded(int send, const char* trap_sig) {
    fs::path ready = tmp_->path() / "ready", got = tmp_->path() / "got";
    fs::remove(ready);
    fs::remove(got);
    std::string script = std::string("trap 'echo ") + trap_sig + " > " + got.string() + "; exit 7' " + trap_sig +
                         "; touch " + ready.string() + "; while :; do sleep 0.05; done";
    std::thread sender([&] {
      while (!fs::exists(ready)) std::this_thread::sleep_for(std::chrono::milliseconds(10));
      kill(getpid(), send);
    });
    auto r = run_process({"sh", "-c", script});
    sender.join();
    EXPECT_TRUE(r.ok());
    if (r.ok()) {
      EXPECT_TRUE(r->interrupted);
      EXPECT_EQ(r->exit_code, 7);
    }
    EXPECT_TRUE(interrupted());
    auto text = read_file(got);
    return text.ok() ? *text : "<not forwarded>";
  }
  std::unique_ptr<TempDir> tmp_;
};

}  // namespace

TEST_F(Signals, SigintSigtermAndSighupAreForwardedToTheChild) {
  EXPECT_EQ(forwarded(SIGINT, "INT"), "INT\n");
  clear_interrupted();
  EXPECT_EQ(forwarded(SIGTERM, "TERM"), "TERM\n");
  clear_interrupted();
  EXPECT_EQ(forwarded(SIGHUP, "HUP"), "HUP\n");
}

TEST_F(Signals, SigpipeDoesNotKillUsAndAsksTheChildToStopLikeCtrlC) {
  EXPECT_EQ(forwarded(SIGPIPE, "INT"), "INT\n");
  EXPECT_EQ(last_interrupt_signal(), SIGPIPE);
}

TEST_F(Signals, ASignalThatArrivedBeforeTheChildStartedIsNotForwarded) {
  // Cleanup after an interruption (git worktree remove) must run to its end.
  raise(SIGINT);
  ASSERT_TRUE(interrupted());
  auto r = run_process({"sh", "-c", "sleep 0.3; echo done"});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->ok());
  EXPECT_FALSE(r->interrupted);
  EXPECT_EQ(r->out, "done\n");
}

TEST_F(Signals, StdinToAChildThatExitsEarlyIsNotAnInterruption) {
  ProcessOptions o;
  o.stdin_data = std::string(1 << 20, 'x');
  auto r = run_process({"true"}, o);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(interrupted());
}

TEST(TerraformLock, HeldStateLockIdIsTakenFromTerraformsErrorBlock) {
  const char* err =
      "\nError: Error acquiring the state lock\n\nError message: ConditionalCheckFailedException\n"
      "Lock Info:\n  ID:        7b7c9d2e-1f3a-4c5d-9e8f-0a1b2c3d4e5f\n  Path:      b/k\n  Operation: OperationTypePlan\n";
  EXPECT_EQ(infra::held_state_lock_id(err), std::optional<std::string>("7b7c9d2e-1f3a-4c5d-9e8f-0a1b2c3d4e5f"));
  EXPECT_EQ(infra::held_state_lock_id("Error: something else\n  ID: 1234\n"), std::nullopt);
  EXPECT_EQ(infra::held_state_lock_id("Error acquiring the state lock\n  ID: $(rm -rf /)\n"), std::nullopt);
}
