#include <gtest/gtest.h>

#include "util/strings.hpp"

using namespace rb;
using namespace std::chrono_literals;

TEST(Strings, ParsesDurations) {
  EXPECT_EQ(*parse_duration("10m"), 600'000ms);
  EXPECT_EQ(*parse_duration("90s"), 90'000ms);
  EXPECT_EQ(*parse_duration("1h30m"), 5'400'000ms);
  EXPECT_EQ(*parse_duration("500ms"), 500ms);
  EXPECT_EQ(*parse_duration("45"), 45'000ms);
  EXPECT_EQ(*parse_duration("1.5s"), 1500ms);
}

TEST(Strings, RejectsBadDurations) {
  for (const char* bad : {"", "abc", "10x", "m10", "-5s"}) {
    auto r = parse_duration(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, ExitCode::Usage);
  }
}

TEST(Strings, FormatsDurations) {
  EXPECT_EQ(format_duration(75'000ms), "1m15s");
  EXPECT_EQ(format_duration(2500ms), "2.5s");
  EXPECT_EQ(format_duration(3'600'000ms), "1h");
}

TEST(Strings, SuggestsClosestName) {
  std::vector<std::string> envs{"dev", "staging", "prod"};
  EXPECT_EQ(closest_match("prd", envs), "prod");
  EXPECT_EQ(closest_match("stagign", envs), "staging");
  EXPECT_EQ(closest_match("production", envs), "prod");
  EXPECT_EQ(closest_match("zzzzzzzz", envs), std::nullopt);
}
