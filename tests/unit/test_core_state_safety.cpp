// State files (locks, the journal) never follow a planted link or live in a folder another user
// controls; an outcome the journal could not take is recorded by the next command.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "core/context.hpp"
#include "core/journal.hpp"
#include "core/lock.hpp"
#include "util/fs.hpp"

using namespace rb;
namespace fs = std::filesystem;

namespace {

class StateSafety : public ::testing::Test {
 protected:
  void SetUp() override { tmp_ = std::make_unique<TempDir>(*TempDir::create("rollback-safety")); }
  fs::path dir() const { return tmp_->path(); }
  std::string read(const fs::path& p) {
    auto r = read_file(p);
    return r.ok() ? *r : "<missing>";
  }
  std::unique_ptr<TempDir> tmp_;
};

LockHolder holder() {
  LockHolder h;
  h.user = "alice";
  h.host = "host";
  h.pid = getpid();
  return h;
}

}  // namespace

TEST_F(StateSafety, LockPathThatIsASymlinkIsNeverFollowed) {
  fs::path locks = dir() / "locks";
  ASSERT_TRUE(ensure_state_dir(locks).ok());
  fs::path victim = dir() / "precious.txt";
  std::ofstream(victim) << "do not truncate me\n";
  fs::create_symlink(victim, EnvironmentLock::path_for(locks, "app", "prod"));

  auto taken = EnvironmentLock::acquire(locks, "app", "prod", holder());
  ASSERT_FALSE(taken.ok());
  EXPECT_EQ(taken.error().code, ExitCode::Refused);
  EXPECT_NE(taken.error().message.find("symbolic link"), std::string::npos) << taken.error().message;
  auto broken = EnvironmentLock::break_stale(locks, "app", "prod");
  ASSERT_FALSE(broken.ok());
  EXPECT_EQ(broken.error().code, ExitCode::Refused);
  auto seen = EnvironmentLock::inspect(locks, "app", "prod");
  EXPECT_FALSE(seen.ok());
  EXPECT_EQ(read(victim), "do not truncate me\n");
  // A dangling link is refused as well (and nothing is created where it points).
  fs::remove(EnvironmentLock::path_for(locks, "app", "prod"));
  fs::create_symlink(dir() / "created-through-link", EnvironmentLock::path_for(locks, "app", "prod"));
  EXPECT_FALSE(EnvironmentLock::acquire(locks, "app", "prod", holder()).ok());
  EXPECT_FALSE(EnvironmentLock::check_available(locks, "app", "prod").ok());
  EXPECT_FALSE(fs::exists(dir() / "created-through-link"));
}

TEST_F(StateSafety, HardLinkedLockFileIsRefused) {
  fs::path locks = dir() / "locks";
  ASSERT_TRUE(ensure_state_dir(locks).ok());
  fs::path victim = dir() / "victim";
  std::ofstream(victim) << "content\n";
  ASSERT_EQ(link(victim.c_str(), EnvironmentLock::path_for(locks, "app", "prod").c_str()), 0);
  auto taken = EnvironmentLock::acquire(locks, "app", "prod", holder());
  ASSERT_FALSE(taken.ok());
  EXPECT_NE(taken.error().message.find("hard links"), std::string::npos) << taken.error().message;
  EXPECT_EQ(read(victim), "content\n");
}

TEST_F(StateSafety, StateFolderThatIsALinkOrWritableByOthersIsRefused) {
  fs::path real = dir() / "real";
  ASSERT_TRUE(ensure_state_dir(real).ok());
  fs::path link = dir() / "link";
  fs::create_symlink(real, link);
  auto st = ensure_state_dir(link);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ExitCode::Refused);
  EXPECT_EQ(st.error().tag, "unsafe-dir");
  EXPECT_NE(st.error().message.find(link.string()), std::string::npos);

  fs::path open_dir = dir() / "open";
  ASSERT_EQ(mkdir(open_dir.c_str(), 0700), 0);
  ASSERT_EQ(chmod(open_dir.c_str(), 0777), 0);
  st = ensure_state_dir(open_dir);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().hint.find("chmod 700 " + open_dir.string()), std::string::npos) << st.error().hint;
  // A folder inside a world-writable parent without the sticky bit: the parent is named.
  st = ensure_state_dir(open_dir / "state");
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("inside " + open_dir.string()), std::string::npos) << st.error().message;
  // With the sticky bit (like /tmp) it is fine.
  ASSERT_EQ(chmod(open_dir.c_str(), 01777), 0);
  EXPECT_TRUE(ensure_state_dir(open_dir / "state").ok());
}

TEST_F(StateSafety, FolderOfAnotherUserIsRefused) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to give a folder to another user";
  fs::path foreign = dir() / "foreign";
  ASSERT_EQ(mkdir(foreign.c_str(), 0700), 0);
  ASSERT_EQ(chown(foreign.c_str(), 65534, 65534), 0);
  auto st = ensure_state_dir(foreign);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("belongs to uid 65534"), std::string::npos) << st.error().message;
  auto journal = open_sqlite_journal(foreign / "journal.db");
  ASSERT_FALSE(journal.ok());
  EXPECT_FALSE(fs::exists(foreign / "journal.db"));
}

TEST_F(StateSafety, JournalPathThatIsASymlinkIsRefused) {
  fs::path victim = dir() / "victim.db";
  std::ofstream(victim) << "not a journal";
  fs::path state = dir() / "state";
  ASSERT_TRUE(ensure_state_dir(state).ok());
  fs::create_symlink(victim, state / "journal.db");
  auto journal = open_sqlite_journal(state / "journal.db");
  ASSERT_FALSE(journal.ok());
  EXPECT_EQ(journal.error().code, ExitCode::Refused);
  EXPECT_EQ(read(victim), "not a journal");
}

TEST_F(StateSafety, WritePrivateFileNeverWritesThroughAPlantedTemporaryLink) {
  fs::path victim = dir() / "victim";
  std::ofstream(victim) << "original";
  fs::path target = dir() / "out.json";
  fs::create_symlink(victim, target.string() + ".tmp." + std::to_string(getpid()));
  ASSERT_TRUE(write_private_file(target, "new").ok());
  EXPECT_EQ(read(victim), "original");
  EXPECT_EQ(read(target), "new");
}

TEST_F(StateSafety, DefaultStateDirWithoutHomeIsTheUsersOwnNotTmp) {
  const char* home = getenv("HOME");
  std::string saved = home ? home : "";
  const char* xdg = getenv("XDG_STATE_HOME");
  std::string saved_xdg = xdg ? xdg : "";
  unsetenv("HOME");
  unsetenv("XDG_STATE_HOME");
  fs::path d = default_state_dir();
  if (home) setenv("HOME", saved.c_str(), 1);
  if (xdg) setenv("XDG_STATE_HOME", saved_xdg.c_str(), 1);
  EXPECT_FALSE(d.string().starts_with("/tmp/.local")) << d;
}

TEST_F(StateSafety, CheckpointedDetailsSurviveWithoutFinish) {
  auto journal = open_sqlite_journal(dir() / "state" / "journal.db");
  ASSERT_TRUE(journal.ok()) << journal.error().message;
  JournalEntry e;
  e.app = "app";
  e.env = "prod";
  e.layer = "state";
  auto id = (*journal)->begin(e);
  ASSERT_TRUE(id.ok());
  ASSERT_TRUE((*journal)->update_details(*id, {{"steps_done", {"lock", "backup"}}, {"last_step", "started:write"}}).ok());
  auto got = (*journal)->get(*id);
  ASSERT_TRUE(got.ok() && *got);
  EXPECT_EQ((**got).outcome, kOutcomeRunning);
  EXPECT_EQ((**got).details["last_step"], "started:write");
  EXPECT_EQ((**got).details["steps_done"], nlohmann::json({"lock", "backup"}));
}

TEST_F(StateSafety, ReconcileRecordsSidecarOutcomesAndClosesDeadRunningEntries) {
  auto opened = open_sqlite_journal(dir() / "state" / "journal.db");
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  Journal& journal = **opened;
  JournalEntry e;
  e.app = "app";
  e.env = "prod";
  e.layer = "ecs";
  e.id = "20261130-000001-aaaa";
  ASSERT_TRUE(journal.begin(e).ok());  // finished, but the journal could not take it: a sidecar
  e.id = "20261130-000002-bbbb";
  ASSERT_TRUE(journal.begin(e).ok());  // killed: no sidecar
  e.id = "20261130-000003-cccc";
  e.host = "another-host";
  ASSERT_TRUE(journal.begin(e).ok());  // another machine: not ours to close
  e.id = "20261130-000004-dddd";
  e.host = "";
  e.env = "staging";
  ASSERT_TRUE(journal.begin(e).ok());  // another environment
  fs::path unrecorded = dir() / "state" / "unrecorded";
  ASSERT_TRUE(write_private_file(unrecorded / "20261130-000001-aaaa.json",
                                 nlohmann::json({{"id", "20261130-000001-aaaa"},
                                                 {"outcome", "succeeded"},
                                                 {"details", {{"deployed_task_definition", "app:4"}}}})
                                     .dump())
                  .ok());
  auto closed = reconcile_unfinished(journal, unrecorded, "app", "prod", "20261130-000009-ffff");
  ASSERT_TRUE(closed.ok()) << closed.error().message;
  EXPECT_EQ(closed->size(), 2u);
  auto outcome = [&](const std::string& id) { return (*journal.get(id))->outcome; };
  EXPECT_EQ(outcome("20261130-000001-aaaa"), kOutcomeSucceeded);
  EXPECT_EQ((*journal.get("20261130-000001-aaaa"))->details["deployed_task_definition"], "app:4");
  EXPECT_EQ(outcome("20261130-000002-bbbb"), kOutcomeInterrupted);
  EXPECT_EQ((*journal.get("20261130-000002-bbbb"))->details["closed_by"], "20261130-000009-ffff");
  EXPECT_EQ(outcome("20261130-000003-cccc"), kOutcomeRunning);
  EXPECT_EQ(outcome("20261130-000004-dddd"), kOutcomeRunning);
  EXPECT_FALSE(fs::exists(unrecorded / "20261130-000001-aaaa.json"));
}
