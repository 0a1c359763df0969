#include <gtest/gtest.h>

#include <fmt/format.h>

#include "core/config.hpp"

using namespace rb;

namespace {

const char* kRunbookConfig = R"(app: connect2-api
region: us-east-1
environments:
  dev:     { branch: development }
  staging: { branch: staging }
  prod:    { branch: main, protected: true }
)";

}  // namespace

TEST(Config, AcceptsTheIssueShapeWithRunbookDefaults) {
  auto cfg = parse_config(kRunbookConfig, "/repo/rollback.yaml");
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  ASSERT_EQ(cfg->environments.size(), 3u);
  auto prod = cfg->environment("prod");
  ASSERT_TRUE(prod.ok());
  EXPECT_EQ((*prod)->branch, "main");
  EXPECT_TRUE((*prod)->is_protected);
  EXPECT_EQ((*prod)->cluster, "connect2-api-cluster-prod");
  EXPECT_EQ((*prod)->service, "connect2-api-service-prod");
  EXPECT_EQ((*prod)->task_family, "connect2-api-prod");
  EXPECT_EQ((*prod)->container, "connect2-api");
  EXPECT_EQ((*prod)->region, "us-east-1");
  EXPECT_EQ((*prod)->terraform.state.bucket, "connect2-api-terraform-state-prod");
  EXPECT_EQ((*prod)->terraform.dir, "infrastructure/terraform/environments/prod");
  EXPECT_FALSE((*cfg->environment("dev"))->is_protected);
  EXPECT_EQ(cfg->repo, std::filesystem::path("/repo"));
}

TEST(Config, OverridesAndTopLevelDefaults) {
  auto cfg = parse_config(R"(app: shop
region: eu-west-1
migrations: { versions: db/versions, command: [poetry, run, alembic] }
environments:
  prod:
    branch: main
    cluster: shared
    health_url: https://shop.example.com/health
    migrations: { url_env: PROD_DB }
)",
                          "/x/rollback.yaml");
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  const auto& e = cfg->environments[0];
  EXPECT_EQ(e.cluster, "shared");
  EXPECT_EQ(e.service, "shop-service-prod");
  EXPECT_EQ(e.migrations.versions, "db/versions");
  EXPECT_EQ(e.migrations.url_env, "PROD_DB");
  EXPECT_EQ(e.migrations.command, (std::vector<std::string>{"poetry", "run", "alembic"}));
}

TEST(Config, UnknownKeyNamesFileLineColumnAndSuggests) {
  auto cfg = parse_config("app: a\nenvironments:\n  prod:\n    branch: main\n    protcted: true\n", "/r/rollback.yaml");
  ASSERT_FALSE(cfg.ok());
  EXPECT_EQ(cfg.error().code, ExitCode::Usage);
  EXPECT_NE(cfg.error().message.find("/r/rollback.yaml:5:5"), std::string::npos) << cfg.error().message;
  EXPECT_NE(cfg.error().message.find("protcted"), std::string::npos);
  EXPECT_NE(cfg.error().hint.find("protected"), std::string::npos);
}

TEST(Config, WrongTypeAndMissingFields) {
  auto wrong = parse_config("app: a\nenvironments:\n  prod: { branch: main, protected: maybe }\n", "c.yaml");
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.error().message.find("c.yaml:3:"), std::string::npos) << wrong.error().message;
  EXPECT_NE(wrong.error().message.find("true or false"), std::string::npos);

  auto no_app = parse_config("environments:\n  prod: { branch: main }\n", "c.yaml");
  ASSERT_FALSE(no_app.ok());
  EXPECT_NE(no_app.error().message.find("'app'"), std::string::npos);

  auto no_branch = parse_config("app: a\nenvironments:\n  prod: { protected: true }\n", "c.yaml");
  ASSERT_FALSE(no_branch.ok());
  EXPECT_NE(no_branch.error().message.find("branch"), std::string::npos);

  auto not_map = parse_config("app: a\nenvironments: [prod]\n", "c.yaml");
  ASSERT_FALSE(not_map.ok());
  EXPECT_NE(not_map.error().message.find("c.yaml:2:"), std::string::npos);

  auto bad_yaml = parse_config("app: [unclosed\n", "c.yaml");
  ASSERT_FALSE(bad_yaml.ok());
  EXPECT_NE(bad_yaml.error().message.find("invalid YAML"), std::string::npos);
}

TEST(Config, UnknownEnvironmentSuggestsClosest) {
  auto cfg = parse_config(kRunbookConfig, "/repo/rollback.yaml");
  ASSERT_TRUE(cfg.ok());
  auto env = cfg->environment("prd");
  ASSERT_FALSE(env.ok());
  EXPECT_EQ(env.error().code, ExitCode::Usage);
  EXPECT_NE(env.error().message.find("prd"), std::string::npos);
  EXPECT_NE(env.error().hint.find("did you mean 'prod'"), std::string::npos) << env.error().hint;
}

TEST(Config, StarterFileParses) {
  auto cfg = parse_config(starter_config("connect2-api", "us-east-1"), "rollback.yaml");
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_EQ(cfg->app, "connect2-api");
  EXPECT_EQ(cfg->environments.size(), 3u);
}

TEST(Config, AccountIdIsTwelveDigits) {
  auto cfg = parse_config("app: a\nenvironments:\n  prod: { branch: main, account_id: \"012345678901\" }\n"
                          "  dev: { branch: dev }\n",
                          "c.yaml");
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_EQ((*cfg->environment("prod"))->account_id, "012345678901");
  EXPECT_EQ((*cfg->environment("dev"))->account_id, "");
  for (const char* bad : {"12345", "1234567890123", "12345678901x"}) {
    auto r = parse_config(fmt::format("app: a\nenvironments:\n  prod: {{ branch: main, account_id: \"{}\" }}\n", bad),
                          "c.yaml");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.error().message.find("c.yaml:3:"), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find("12-digit"), std::string::npos) << r.error().message;
  }
}
