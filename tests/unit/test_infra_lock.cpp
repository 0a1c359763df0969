#include <gtest/gtest.h>

#include <regex>
#include <set>

#include "infra/lock_info.hpp"

using namespace rb;
using namespace rb::infra;
using namespace std::chrono;

namespace {

system_clock::time_point at(int y, unsigned mo, unsigned d, int h, int mi, int s, long long ns = 0) {
  auto t = sys_days{year_month_day{year{y}, month{mo}, day{d}}} + hours(h) + minutes(mi) + seconds(s) + nanoseconds(ns);
  return system_clock::time_point(duration_cast<system_clock::duration>(t.time_since_epoch()));
}

}  // namespace

TEST(infra_lock, UuidIsVersion4AndRandom) {
  static const std::regex kUuid4("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    std::string id = uuid_v4();
    EXPECT_TRUE(std::regex_match(id, kUuid4)) << id;
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 200u);
}

TEST(infra_lock, FormatsTimesLikeGoTimeJson) {
  EXPECT_EQ(format_rfc3339_nano(at(2024, 6, 1, 12, 34, 56, 789012345)), "2024-06-01T12:34:56.789012345Z");
  EXPECT_EQ(format_rfc3339_nano(at(2024, 6, 1, 12, 34, 56, 500000000)), "2024-06-01T12:34:56.5Z");
  EXPECT_EQ(format_rfc3339_nano(at(2024, 6, 1, 12, 34, 56, 120)), "2024-06-01T12:34:56.00000012Z");
  EXPECT_EQ(format_rfc3339_nano(at(2024, 6, 1, 0, 0, 0)), "2024-06-01T00:00:00Z");
  EXPECT_EQ(format_rfc3339_nano(at(1999, 12, 31, 23, 59, 59, 1)), "1999-12-31T23:59:59.000000001Z");
}

TEST(infra_lock, ParsesRfc3339) {
  EXPECT_EQ(*parse_rfc3339("2024-06-01T12:34:56.789012345Z"), at(2024, 6, 1, 12, 34, 56, 789012345));
  EXPECT_EQ(*parse_rfc3339("2024-06-01T12:34:56Z"), at(2024, 6, 1, 12, 34, 56));
  EXPECT_EQ(*parse_rfc3339("2024-06-01T14:34:56.5+02:00"), at(2024, 6, 1, 12, 34, 56, 500000000));
  EXPECT_EQ(*parse_rfc3339("2024-06-01T07:04:56-05:30"), at(2024, 6, 1, 12, 34, 56));
  EXPECT_EQ(*parse_rfc3339("2024-06-01T12:34:56.1234567891Z"), at(2024, 6, 1, 12, 34, 56, 123456789));
  for (const char* bad : {"", "2024-06-01", "2024-06-01 12:34:56Z", "2024-06-01T12:34:56", "2024-13-01T00:00:00Z",
                          "2024-02-30T00:00:00Z", "2024-06-01T12:34:56.Z", "2024-06-01T12:34:56Zjunk", "0001-01-01T00:00:00Z"}) {
    EXPECT_FALSE(parse_rfc3339(bad).ok()) << bad;
  }
}

TEST(infra_lock, NewLockInfoRoundTrips) {
  auto now = at(2026, 1, 2, 3, 4, 5, 60708090);
  LockInfo lock = new_lock_info(std::string(kRestoreOperation), "tf-state/api/terraform.tfstate", "restoring version abc", now);
  EXPECT_EQ(lock.operation, "rollback state restore");
  EXPECT_EQ(lock.version, std::string("rollback ") + ROLLBACK_VERSION);
  EXPECT_NE(lock.who.find('@'), std::string::npos);
  EXPECT_EQ(lock.who, current_user_at_host());

  std::string json = lock_info_json(lock);
  EXPECT_EQ(json, "{\"ID\":\"" + lock.id +
                      "\",\"Operation\":\"rollback state restore\",\"Info\":\"restoring version abc\",\"Who\":\"" + lock.who +
                      "\",\"Version\":\"rollback " ROLLBACK_VERSION
                      "\",\"Created\":\"2026-01-02T03:04:05.06070809Z\",\"Path\":\"tf-state/api/terraform.tfstate\"}");
  auto back = parse_lock_info(json);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->id, lock.id);
  EXPECT_EQ(back->operation, lock.operation);
  EXPECT_EQ(back->info, lock.info);
  EXPECT_EQ(back->who, lock.who);
  EXPECT_EQ(back->version, lock.version);
  EXPECT_EQ(back->created, lock.created);
  EXPECT_EQ(back->path, lock.path);
}

TEST(infra_lock, ReadsTerraformsLockAndDescribesTheHolder) {
  // As Terraform writes it (statemgr.LockInfo marshalled by encoding/json).
  auto info = parse_lock_info(
      R"({"ID":"2b6a6738-5dd5-50d6-c0ae-f6352977666b","Operation":"OperationTypeApply","Info":"","Who":"alice@ci-runner-7","Version":"1.9.5","Created":"2026-11-26T10:37:24.123456789Z","Path":"tf-state/api/terraform.tfstate"})");
  ASSERT_TRUE(info.ok()) << info.error().message;
  EXPECT_EQ(info->who, "alice@ci-runner-7");
  std::string text = describe_lock_holder(*info, at(2026, 11, 26, 10, 49, 30));
  EXPECT_EQ(text,
            "alice@ci-runner-7 (OperationTypeApply, version 1.9.5) since 2026-11-26T10:37:24Z (12m ago), lock ID "
            "2b6a6738-5dd5-50d6-c0ae-f6352977666b");
}

TEST(infra_lock, RejectsMalformedLockInfo) {
  for (const char* bad : {"not json", "[]", R"({"ID": 5})", R"({"ID":"x","Created":"yesterday"})"}) {
    auto r = parse_lock_info(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().tag, "invalid_lock_info");
    EXPECT_NE(r.error().hint.find("force-unlock"), std::string::npos);
  }
  auto partial = parse_lock_info(R"({"ID":"x"})");
  ASSERT_TRUE(partial.ok());
  EXPECT_EQ(describe_lock_holder(*partial, system_clock::now()), "an unknown user (unknown operation), lock ID x");
}
