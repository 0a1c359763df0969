#include <gtest/gtest.h>

#include <map>

#include "infra/s3_backend.hpp"
#include "infra/storage.hpp"

using namespace rb;
using namespace rb::infra;
using namespace std::chrono;

namespace {

S3BackendConfig runbook_backend() {
  // The runbook's backend: bucket connect2-api-terraform-state-prod, key api/terraform.tfstate.
  S3BackendConfig config;
  config.bucket = "connect2-api-terraform-state-prod";
  config.key = "api/terraform.tfstate";
  config.dynamodb_table = "terraform-locks";
  return config;
}

system_clock::time_point minute(int m) { return system_clock::time_point{} + hours(480000) + minutes(m); }

}  // namespace

TEST(infra_s3_backend, DefaultWorkspaceUsesTheKey) {
  auto loc = state_location(runbook_backend());
  ASSERT_TRUE(loc.ok()) << loc.error().message;
  EXPECT_EQ(loc->bucket, "connect2-api-terraform-state-prod");
  EXPECT_EQ(loc->key, "api/terraform.tfstate");
  EXPECT_EQ(loc->lockfile_key(), "api/terraform.tfstate.tflock");
  EXPECT_EQ(loc->lock_id(), "connect2-api-terraform-state-prod/api/terraform.tfstate");
  EXPECT_EQ(loc->digest_lock_id(), "connect2-api-terraform-state-prod/api/terraform.tfstate-md5");
}

TEST(infra_s3_backend, OtherWorkspacesLiveUnderThePrefix) {
  auto config = runbook_backend();
  auto staging = state_location(config, "staging");
  ASSERT_TRUE(staging.ok());
  EXPECT_EQ(staging->key, "env:/staging/api/terraform.tfstate");
  EXPECT_EQ(staging->lockfile_key(), "env:/staging/api/terraform.tfstate.tflock");
  EXPECT_EQ(staging->lock_id(), "connect2-api-terraform-state-prod/env:/staging/api/terraform.tfstate");
  EXPECT_EQ(staging->digest_lock_id(), "connect2-api-terraform-state-prod/env:/staging/api/terraform.tfstate-md5");

  config.workspace_key_prefix = "workspaces/api";
  EXPECT_EQ(state_location(config, "prod-eu")->key, "workspaces/api/prod-eu/api/terraform.tfstate");
  config.workspace_key_prefix = "";
  EXPECT_EQ(state_location(config, "qa")->key, "qa/api/terraform.tfstate");
  EXPECT_EQ(state_location(config, "default")->key, "api/terraform.tfstate");
  config.key = "./x/../terraform.tfstate";  // path.Join cleans non-default keys only
  EXPECT_EQ(state_location(config, "qa")->key, "qa/terraform.tfstate");
  EXPECT_EQ(state_location(config, "default")->key, "./x/../terraform.tfstate");
}

TEST(infra_s3_backend, RejectsWhatTerraformRejects) {
  auto config = runbook_backend();
  for (const char* key : {"", "/api/terraform.tfstate", "api/", "api//terraform.tfstate", "   "}) {
    config.key = key;
    auto r = state_location(config);
    ASSERT_FALSE(r.ok()) << key;
    EXPECT_EQ(r.error().code, ExitCode::Usage);
  }
  config = runbook_backend();
  config.workspace_key_prefix = "env:/";
  EXPECT_FALSE(state_location(config, "x").ok());
  config = runbook_backend();
  for (const char* ws : {"", "a/b", "has space", "q?"}) {
    EXPECT_FALSE(state_location(config, ws).ok()) << ws;
  }
  config.bucket = "";
  EXPECT_FALSE(state_location(config).ok());
}

TEST(infra_s3_backend, FiltersTheExactKeyNewestFirst) {
  const std::string key = "api/terraform.tfstate";
  std::vector<S3ObjectVersion> listed = {
      // What ListObjectVersions(Prefix=key) returns: S3 sorts by key, then newest first.
      {key, "v3", true, minute(30), 1200, false},
      {key, "v2", false, minute(20), 1100, false},
      {key, "v1", false, minute(10), 1000, false},
      {key + "-backup", "b1", true, minute(40), 900, false},
      {key + ".tflock", "l2", false, minute(31), 0, true},
      {key + ".tflock", "l1", false, minute(29), 180, false},
      {"api/terraform.tfstate.old/x", "o1", true, minute(50), 5, false},
  };
  auto v = filter_state_versions(listed, key);
  ASSERT_EQ(v.versions.size(), 3u);
  EXPECT_EQ(v.versions[0].version_id, "v3");
  EXPECT_EQ(v.versions[1].version_id, "v2");
  EXPECT_EQ(v.versions[2].version_id, "v1");
  EXPECT_TRUE(v.versions[0].is_current);
  EXPECT_FALSE(v.versions[1].is_current);
  EXPECT_EQ(v.versions[0].size, 1200);
  EXPECT_FALSE(v.deleted);
  ASSERT_NE(v.current(), nullptr);
  EXPECT_EQ(v.current()->version_id, "v3");
  ASSERT_NE(v.find("v1"), nullptr);
  EXPECT_EQ(v.find("l1"), nullptr);
  EXPECT_EQ(v.find("b1"), nullptr);
}

TEST(infra_s3_backend, SortsByTimeWhateverTheListingOrder) {
  const std::string key = "k";
  std::vector<S3ObjectVersion> listed = {
      {key, "old", false, minute(1), 1, false},
      {key, "newest", true, minute(9), 1, false},
      {key, "mid", false, minute(5), 1, false},
      {key, "same-time-not-latest", false, minute(9), 1, false},
  };
  auto v = filter_state_versions(listed, key);
  ASSERT_EQ(v.versions.size(), 4u);
  EXPECT_EQ(v.versions[0].version_id, "newest");  // a tie goes to IsLatest
  EXPECT_EQ(v.versions[1].version_id, "same-time-not-latest");
  EXPECT_EQ(v.versions[2].version_id, "mid");
  EXPECT_EQ(v.versions[3].version_id, "old");
}

TEST(infra_s3_backend, DeleteMarkersAreDroppedAndALatestOneMeansNoCurrentState) {
  const std::string key = "env:/staging/api/terraform.tfstate";
  std::vector<S3ObjectVersion> listed = {
      {key, "dm2", true, minute(40), 0, true},
      {key, "v2", false, minute(30), 800, false},
      {key, "dm1", false, minute(20), 0, true},
      {key, "v1", false, minute(10), 700, false},
  };
  auto v = filter_state_versions(listed, key);
  ASSERT_EQ(v.versions.size(), 2u);
  EXPECT_EQ(v.versions[0].version_id, "v2");
  EXPECT_EQ(v.versions[1].version_id, "v1");
  EXPECT_TRUE(v.deleted);
  EXPECT_EQ(v.current(), nullptr);
}

TEST(infra_s3_backend, EmptyAndUnversionedListings) {
  EXPECT_TRUE(filter_state_versions({}, "k").versions.empty());
  auto v = filter_state_versions({{"k", "null", true, minute(3), 10, false}}, "k");
  ASSERT_EQ(v.versions.size(), 1u);
  EXPECT_EQ(v.versions[0].version_id, "null");
  EXPECT_TRUE(v.versions[0].is_current);
}

// The storage interfaces can be implemented by a fake (this is how the restore will be unit-tested).
namespace {
class MemoryLockTable final : public LockTable {
 public:
  Status put_item(const std::string&, const std::string& lock_id, const std::string& attribute, const std::string& value,
                  bool only_if_absent) override {
    if (only_if_absent && items_.count(lock_id)) {
      Error e = failure("The conditional request failed");
      e.tag = "ConditionalCheckFailedException";
      return e;
    }
    items_[lock_id][attribute] = value;
    return {};
  }
  Result<std::optional<std::string>> get_item(const std::string&, const std::string& lock_id, const std::string& attribute) override {
    auto it = items_.find(lock_id);
    if (it == items_.end() || !it->second.count(attribute)) return std::optional<std::string>();
    return std::optional<std::string>(it->second[attribute]);
  }
  Status delete_item(const std::string&, const std::string& lock_id) override {
    items_.erase(lock_id);
    return {};
  }

 private:
  std::map<std::string, std::map<std::string, std::string>> items_;
};
}  // namespace

TEST(infra_s3_backend, LockTableInterfaceSupportsTerraformsConditionalLock) {
  MemoryLockTable table;
  auto loc = *state_location(runbook_backend());
  ASSERT_TRUE(table.put_item("t", loc.lock_id(), "Info", "{}", true).ok());
  auto again = table.put_item("t", loc.lock_id(), "Info", "{}", true);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().tag, "ConditionalCheckFailedException");
  ASSERT_TRUE(table.put_item("t", loc.digest_lock_id(), "Digest", "d41d8cd98f00b204e9800998ecf8427e", false).ok());
  EXPECT_EQ(**table.get_item("t", loc.digest_lock_id(), "Digest"), "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_FALSE(table.get_item("t", "nothing", "Digest")->has_value());
}
