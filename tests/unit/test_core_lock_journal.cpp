#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>
#include <sys/file.h>

#include <fstream>
#include <future>
#include <thread>

#include "core/journal.hpp"
#include "core/lock.hpp"
#include "core/team_journal.hpp"
#include "util/fs.hpp"

using namespace rb;

namespace {

LockHolder holder(const std::string& user) {
  LockHolder h;
  h.user = user;
  h.host = "host";
  h.pid = getpid();
  h.command = "rollback ecs --env prod";
  h.since = "2026-11-26T10:00:00Z";
  return h;
}

class TempDirTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = std::make_unique<TempDir>(*TempDir::create("rollback-test")); }
  std::filesystem::path dir() const { return dir_->path(); }
  std::unique_ptr<TempDir> dir_;
};

}  // namespace

using Lock = TempDirTest;

TEST_F(Lock, SecondAcquireIsRefusedWithHolder) {
  auto first = EnvironmentLock::acquire(dir(), "app", "prod", holder("alice"));
  ASSERT_TRUE(first.ok()) << first.error().message;
  auto second = EnvironmentLock::acquire(dir(), "app", "prod", holder("bob"));
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code, ExitCode::Locked);
  EXPECT_NE(second.error().message.find("alice@host"), std::string::npos) << second.error().message;
  // Another environment is independent.
  EXPECT_TRUE(EnvironmentLock::acquire(dir(), "app", "staging", holder("bob")).ok());
  struct stat st {};
  ASSERT_EQ(stat(EnvironmentLock::path_for(dir(), "app", "prod").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(Lock, ReleasedLockCanBeTakenAgain) {
  {
    auto first = EnvironmentLock::acquire(dir(), "app", "prod", holder("alice"));
    ASSERT_TRUE(first.ok());
  }
  auto again = EnvironmentLock::acquire(dir(), "app", "prod", holder("bob"));
  EXPECT_TRUE(again.ok());
  auto seen = EnvironmentLock::inspect(dir(), "app", "prod");
  ASSERT_TRUE(seen.ok());
  EXPECT_EQ(seen->state, LockState::Held);
}

TEST_F(Lock, LockOfDeadProcessIsStaleAndCanBeBroken) {
  // A child takes the lock and dies without releasing it.
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto l = EnvironmentLock::acquire(dir(), "app", "prod", holder("ghost"));
    if (!l.ok()) _exit(1);
    _exit(0);  // no destructor runs: the file still names the holder
  }
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_EQ(WEXITSTATUS(status), 0);

  auto seen = EnvironmentLock::inspect(dir(), "app", "prod");
  ASSERT_TRUE(seen.ok());
  EXPECT_EQ(seen->state, LockState::Stale);
  ASSERT_TRUE(seen->holder.has_value());
  EXPECT_EQ(seen->holder->user, "ghost");

  auto refused = EnvironmentLock::acquire(dir(), "app", "prod", holder("bob"));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ExitCode::Locked);
  EXPECT_EQ(refused.error().tag, "stale");
  EXPECT_NE(refused.error().hint.find("rollback unlock --env prod"), std::string::npos);

  ASSERT_TRUE(EnvironmentLock::break_stale(dir(), "app", "prod").ok());
  EXPECT_TRUE(EnvironmentLock::acquire(dir(), "app", "prod", holder("bob")).ok());
}

TEST_F(Lock, LoserOfARaceNamesTheWinnerWhoseNameIsNotWrittenYet) {
  // The winner of a race holds the flock a moment before its name is in the file (CI saw losers
  // say "by an unknown process"). Stage that moment: flock now, write the name 200 ms later.
  auto path = EnvironmentLock::path_for(dir(), "app", "prod");
  int fd = open(path.c_str(), O_RDWR | O_CREAT, 0600);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(flock(fd, LOCK_EX | LOCK_NB), 0);
  auto writer = std::async(std::launch::async, [fd] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    std::string data = R"({"user":"alice","host":"host","pid":1,"command":"rollback ecs"})"
                       "\n";
    return pwrite(fd, data.data(), data.size(), 0) == static_cast<ssize_t>(data.size());
  });
  auto loser = EnvironmentLock::acquire(dir(), "app", "prod", holder("bob"));
  ASSERT_TRUE(writer.get());
  ASSERT_FALSE(loser.ok());
  EXPECT_EQ(loser.error().code, ExitCode::Locked);
  EXPECT_NE(loser.error().message.find("alice@host"), std::string::npos) << loser.error().message;
  auto seen = EnvironmentLock::inspect(dir(), "app", "prod");
  ASSERT_TRUE(seen.ok());
  EXPECT_EQ(seen->state, LockState::Held);
  ASSERT_TRUE(seen->holder.has_value());
  EXPECT_EQ(seen->holder->user, "alice");
  close(fd);
}

TEST_F(Lock, AHolderRewrittenWhenTheProcessWasKilledStillReadsAsStale) {
  // set_rollback_id() writes the new holder over the old one, then cuts the file: killed between
  // the two, the file holds the new line and a tail of the old. It must read as that holder's
  // stale lock, never as a free one (an empty file is a clean release).
  {
    std::ofstream f(EnvironmentLock::path_for(dir(), "app", "prod"));
    f << R"({"user":"ghost","host":"host","pid":1,"command":"rollback release","rollback_id":"r1"})" << "\n"
      << R"(ess","host":"host","pid":1,"command":"rollback release --env prod --pr 7 --reason long"})" << "\n";
  }
  chmod(EnvironmentLock::path_for(dir(), "app", "prod").c_str(), 0600);
  auto seen = EnvironmentLock::inspect(dir(), "app", "prod");
  ASSERT_TRUE(seen.ok()) << seen.error().message;
  EXPECT_EQ(seen->state, LockState::Stale);
  ASSERT_TRUE(seen->holder.has_value());
  EXPECT_EQ(seen->holder->user, "ghost");
  EXPECT_EQ(seen->holder->rollback_id, "r1");
  auto refused = EnvironmentLock::acquire(dir(), "app", "prod", holder("bob"));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().tag, "stale");
}

TEST_F(Lock, RenamingTheHolderKeepsOneLine) {
  auto held = EnvironmentLock::acquire(dir(), "app", "prod", holder("alice-with-a-long-name"));
  ASSERT_TRUE(held.ok());
  held->set_rollback_id("20261130-120000-abcd");
  std::ifstream f(EnvironmentLock::path_for(dir(), "app", "prod"));
  std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1) << text;
  EXPECT_NE(text.find("20261130-120000-abcd"), std::string::npos) << text;
}

TEST_F(Lock, LiveLockIsNotBroken) {
  auto held = EnvironmentLock::acquire(dir(), "app", "prod", holder("alice"));
  ASSERT_TRUE(held.ok());
  auto broken = EnvironmentLock::break_stale(dir(), "app", "prod");
  ASSERT_FALSE(broken.ok());
  EXPECT_EQ(broken.error().code, ExitCode::Locked);
}

using JournalTest = TempDirTest;

TEST_F(JournalTest, RecordsEntriesEventsAndOutcomes) {
  auto path = dir() / "state" / "journal.db";
  auto journal = open_sqlite_journal(path);
  ASSERT_TRUE(journal.ok()) << journal.error().message;
  JournalEntry e;
  e.app = "app";
  e.env = "prod";
  e.layer = "ecs";
  e.from = "fam:6";
  e.to = "fam:4";
  e.reason = "500s after deploy";
  auto id = (*journal)->begin(e);
  ASSERT_TRUE(id.ok());
  ASSERT_TRUE((*journal)->event(*id, "UpdateService sent").ok());
  ASSERT_TRUE((*journal)->finish(*id, kOutcomeSucceeded, {{"deployed_task_definition", "fam:4"}}).ok());

  auto got = (*journal)->get(*id);
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->outcome, "succeeded");
  EXPECT_EQ((*got)->details["deployed_task_definition"], "fam:4");
  EXPECT_FALSE((*got)->ended_at.empty());
  EXPECT_FALSE((*got)->user.empty());
  auto events = (*journal)->events(*id);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].message, "UpdateService sent");

  JournalFilter f;
  f.env = "staging";
  EXPECT_TRUE((*journal)->list(f)->empty());
  f.env = "prod";
  EXPECT_EQ((*journal)->list(f)->size(), 1u);

  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(stat(path.parent_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
}

TEST_F(JournalTest, ListsNewestFirst) {
  auto journal = open_sqlite_journal(dir() / "j.db");
  ASSERT_TRUE(journal.ok());
  for (int i = 0; i < 3; ++i) {
    JournalEntry e;
    e.app = "app";
    e.env = "prod";
    e.layer = "ecs";
    e.started_at = "2026-11-2" + std::to_string(i) + "T00:00:00Z";
    e.id = "id" + std::to_string(i);
    ASSERT_TRUE((*journal)->begin(e).ok());
  }
  auto all = (*journal)->list({});
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].id, "id2");
  EXPECT_EQ((*all)[2].id, "id0");
}

// Two rollbacks started within the same second (ids carry a random suffix) are listed in the
// order they began, not in the order of their ids: "the last rollback" must be the last one.
TEST_F(JournalTest, RollbacksOfTheSameSecondListInTheOrderTheyBegan) {
  auto journal = open_sqlite_journal(dir() / "j.db");
  ASSERT_TRUE(journal.ok());
  for (const char* id : {"20261130-101713-d760", "20261130-101713-7ebb"}) {
    JournalEntry e;
    e.app = "app";
    e.env = "dev";
    e.layer = "infra";
    e.started_at = "2026-11-30T10:17:13Z";
    e.id = id;
    ASSERT_TRUE((*journal)->begin(e).ok());
  }
  auto all = (*journal)->list({});
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].id, "20261130-101713-7ebb");
  EXPECT_EQ((*all)[1].id, "20261130-101713-d760");
}

// `rollback history` run the moment the first rollback creates the journal finds the file
// without its tables: it reads as an empty journal, not as an error.
TEST_F(JournalTest, AJournalFileWithoutItsTablesYetReadsAsEmpty) {
  auto path = dir() / "j.db";
  { std::ofstream(path.string()); }
  auto journal = open_sqlite_journal_read_only(path);
  ASSERT_TRUE(journal.ok()) << journal.error().message;
  auto all = (*journal)->list({});
  ASSERT_TRUE(all.ok()) << all.error().message;
  EXPECT_TRUE(all->empty());
  auto none = (*journal)->get("20261130-000000-aaaa");
  ASSERT_TRUE(none.ok()) << none.error().message;
  EXPECT_FALSE(none->has_value());
}

// The tables are created in one transaction: a writer that has opened the journal always
// leaves both, and a second writer opening it meanwhile neither fails nor duplicates them.
TEST_F(JournalTest, TwoWritersOpeningANewJournalAtOnceBothSucceed) {
  auto path = dir() / "j.db";
  std::vector<std::future<bool>> opened;
  for (int i = 0; i < 4; ++i)
    opened.push_back(std::async(std::launch::async, [&path] { return open_sqlite_journal(path).ok(); }));
  for (auto& f : opened) EXPECT_TRUE(f.get());
  auto journal = open_sqlite_journal_read_only(path);
  ASSERT_TRUE(journal.ok());
  JournalEntry e;
  e.app = "app";
  e.env = "dev";
  e.layer = "ecs";
  auto w = open_sqlite_journal(path);
  ASSERT_TRUE(w.ok());
  auto id = (*w)->begin(e);
  ASSERT_TRUE(id.ok());
  EXPECT_TRUE((*w)->event(*id, "x").ok());
  EXPECT_EQ((*journal)->list({})->size(), 1u);
}

Result<std::string> begin_restore(Journal& journal) {
  JournalEntry e;
  e.app = "app";
  e.env = "dev";
  e.layer = "state";
  return journal.begin(e);
}

// A write-ahead step: the event and its details are both there, or (when the entry is not
// there to update) neither.
TEST_F(JournalTest, AStepWritesItsEventAndDetailsTogether) {
  auto journal = open_sqlite_journal(dir() / "j.db");
  ASSERT_TRUE(journal.ok());
  auto id = begin_restore(**journal);
  ASSERT_TRUE(id.ok());
  ASSERT_TRUE((*journal)->step(*id, "started:write", {{"last_step", "started:write"}}).ok());
  auto got = (*journal)->get(*id);
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->details["last_step"], "started:write");
  auto events = (*journal)->events(*id);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].message, "started:write");

  auto refused = (*journal)->step("no-such-rollback", "started:write", {{"last_step", "started:write"}});
  EXPECT_FALSE(refused.ok());
  EXPECT_TRUE((*journal)->events("no-such-rollback")->empty());
  // The journal is usable after the rolled-back step.
  EXPECT_TRUE((*journal)->step(*id, "done:write", {{"last_step", "done:write"}}).ok());
  EXPECT_EQ((*journal)->events(*id)->size(), 2u);
}

// In team mode a checkpoint reaches the local journal at once, so a process killed before its
// outcome still leaves what it had done (the team table gets it with the entry's next push).
TEST_F(JournalTest, TeamModeKeepsCheckpointsAndStepsInTheLocalJournalAtOnce) {
  auto path = dir() / "j.db";
  auto local = open_sqlite_journal(path);
  ASSERT_TRUE(local.ok());
  auto journal = team::TeamJournal::open(std::move(*local), path, nullptr, "app", {"dev"}, [](const std::string&) {});
  ASSERT_TRUE(journal.ok()) << journal.error().message;
  auto id = begin_restore(**journal);
  ASSERT_TRUE(id.ok());
  ASSERT_TRUE((*journal)->update_details(*id, {{"backup", "/x"}}).ok());
  ASSERT_TRUE((*journal)->step(*id, "started:write", {{"backup", "/x"}, {"last_step", "started:write"}}).ok());
  auto reader = open_sqlite_journal_read_only(path);
  ASSERT_TRUE(reader.ok());
  auto got = (*reader)->get(*id);
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->details["backup"], "/x");
  EXPECT_EQ((*got)->details["last_step"], "started:write");
  ASSERT_EQ((*reader)->events(*id)->size(), 1u);
}
