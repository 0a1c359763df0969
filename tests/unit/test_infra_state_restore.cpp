// The restore sequence (infra/state_restore) against in-memory S3 and DynamoDB fakes that log
// every call, so the order of steps and "nothing changed" can be checked exactly.
#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <map>
#include <sys/stat.h>

#include "infra/lock_info.hpp"
#include "infra/state_restore.hpp"
#include "util/fs.hpp"
#include "util/hash.hpp"
#include "../support/fake_clock.hpp"

using namespace rb;
using namespace rb::infra;

namespace {

// Wall time fixed at 2026-05-28 (sleeps never happen in these tests).
struct FakeClock : rb::testing::FakeClock {
  FakeClock() : rb::testing::FakeClock(std::chrono::system_clock::time_point(std::chrono::seconds(1'780'000'000))) {}
};

Error tagged(std::string tag, std::string message = "fake failure") {
  Error e = failure(std::move(message));
  e.tag = std::move(tag);
  return e;
}

// A versioned bucket: every put adds a version, delete adds a delete marker.
class MemoryStore final : public StateObjectStore {
 public:
  struct Entry {
    std::string key, id, body;
    bool marker = false;
    int seq = 0;
  };
  std::vector<Entry> entries;
  std::vector<std::string>* log = nullptr;
  std::map<std::string, Error> fail_next;  // "put <key>", "get <key>" -> error for the next such call
  bool put_lands_despite_error = false;

  std::string put_plain(const std::string& key, const std::string& body) {
    Entry e{key, "v" + std::to_string(++seq_), body, false, seq_};
    entries.push_back(e);
    return e.id;
  }
  const Entry* latest(const std::string& key) const {
    const Entry* out = nullptr;
    for (const auto& e : entries)
      if (e.key == key && (!out || e.seq > out->seq)) out = &e;
    return out;
  }
  size_t versions_of(const std::string& key) const {
    size_t n = 0;
    for (const auto& e : entries) n += e.key == key && !e.marker;
    return n;
  }

  Result<std::vector<S3ObjectVersion>> list_object_versions(const std::string&, const std::string& prefix) override {
    note("list " + prefix);
    std::vector<S3ObjectVersion> out;
    for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
      if (it->key.rfind(prefix, 0) != 0) continue;
      S3ObjectVersion v;
      v.key = it->key;
      v.version_id = it->id;
      v.is_latest = latest(it->key) == &*it;
      v.last_modified = std::chrono::system_clock::time_point(std::chrono::seconds(it->seq));
      v.size = static_cast<int64_t>(it->body.size());
      v.is_delete_marker = it->marker;
      out.push_back(v);
    }
    return out;
  }
  Result<std::string> get_object(const std::string&, const std::string& key, const std::string& version_id) override {
    note("get " + key + (version_id.empty() ? "" : "@" + version_id));
    if (auto e = take("get " + key)) return *e;
    if (version_id.empty()) {
      const Entry* l = latest(key);
      if (!l || l->marker) return tagged("NoSuchKey");
      return l->body;
    }
    for (const auto& e : entries)
      if (e.key == key && e.id == version_id && !e.marker) return e.body;
    return tagged("NoSuchVersion");
  }
  Result<std::string> put_object(const std::string&, const std::string& key, const std::string& body,
                                 bool if_none_match) override {
    note("put " + key + (if_none_match ? " if-none-match" : ""));
    if (auto e = take("put " + key)) {
      if (put_lands_despite_error) put_plain(key, body);
      return *e;
    }
    if (if_none_match) {
      const Entry* l = latest(key);
      if (l && !l->marker) return tagged("PreconditionFailed");
    }
    return put_plain(key, body);
  }
  Status delete_object(const std::string&, const std::string& key) override {
    note("delete " + key);
    Entry e{key, "dm" + std::to_string(++seq_), "", true, seq_};
    entries.push_back(e);
    return {};
  }

 private:
  void note(const std::string& s) {
    if (log) log->push_back("s3 " + s);
  }
  std::optional<Error> take(const std::string& what) {
    auto it = fail_next.find(what);
    if (it == fail_next.end()) return std::nullopt;
    Error e = it->second;
    fail_next.erase(it);
    return e;
  }
  int seq_ = 0;
};

class MemoryTable final : public LockTable {
 public:
  std::map<std::string, std::map<std::string, std::string>> items;
  std::vector<std::string>* log = nullptr;
  std::map<std::string, Error> fail_next;  // "put <id>" / "delete <id>"

  Status put_item(const std::string&, const std::string& lock_id, const std::string& attribute, const std::string& value,
                  bool only_if_absent) override {
    note("put " + lock_id + (only_if_absent ? " if-absent" : ""));
    if (auto it = fail_next.find("put " + lock_id); it != fail_next.end()) {
      Error e = it->second;
      fail_next.erase(it);
      return e;
    }
    if (only_if_absent && items.count(lock_id)) return tagged("ConditionalCheckFailedException");
    items[lock_id] = {{attribute, value}};
    return {};
  }
  Result<std::optional<std::string>> get_item(const std::string&, const std::string& lock_id,
                                              const std::string& attribute) override {
    note("get " + lock_id);
    auto it = items.find(lock_id);
    if (it == items.end() || !it->second.count(attribute)) return std::optional<std::string>();
    return std::optional<std::string>(it->second[attribute]);
  }
  Status delete_item(const std::string&, const std::string& lock_id) override {
    note("delete " + lock_id);
    if (auto it = fail_next.find("delete " + lock_id); it != fail_next.end()) {
      Error e = it->second;
      fail_next.erase(it);
      return e;
    }
    items.erase(lock_id);
    return {};
  }

 private:
  void note(const std::string& s) {
    if (log) log->push_back("ddb " + s);
  }
};

std::string make_state(int serial, const std::string& lineage, const std::vector<std::string>& names) {
  nlohmann::ordered_json doc;
  doc["version"] = 4;
  doc["terraform_version"] = "1.9.5";
  doc["serial"] = serial;
  doc["lineage"] = lineage;
  doc["outputs"] = nlohmann::ordered_json::object();
  doc["resources"] = nlohmann::ordered_json::array();
  for (const auto& name : names)
    doc["resources"].push_back({{"mode", "managed"},
                                {"type", "null_resource"},
                                {"name", name},
                                {"provider", "provider[\"registry.terraform.io/hashicorp/null\"]"},
                                {"instances", {{{"schema_version", 0}, {"attributes", {{"id", name + "-id"}}}}}}});
  return doc.dump(2) + "\n";
}

const std::string kKey = "api/terraform.tfstate";
const std::string kTable = "locks";

class infra_state_restore : public ::testing::Test {
 protected:
  void SetUp() override {
    store.log = &log;
    table.log = &log;
    auto tmp = TempDir::create("rollback-restore-test");
    ASSERT_TRUE(tmp.ok());
    dir.emplace(std::move(*tmp));
    old_id = store.put_plain(kKey, make_state(5, "lin", {"a", "b"}));
    current_bytes = make_state(6, "lin", {"a", "b", "c"});
    current_id = store.put_plain(kKey, current_bytes);
    table.items[loc().digest_lock_id()] = {{kDigestAttribute, md5_hex(current_bytes)}};
    req.location = loc();
    req.dynamodb_table = kTable;
    req.version_id = old_id;
    req.backup_path = dir->path() / "backup.tfstate";
    req.lock_info = "unit test";
    hooks.step_done = [this](const std::string& step, const nlohmann::json&) { steps.push_back(step); };
    hooks.warn = [this](const std::string& m) { warnings.push_back(m); };
    log.clear();
  }
  void TearDown() override { clear_interrupted(); }

  static StateLocation loc() { return StateLocation{"bucket", kKey}; }
  Result<StateRestoreReport> run() { return restore_state(store, &table, req, hooks, clock); }
  std::vector<std::string> writes() const {
    std::vector<std::string> out;
    for (const auto& l : log)
      if (l.find(" put ") != std::string::npos || l.find(" delete ") != std::string::npos) out.push_back(l);
    return out;
  }
  bool lock_free() const { return !table.items.count(loc().lock_id()); }

  std::vector<std::string> log;
  MemoryStore store;
  MemoryTable table;
  FakeClock clock;
  std::optional<TempDir> dir;
  StateRestoreRequest req;
  StateRestoreHooks hooks;
  std::vector<std::string> steps, warnings;
  std::string old_id, current_id, current_bytes;
};

}  // namespace

TEST_F(infra_state_restore, RunsTheStepsInOrderAndLeavesWhatTerraformExpects) {
  auto r = run();
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(steps, (std::vector<std::string>{"lock", "read_current", "read_target", "backup", "write", "digest", "unlock"}));
  EXPECT_EQ(r->steps_done, steps);
  // Writes, in order: the lock item, the state, the digest, the lock item removed.
  EXPECT_EQ(writes(), (std::vector<std::string>{"ddb put bucket/api/terraform.tfstate if-absent", "s3 put api/terraform.tfstate",
                                                "ddb put bucket/api/terraform.tfstate-md5", "ddb delete bucket/api/terraform.tfstate"}));
  const auto* now = store.latest(kKey);
  ASSERT_NE(now, nullptr);
  auto doc = nlohmann::json::parse(now->body);
  EXPECT_EQ(doc["serial"], 7);
  EXPECT_EQ(doc["lineage"], "lin");
  EXPECT_EQ(doc["resources"].size(), 2u);
  EXPECT_EQ(table.items[loc().digest_lock_id()][kDigestAttribute], md5_hex(now->body));
  EXPECT_EQ(store.versions_of(kKey), 3u);  // nothing deleted
  EXPECT_TRUE(lock_free());
  EXPECT_EQ(r->new_version_id, now->id);
  EXPECT_EQ(r->current_version_id, current_id);
  EXPECT_EQ(r->prepared.orphaned(), std::vector<std::string>{"null_resource.c"});
  // The backup: the replaced bytes, mode 0600.
  auto backup = read_file(req.backup_path);
  ASSERT_TRUE(backup.ok());
  EXPECT_EQ(*backup, current_bytes);
  struct stat st {};
  ASSERT_EQ(stat(req.backup_path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(infra_state_restore, LockInfoNamesTheRestoreWhileItRuns) {
  std::string seen;
  hooks.confirm = [&](const StateRestoreReport&) -> Status {
    seen = table.items[loc().lock_id()][kLockInfoAttribute];
    return {};
  };
  ASSERT_TRUE(run().ok());
  auto info = parse_lock_info(seen);
  ASSERT_TRUE(info.ok()) << seen;
  EXPECT_EQ(info->operation, "rollback state restore");
  EXPECT_EQ(info->path, "bucket/api/terraform.tfstate");
  EXPECT_EQ(info->info, "unit test");
}

TEST_F(infra_state_restore, HeldDynamoDbLockIsReportedWithItsHolderAndNothingChanges) {
  LockInfo other = new_lock_info("OperationTypeApply", loc().lock_id(), "", clock.wall_now() - std::chrono::minutes(12));
  other.who = "alice@laptop";
  table.items[loc().lock_id()] = {{kLockInfoAttribute, lock_info_json(other)}};
  auto r = run();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ExitCode::Locked);
  EXPECT_EQ(r.error().tag, "state_locked");
  EXPECT_NE(r.error().message.find("alice@laptop (OperationTypeApply"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("12m ago"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().hint.find("terraform force-unlock -force " + other.id), std::string::npos) << r.error().hint;
  EXPECT_EQ(writes(), std::vector<std::string>{"ddb put bucket/api/terraform.tfstate if-absent"});
  EXPECT_TRUE(steps.empty());
  EXPECT_EQ(store.latest(kKey)->id, current_id);
}

TEST_F(infra_state_restore, WithBothLocksALockfileTakenIsReleasedWhenTheDynamoDbLockIsHeld) {
  req.use_lockfile = true;
  table.items[loc().lock_id()] = {{kLockInfoAttribute, lock_info_json(new_lock_info("OperationTypePlan", loc().lock_id(), "", clock.wall_now()))}};
  auto r = run();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ExitCode::Locked);
  EXPECT_EQ(writes(), (std::vector<std::string>{"s3 put api/terraform.tfstate.tflock if-none-match",
                                                "ddb put bucket/api/terraform.tfstate if-absent",
                                                "s3 delete api/terraform.tfstate.tflock"}));
  EXPECT_TRUE(store.latest(kKey + ".tflock")->marker);
}

TEST_F(infra_state_restore, HeldLockfileIsReported) {
  req.use_lockfile = true;
  req.dynamodb_table.clear();
  LockInfo other = new_lock_info("OperationTypeApply", loc().lock_id(), "", clock.wall_now());
  other.who = "ci@runner";
  store.put_plain(kKey + ".tflock", lock_info_json(other));
  log.clear();
  auto r = restore_state(store, nullptr, req, hooks, clock);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ExitCode::Locked);
  EXPECT_NE(r.error().message.find("ci@runner"), std::string::npos);
  EXPECT_NE(r.error().message.find(".tflock"), std::string::npos);
  EXPECT_EQ(writes(), std::vector<std::string>{"s3 put api/terraform.tfstate.tflock if-none-match"});
}

TEST_F(infra_state_restore, LockfileOnlyBackendTakesAndReleasesTheTflockObject) {
  req.use_lockfile = true;
  req.dynamodb_table.clear();
  auto r = restore_state(store, nullptr, req, hooks, clock);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(writes(), (std::vector<std::string>{"s3 put api/terraform.tfstate.tflock if-none-match", "s3 put api/terraform.tfstate",
                                                "s3 delete api/terraform.tfstate.tflock"}));
  EXPECT_EQ(steps, (std::vector<std::string>{"lock", "read_current", "read_target", "backup", "write", "unlock"}));
}

TEST_F(infra_state_restore, DigestMismatchRefusesUnlessForced) {
  table.items[loc().digest_lock_id()] = {{kDigestAttribute, "0123456789abcdef0123456789abcdef"}};
  auto r = run();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ExitCode::Refused);
  EXPECT_EQ(r.error().tag, "digest_mismatch");
  EXPECT_NE(r.error().message.find("does not have the expected content"), std::string::npos);
  EXPECT_EQ(store.latest(kKey)->id, current_id);
  EXPECT_TRUE(lock_free());
  EXPECT_EQ(steps, std::vector<std::string>{"lock"});

  req.force_digest = true;
  auto forced = run();
  ASSERT_TRUE(forced.ok()) << forced.error().message;
  EXPECT_TRUE(forced->digest_mismatch);
  EXPECT_EQ(table.items[loc().digest_lock_id()][kDigestAttribute], md5_hex(store.latest(kKey)->body));
}

TEST_F(infra_state_restore, LineageMismatchRefusesAndChangesNothing) {
  std::string other = store.put_plain(kKey, make_state(1, "other-lineage", {"x"}));
  // put_plain made it current; make the real current the latest again.
  current_id = store.put_plain(kKey, current_bytes);
  req.version_id = other;
  log.clear();
  auto r = run();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ExitCode::Refused);
  EXPECT_EQ(r.error().tag, "lineage");
  EXPECT_EQ(store.latest(kKey)->id, current_id);
  EXPECT_TRUE(lock_free());
  EXPECT_FALSE(std::filesystem::exists(req.backup_path));
  EXPECT_EQ(steps, (std::vector<std::string>{"lock", "read_current"}));

  req.prepare.force_lineage = true;
  bool asked = false;
  hooks.confirm = [&](const StateRestoreReport& rep) -> Status {
    asked = rep.lineage_forced;
    return refusal("no");
  };
  auto declined = run();
  ASSERT_FALSE(declined.ok());
  EXPECT_TRUE(asked);
  EXPECT_EQ(store.latest(kKey)->id, current_id);
  EXPECT_TRUE(lock_free());
}

TEST_F(infra_state_restore, EncryptedTargetIsRefused) {
  std::string enc = store.put_plain(kKey, R"({"meta":{"key_provider.pbkdf2.x":"e30="},"encrypted_data":"AAAA","encryption_version":"v0"})");
  current_id = store.put_plain(kKey, current_bytes);
  req.version_id = enc;
  auto r = run();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ExitCode::Refused);
  EXPECT_EQ(r.error().tag, "encrypted");
  EXPECT_EQ(store.latest(kKey)->id, current_id);
  EXPECT_TRUE(lock_free());
}

TEST_F(infra_state_restore, TheCurrentVersionAndUnknownVersionsAreRefusedBeforeAnyWrite) {
  req.version_id = current_id;
  auto r = run();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().tag, "unchanged");
  req.version_id = "no-such-version-id";
  r = run();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().tag, "no_such_version");
  EXPECT_EQ(store.versions_of(kKey), 2u);
  EXPECT_TRUE(lock_free());
}

TEST_F(infra_state_restore, DryRunReadsOnly) {
  req.dry_run = true;
  bool planned = false;
  hooks.plan = [&](const StateRestoreReport& rep) { planned = rep.prepared.new_serial == 7; };
  auto r = run();
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(planned);
  EXPECT_TRUE(writes().empty());
  EXPECT_FALSE(std::filesystem::exists(req.backup_path));

  table.items[loc().lock_id()] = {{kLockInfoAttribute, lock_info_json(new_lock_info("OperationTypeApply", loc().lock_id(), "", clock.wall_now()))}};
  auto held = run();
  ASSERT_FALSE(held.ok());
  EXPECT_EQ(held.error().code, ExitCode::Locked);
}

TEST_F(infra_state_restore, FailedWriteLeavesTheStateAndDigestAndReleasesTheLock) {
  store.fail_next["put " + kKey] = tagged("InternalError", "S3 PutObject failed: InternalError");
  auto r = run();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("the state was not replaced"), std::string::npos) << r.error().message;
  EXPECT_EQ(store.latest(kKey)->id, current_id);
  EXPECT_EQ(table.items[loc().digest_lock_id()][kDigestAttribute], md5_hex(current_bytes));
  EXPECT_TRUE(lock_free());
  EXPECT_EQ(steps, (std::vector<std::string>{"lock", "read_current", "read_target", "backup"}));
}

TEST_F(infra_state_restore, AWriteReportedFailedThatLandedIsCompletedWithItsDigest) {
  store.fail_next["put " + kKey] = tagged("ambiguous", "S3 PutObject may or may not have taken effect");
  store.put_lands_despite_error = true;
  auto r = run();
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(table.items[loc().digest_lock_id()][kDigestAttribute], md5_hex(store.latest(kKey)->body));
  EXPECT_EQ(r->new_version_id, store.latest(kKey)->id);
  EXPECT_TRUE(lock_free());
}

TEST_F(infra_state_restore, FailedDigestUpdateSaysHowToFixItAndReleasesTheLock) {
  table.fail_next["put " + loc().digest_lock_id()] = tagged("InternalServerError");
  auto r = run();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("the restored state was written"), std::string::npos);
  EXPECT_NE(r.error().hint.find("aws dynamodb put-item --table-name locks"), std::string::npos) << r.error().hint;
  EXPECT_NE(r.error().hint.find(md5_hex(store.latest(kKey)->body)), std::string::npos);
  EXPECT_TRUE(lock_free());
  EXPECT_EQ(steps.back(), "write");
}

TEST_F(infra_state_restore, ALockForceUnlockedAndRetakenBySomeoneElseIsLeftAlone) {
  hooks.confirm = [&](const StateRestoreReport&) -> Status {
    table.items[loc().lock_id()] = {{kLockInfoAttribute, lock_info_json(new_lock_info("OperationTypeApply", loc().lock_id(), "", clock.wall_now()))}};
    return {};
  };
  auto r = run();
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_FALSE(lock_free());  // theirs
  ASSERT_FALSE(warnings.empty());
  EXPECT_NE(warnings.back().find("someone else"), std::string::npos);
}

TEST_F(infra_state_restore, UnreleasableLockIsAnErrorThatSaysHowToReleaseIt) {
  table.fail_next["delete " + loc().lock_id()] = tagged("InternalServerError", "DynamoDB DeleteItem failed");
  auto r = run();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("the state was restored, but could not release"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().hint.find("terraform force-unlock -force"), std::string::npos);
  EXPECT_FALSE(lock_free());  // reported, not silently retried
  EXPECT_EQ(table.items[loc().digest_lock_id()][kDigestAttribute], md5_hex(store.latest(kKey)->body));
}

TEST_F(infra_state_restore, CtrlCBeforeTheWriteStopsWithNothingWrittenAndTheLockReleased) {
  install_interrupt_handlers();
  hooks.confirm = [&](const StateRestoreReport&) -> Status {
    std::raise(SIGINT);
    return {};
  };
  auto r = run();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ExitCode::Interrupted);
  EXPECT_EQ(store.latest(kKey)->id, current_id);
  EXPECT_TRUE(lock_free());
  EXPECT_EQ(steps, (std::vector<std::string>{"lock", "read_current", "read_target"}));
}

TEST_F(infra_state_restore, CtrlCDuringTheWriteCompletesWriteAndDigestFirst) {
  install_interrupt_handlers();
  hooks.event = [&](const std::string& m) {
    if (m.rfind("saved the current state", 0) == 0) std::raise(SIGINT);  // after the last check before the write
  };
  // The check after the backup sees it: nothing is written.
  auto before = run();
  ASSERT_FALSE(before.ok());
  EXPECT_EQ(before.error().code, ExitCode::Interrupted);
  EXPECT_EQ(store.latest(kKey)->id, current_id);
  clear_interrupted();

  hooks.event = [&](const std::string& m) {
    if (m.rfind("wrote the restored state", 0) == 0) std::raise(SIGINT);
  };
  auto during = run();
  ASSERT_TRUE(during.ok()) << during.error().message;
  EXPECT_TRUE(during->interrupted);
  EXPECT_EQ(during->steps_done.back(), "unlock");
  EXPECT_EQ(table.items[loc().digest_lock_id()][kDigestAttribute], md5_hex(store.latest(kKey)->body));
  EXPECT_TRUE(lock_free());
}
