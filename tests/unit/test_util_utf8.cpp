#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "util/json.hpp"
#include "util/utf8.hpp"

using namespace rb;

TEST(Utf8, ValidTextIsUnchanged) {
  for (const char* s : {"", "plain ascii", "caf\xC3\xA9", "\xE2\x82\xAC 5", "\xF0\x9F\x98\x80 smile"}) {
    EXPECT_TRUE(is_valid_utf8(s)) << s;
    EXPECT_EQ(to_valid_utf8(s), s);
  }
}

TEST(Utf8, EveryInvalidByteBecomesOneReplacementCharacter) {
  const std::string fffd(kReplacementCharacter);
  // Latin-1 e-acute, a lone continuation byte, a truncated sequence at the end.
  EXPECT_EQ(to_valid_utf8("caf\xE9!"), "caf" + fffd + "!");
  EXPECT_EQ(to_valid_utf8("\x80"), fffd);
  EXPECT_EQ(to_valid_utf8("ab\xE2\x82"), "ab" + fffd + fffd);
  // Overlong '/', a UTF-16 surrogate, a code point past U+10FFFF, bytes never used in UTF-8.
  EXPECT_FALSE(is_valid_utf8("\xC0\xAF"));
  EXPECT_FALSE(is_valid_utf8("\xED\xA0\x80"));
  EXPECT_FALSE(is_valid_utf8("\xF4\x90\x80\x80"));
  EXPECT_EQ(to_valid_utf8("\xFF\xFE"), fffd + fffd);
  EXPECT_TRUE(is_valid_utf8(to_valid_utf8("\xC0\xAF\xED\xA0\x80\xF4\x90\x80\x80")));
}

TEST(Utf8, JsonOfInvalidTextDoesNotThrow) {
  nlohmann::json j = {{"reason", "caf\xE9"}};
  EXPECT_THROW((void)j.dump(), nlohmann::json::type_error);
  std::string dumped;
  ASSERT_NO_THROW(dumped = dump_json(j));
  EXPECT_EQ(dumped, "{\"reason\":\"caf\xEF\xBF\xBD\"}");
}

TEST(Printable, ControlCharactersAreShownNotActedOn) {
  EXPECT_EQ(printable("red \x1b[31mtext\x1b[0m", true), "red \\x1b[31mtext\\x1b[0m");
  EXPECT_EQ(printable("over\rwrite", true), "over\\rwrite");
  EXPECT_EQ(printable("bell\x07 del\x7f", true), "bell\\x07 del\\x7f");
  // C1 CSI (U+009B) and a right-to-left override (U+202E) are escaped too.
  EXPECT_EQ(printable("a\xC2\x9B" "b", true), "a\\u009bb");
  EXPECT_EQ(printable("x\xE2\x80\xAEy", true), "x\\u202ey");
  EXPECT_EQ(printable("tab\tkept", true), "tab\tkept");
}

TEST(Printable, NewlinesAreKeptOrEscaped) {
  EXPECT_EQ(printable("two\nlines", true), "two\nlines");
  EXPECT_EQ(printable_inline("fake\nrollback 1 succeeded"), "fake\\nrollback 1 succeeded");
  EXPECT_EQ(printable_inline("caf\xE9"), "caf\xEF\xBF\xBD");
  EXPECT_EQ(printable_inline("caf\xC3\xA9 \xE2\x82\xAC"), "caf\xC3\xA9 \xE2\x82\xAC");
}

TEST(JsonFields, WrongTypesReadAsMissingInsteadOfThrowing) {
  auto j = nlohmann::json::parse(R"({"user": 7, "pid": "12", "host": "h", "big": 18446744073709551615, "n": 42})");
  EXPECT_EQ(json_string(j, "user"), "");
  EXPECT_EQ(json_string(j, "host"), "h");
  EXPECT_EQ(json_string(j, "missing", "x"), "x");
  EXPECT_EQ(json_integer(j, "pid", -1), -1);
  EXPECT_EQ(json_integer(j, "big", -1), -1);
  EXPECT_EQ(json_integer(j, "n"), 42);
  EXPECT_EQ(json_string(nlohmann::json::array(), "user"), "");
}
