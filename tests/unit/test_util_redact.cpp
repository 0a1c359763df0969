#include <gtest/gtest.h>

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
