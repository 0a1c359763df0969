#include <gtest/gtest.h>

#include <string>

#include "util/redact.hpp"

using namespace rb;

TEST(Redact, MasksRegisteredSecretsAndUrlPasswords) {
  register_secret("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
  std::string out = redact("key=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY and more");
  EXPECT_EQ(out.find("wJalrXUtnFEMI"), std::string::npos);
  EXPECT_NE(out.find("****"), std::string::npos);

  EXPECT_EQ(redact("postgresql://app:s3cr%40t@db.internal:5432/connect2"),
            "postgresql://app:****@db.internal:5432/connect2");
  EXPECT_EQ(redact("see https://hooks.slack.com/services/T000/B000/XXXX now"),
            "see https://hooks.slack.com/services/**** now");
  EXPECT_EQ(redact("nothing secret here"), "nothing secret here");
}

TEST(Redact, IgnoresTooShortSecrets) {
  register_secret("ab");
  EXPECT_EQ(redact("abc"), "abc");
}

TEST(Redact, UrlPasswordsInEveryShape) {
  // An unencoded '@' in the password: masked up to the last '@' of the authority.
  EXPECT_EQ(redact("postgres://u:p@ss@db:5432/x"), "postgres://u:****@db:5432/x");
  // Inside JSON and quotes the URL ends at the quote.
  EXPECT_EQ(redact(R"({"url": "redis://:hunter22@cache:6379/0"})"), R"({"url": "redis://:****@cache:6379/0"})");
  EXPECT_EQ(redact("a http://u:p1@h/ and b ftp://v:p2@k/"), "a http://u:****@h/ and b ftp://v:****@k/");
  // No password, no scheme, or a bare "://": left alone.
  EXPECT_EQ(redact("https://user@host/path"), "https://user@host/path");
  EXPECT_EQ(redact("odd ://x:y@z text"), "odd ://x:y@z text");
  EXPECT_EQ(redact("1://x"), "1://x");
}

TEST(Redact, QueryValuesOfEveryUrlAreMaskedKeysKept) {
  EXPECT_EQ(redact("GET https://api.example.com/health?token=abc123&region=eu -> 200"),
            "GET https://api.example.com/health?token=****&region=**** -> 200");
  EXPECT_EQ(redact("https://h/p?flag&key=&sig=x;t=y#access_token=z"), "https://h/p?flag&key=&sig=****;t=****#access_token=****");
  EXPECT_EQ(redact(R"("health_url": "http://127.0.0.1:8080/health?token=s3cret")"),
            R"("health_url": "http://127.0.0.1:8080/health?token=****")");
  // Paths without a query are unchanged.
  EXPECT_EQ(redact("https://ecs.us-east-1.amazonaws.com/v1/x"), "https://ecs.us-east-1.amazonaws.com/v1/x");
}

// The crash of issue 8: "://" followed by 50 KB without spaces overflowed std::regex's stack.
// Linear time and constant stack: a few MB of hostile shapes finish (no timing asserted).
TEST(Redact, HugeInputsWithoutSpacesDoNotOverflow) {
  std::string long_reason = "see https://" + std::string(5'000'000, 'a') + ":" + std::string(100, 'b');
  std::string out = redact(long_reason);
  EXPECT_EQ(out.size(), long_reason.size());

  std::string with_password = "x://u:" + std::string(1'000'000, 'p') + "@host";
  EXPECT_EQ(redact(with_password), "x://u:****@host");

  std::string many_schemes;
  for (int i = 0; i < 200'000; ++i) many_schemes += "a://";
  EXPECT_EQ(redact(many_schemes), many_schemes);

  std::string many_pairs = "https://h/?";
  for (int i = 0; i < 100'000; ++i) many_pairs += "k=v&";
  std::string masked = redact(many_pairs);
  EXPECT_EQ(masked.find("=v"), std::string::npos);
  EXPECT_NE(masked.find("k=****&"), std::string::npos);
}
