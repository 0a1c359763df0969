// Waiting for CI's Terraform apply (infra/apply_watch): a state version written after the push
// and Terraform's lock free, polled against scripted S3 and DynamoDB fakes and a fake clock.
#include <gtest/gtest.h>

#include <functional>
#include <map>

#include "infra/apply_watch.hpp"
#include "../support/fake_clock.hpp"

using namespace rb;
using namespace rb::infra;
using namespace std::chrono_literals;

namespace {

using TimePoint = std::chrono::system_clock::time_point;
const TimePoint kPush = std::chrono::system_clock::from_time_t(1'780'000'000);

Error tagged(std::string tag) {
  Error e = failure("fake: " + tag);
  e.tag = std::move(tag);
  return e;
}

// The state object's versions as each ListObjectVersions call sees them (the last script entry
// repeats), and the .tflock object's body while `lockfile` is set.
class ScriptedStore final : public StateObjectStore {
 public:
  std::vector<std::vector<S3ObjectVersion>> script;
  std::function<std::optional<std::string>(int)> lockfile = [](int) { return std::nullopt; };
  std::optional<Error> list_error;
  int lists = 0;

  Result<std::vector<S3ObjectVersion>> list_object_versions(const std::string&, const std::string&) override {
    if (list_error) return *list_error;
    ++lists;
    return script[std::min<size_t>(static_cast<size_t>(lists - 1), script.size() - 1)];
  }
  Result<std::string> get_object(const std::string&, const std::string& key, const std::string&) override {
    EXPECT_EQ(key, "api/terraform.tfstate.tflock");
    if (auto body = lockfile(lists)) return *body;
    return tagged("NoSuchKey");
  }
  Result<std::string> put_object(const std::string&, const std::string&, const std::string&, bool) override {
    ADD_FAILURE() << "watching the apply must not write";
    return failure("no");
  }
  Status delete_object(const std::string&, const std::string&) override {
    ADD_FAILURE() << "watching the apply must not delete";
    return failure("no");
  }
};

// Terraform's lock item, held during the polls for which `held(poll)` is true.
class ScriptedLocks final : public LockTable {
 public:
  ScriptedStore* store = nullptr;
  std::function<bool(int)> held = [](int) { return false; };
  std::vector<std::string> asked;

  Status put_item(const std::string&, const std::string&, const std::string&, const std::string&, bool) override {
    ADD_FAILURE() << "watching the apply must not take the lock";
    return failure("no");
  }
  Result<std::optional<std::string>> get_item(const std::string& table, const std::string& lock_id,
                                              const std::string& attribute) override {
    asked.push_back(table + " " + lock_id + " " + attribute);
    if (!held(store->lists)) return std::optional<std::string>();
    return std::optional<std::string>(
        R"({"ID":"1","Operation":"OperationTypeApply","Info":"","Who":"ci@runner","Version":"1.9.5",)"
        R"("Created":"2026-05-28T20:26:40Z","Path":"b/api/terraform.tfstate"})");
  }
  Status delete_item(const std::string&, const std::string&) override {
    ADD_FAILURE() << "watching the apply must not delete";
    return failure("no");
  }
};

S3ObjectVersion version(std::string id, TimePoint written, bool latest = true, std::string key = "api/terraform.tfstate") {
  S3ObjectVersion v;
  v.key = std::move(key);
  v.version_id = std::move(id);
  v.is_latest = latest;
  v.last_modified = written;
  v.size = 100;
  return v;
}

ApplyWatch watch(bool lockfile = false) {
  ApplyWatch w;
  w.location = {"b", "api/terraform.tfstate"};
  w.dynamodb_table = lockfile ? "" : "locks";
  w.use_lockfile = lockfile;
  w.pushed_at = kPush;
  w.timeout = 60s;
  w.poll_interval = 5s;
  return w;
}

class ApplyWatchTest : public ::testing::Test {
 protected:
  rb::testing::FakeClock clock{kPush};
  ScriptedStore store;
  ScriptedLocks locks;
  std::vector<std::string> lines;
  std::function<void(const std::string&)> emit = [this](const std::string& l) { lines.push_back(l); };
  void SetUp() override { locks.store = &store; }
};

}  // namespace

TEST_F(ApplyWatchTest, WaitsForAVersionWrittenAfterThePushAndTheLockFree) {
  const auto before = version("old", kPush - 3600s);
  store.script = {{before}, {before}, {version("new", kPush + 40s), version("old", kPush - 3600s, false)}};
  locks.held = [](int poll) { return poll <= 3; };  // the apply still holds the lock when the version lands
  auto seen = wait_for_apply(store, &locks, watch(), clock, emit);
  ASSERT_TRUE(seen.ok()) << seen.error().message;
  EXPECT_EQ(seen->version.version_id, "new");
  EXPECT_EQ(store.lists, 4);
  EXPECT_EQ(clock.sleeps, (std::vector<std::chrono::milliseconds>{5s, 5s, 5s}));
  EXPECT_EQ(locks.asked.front(), "locks b/api/terraform.tfstate Info");
  ASSERT_GE(lines.size(), 3u);
  EXPECT_NE(lines[0].find("version old is from"), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("held by ci@runner (OperationTypeApply)"), std::string::npos) << lines[0];
  EXPECT_NE(lines[1].find("still held by ci@runner"), std::string::npos) << lines[1];
  EXPECT_NE(lines.back().find("wrote state version new"), std::string::npos) << lines.back();
}

TEST_F(ApplyWatchTest, AVersionFromBeforeThePushIsNotTheApply) {
  store.script = {{version("old", kPush - 60s)}};
  auto seen = wait_for_apply(store, &locks, watch(), clock, emit);
  ASSERT_FALSE(seen.ok());
  EXPECT_EQ(seen.error().code, ExitCode::Failed);
  EXPECT_NE(seen.error().message.find("not seen within 60s"), std::string::npos) << seen.error().message;
  EXPECT_NE(seen.error().message.find("version old is from"), std::string::npos) << seen.error().message;
  EXPECT_NE(seen.error().hint.find("--known-good"), std::string::npos);
  EXPECT_EQ(lines.size(), 1u);  // the same observation is reported once, not at every poll
  EXPECT_EQ(store.lists, 13);   // 60 s at 5 s
}

TEST_F(ApplyWatchTest, ClockSkewOfCiAndS3IsAllowedForAVersionThatAppearsWhileWaiting) {
  store.script = {{version("old", kPush - 60s)}, {version("ci", kPush - 3s)}};
  auto seen = wait_for_apply(store, &locks, watch(), clock, emit);
  ASSERT_TRUE(seen.ok()) << seen.error().message;
  EXPECT_EQ(seen->version.version_id, "ci");
  EXPECT_EQ(store.lists, 2);
}

TEST_F(ApplyWatchTest, AVersionWrittenSecondsBeforeThePushIsNotTheApply) {
  // The last apply wrote it just before the push: within the skew, but already current at the
  // first read, so it is where the wait starts, not what it waits for.
  store.script = {{version("previous", kPush - 3s)}, {version("previous", kPush - 3s)},
                  {version("ci", kPush + 30s)}};
  auto seen = wait_for_apply(store, &locks, watch(), clock, emit);
  ASSERT_TRUE(seen.ok()) << seen.error().message;
  EXPECT_EQ(seen->version.version_id, "ci");
  EXPECT_EQ(store.lists, 3);
}

TEST_F(ApplyWatchTest, AnApplyBeforeTheFirstReadCountsWhenItIsAfterThePush) {
  store.script = {{version("ci", kPush + 1s)}};
  auto seen = wait_for_apply(store, &locks, watch(), clock, emit);
  ASSERT_TRUE(seen.ok()) << seen.error().message;
  EXPECT_EQ(seen->version.version_id, "ci");
  EXPECT_TRUE(clock.sleeps.empty());
}

TEST_F(ApplyWatchTest, OtherKeysUnderThePrefixAndDeleteMarkersDoNotCount) {
  auto marker = version("marker", kPush + 10s);
  marker.is_delete_marker = true;
  store.script = {{version("other", kPush + 10s, true, "api/terraform.tfstate.backup"), marker,
                   version("old", kPush - 60s, false)},
                  {version("new", kPush + 20s)}};
  auto seen = wait_for_apply(store, &locks, watch(), clock, emit);
  ASSERT_TRUE(seen.ok()) << seen.error().message;
  EXPECT_EQ(seen->version.version_id, "new");
  EXPECT_NE(lines[0].find("does not exist"), std::string::npos) << lines[0];
}

TEST_F(ApplyWatchTest, S3NativeLockfileIsWaitedFor) {
  store.script = {{version("new", kPush + 20s)}};
  store.lockfile = [](int poll) -> std::optional<std::string> {
    if (poll >= 2) return std::nullopt;
    return R"({"ID":"2","Operation":"OperationTypeApply","Who":"ci@runner","Created":"2026-05-28T20:26:40Z"})";
  };
  auto seen = wait_for_apply(store, nullptr, watch(/*lockfile=*/true), clock, emit);
  ASSERT_TRUE(seen.ok()) << seen.error().message;
  EXPECT_EQ(store.lists, 2);
  EXPECT_NE(lines[0].find("still held by ci@runner"), std::string::npos) << lines[0];
}

TEST_F(ApplyWatchTest, UnreadableStateNamesTheBucketAndKey) {
  store.list_error = tagged("NoSuchBucket");
  auto seen = wait_for_apply(store, &locks, watch(), clock, emit);
  ASSERT_FALSE(seen.ok());
  EXPECT_NE(seen.error().message.find("s3://b/api/terraform.tfstate"), std::string::npos) << seen.error().message;
  EXPECT_TRUE(clock.sleeps.empty());
}

TEST_F(ApplyWatchTest, InterruptionStopsTheWaitAndSaysTheRevertIsPushed) {
  store.script = {{version("old", kPush - 60s)}};
  clock.interrupt_sleeps = true;
  auto seen = wait_for_apply(store, &locks, watch(), clock, emit);
  ASSERT_FALSE(seen.ok());
  EXPECT_EQ(seen.error().code, ExitCode::Interrupted);
  EXPECT_NE(seen.error().message.find("the revert is pushed"), std::string::npos);
}
