#include <gtest/gtest.h>

#include <limits>

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

TEST(Strings, DurationOverflowIsTooLargeNotNegative) {
  for (const char* huge : {"999999999999999999h", "9999999999999999999999999999999999999999s", "8785h", "8784h1ms"}) {
    auto r = parse_duration(huge);
    ASSERT_FALSE(r.ok()) << huge;
    EXPECT_EQ(r.error().code, ExitCode::Usage);
    EXPECT_NE(r.error().message.find("too large, at most 8784h"), std::string::npos) << r.error().message;
  }
  EXPECT_EQ(*parse_duration("8784h"), std::chrono::milliseconds(kMaxDuration));
}

TEST(Strings, DecimalNumbersOnly) {
  EXPECT_EQ(*parse_decimal("146", 1, 1000, "--pr"), 146);
  EXPECT_EQ(*parse_decimal("0146", 1, 1000, "--pr"), 146);  // never octal
  EXPECT_EQ(*parse_decimal("-5", -10, 10, "--n"), -5);
  EXPECT_EQ(*parse_decimal("9223372036854775807", 0, std::numeric_limits<long long>::max(), "--n"),
            std::numeric_limits<long long>::max());
  for (const char* bad : {"", "0x66", "1e3", "+5", " 7", "7 ", "12a", "--1", "\xE9"}) {
    auto r = parse_decimal(bad, 1, 1000, "--pr");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, ExitCode::Usage);
    EXPECT_NE(r.error().message.find("--pr"), std::string::npos);
    EXPECT_NE(r.error().message.find("not a decimal number"), std::string::npos) << r.error().message;
  }
}

TEST(Strings, DecimalRangeIsCheckedAndNamed) {
  auto negative = parse_decimal("-1", 1, 2147483647, "--pr");
  ASSERT_FALSE(negative.ok());
  EXPECT_NE(negative.error().message.find("at least 1"), std::string::npos) << negative.error().message;
  auto zero = parse_decimal("0", 1, 10, "--steps");
  ASSERT_FALSE(zero.ok());
  EXPECT_NE(zero.error().message.find("too small"), std::string::npos);
  for (const char* big : {"2147483648", "18446744073709551616", "99999999999999999999999999"}) {
    auto r = parse_decimal(big, 1, 2147483647, "--to-revision");
    ASSERT_FALSE(r.ok()) << big;
    EXPECT_NE(r.error().message.find("too large: it must be at most 2147483647"), std::string::npos)
        << r.error().message;
  }
}
