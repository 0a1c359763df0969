#include <gtest/gtest.h>

#include <unistd.h>

#include <fstream>
#include <string>

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

namespace {

std::string config_error_of(const std::string& text) {
  auto cfg = parse_config(text, "/repo/rollback.yaml");
  if (cfg.ok()) return "(accepted)";
  EXPECT_EQ(cfg.error().code, ExitCode::Usage);
  return cfg.error().message;
}

}  // namespace

TEST(Config, MapOrListAsKeyIsAnErrorWithLine) {
  std::string m = config_error_of("app: a\nenvironments:\n  ? {x: 1}\n  : { branch: main }\n");
  EXPECT_NE(m.find("rollback.yaml:3:"), std::string::npos) << m;
  EXPECT_NE(m.find("is a mapping instead of a name"), std::string::npos) << m;
  m = config_error_of("app: a\n? [1, 2]\n: x\nenvironments:\n  prod: { branch: main }\n");
  EXPECT_NE(m.find("rollback.yaml:2:"), std::string::npos) << m;
  EXPECT_NE(m.find("is a list instead of a name"), std::string::npos) << m;
  m = config_error_of("app: a\nenvironments:\n  prod: { ? [b] : main }\n");
  EXPECT_NE(m.find("list instead of a name"), std::string::npos) << m;
}

TEST(Config, DuplicateKeysAreErrorsNotFirstWins) {
  std::string m = config_error_of("app: a\nenvironments:\n  prod: { branch: main }\n  dev: { branch: d }\n  prod: { branch: x }\n");
  EXPECT_NE(m.find("rollback.yaml:5:3: duplicate key 'prod' in 'environments' (first given on line 3)"),
            std::string::npos)
      << m;
  m = config_error_of("app: a\napp: b\nenvironments:\n  prod: { branch: main }\n");
  EXPECT_NE(m.find("duplicate key 'app'"), std::string::npos) << m;
}

TEST(Config, EnvironmentAndAppNamesAreValidated) {
  for (const char* bad : {"'../../x'", "'a;rm -rf'", "'-x'", "'a b'", "'caf\xC3\xA9'", "'.hidden'"}) {
    std::string m = config_error_of(std::string("app: a\nenvironments:\n  ") + bad + ": { branch: main }\n");
    EXPECT_NE(m.find("rollback.yaml:3:3: the environment name"), std::string::npos) << bad << ": " << m;
  }
  std::string m = config_error_of("app: a\nenvironments:\n  " + std::string(64, 'e') + ": { branch: main }\n");
  EXPECT_NE(m.find("too long"), std::string::npos) << m;
  EXPECT_EQ(config_error_of("app: a\nenvironments:\n  " + std::string(63, 'e') + ": { branch: main }\n"), "(accepted)");
  EXPECT_EQ(config_error_of("app: a\nenvironments:\n  us-east-1.prod_2: { branch: main }\n"), "(accepted)");
  m = config_error_of("app: \"x\\ny: 1\"\nenvironments:\n  prod: { branch: main }\n");
  EXPECT_NE(m.find("the application name"), std::string::npos) << m;
  EXPECT_TRUE(check_environment_name("prod").ok());
  EXPECT_FALSE(check_environment_name("").ok());
  EXPECT_FALSE(check_app_name("a\nb").ok());
}

TEST(Config, TooManyEnvironmentsIsAClearError) {
  std::string text = "app: a\nenvironments:\n";
  for (size_t i = 0; i <= kMaxEnvironments; ++i) text += "  e" + std::to_string(i) + ": { branch: main }\n";
  std::string m = config_error_of(text);
  EXPECT_NE(m.find("more than the 1000 allowed"), std::string::npos) << m;
}

TEST(Config, LoadRefusesDirectoriesDevicesAndHugeFiles) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("rollback-config-test-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  auto dir_result = load_config(dir, dir);
  ASSERT_FALSE(dir_result.ok());
  EXPECT_EQ(dir_result.error().code, ExitCode::Usage);
  EXPECT_NE(dir_result.error().message.find("is a directory"), std::string::npos) << dir_result.error().message;

  auto dev = load_config(fs::path("/dev/zero"), dir);
  ASSERT_FALSE(dev.ok());
  EXPECT_NE(dev.error().message.find("not a regular file"), std::string::npos) << dev.error().message;

  fs::path big = dir / "rollback.yaml";
  {
    std::ofstream f(big);
    f << "app: a\n# " << std::string(kMaxConfigFile, 'x') << "\n";
  }
  auto huge = load_config(big, dir);
  ASSERT_FALSE(huge.ok());
  EXPECT_NE(huge.error().message.find("larger than 1 MiB"), std::string::npos) << huge.error().message;
  fs::remove_all(dir);
}

TEST(Config, DatabaseNamesOneRdsInstanceOrCluster) {
  auto cfg = parse_config("app: a\nenvironments:\n  prod: { branch: main, database: { rds_instance: connect2-prod } }\n"
                          "  qa: { branch: main, database: { rds_cluster: aurora-qa } }\n  dev: { branch: dev }\n",
                          "c.yaml");
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_EQ((*cfg->environment("prod"))->database.rds_instance, "connect2-prod");
  EXPECT_EQ((*cfg->environment("qa"))->database.rds_cluster, "aurora-qa");
  EXPECT_FALSE((*cfg->environment("dev"))->database.configured());
  for (const char* bad : {"{ rds_instance: a, rds_cluster: b }", "{}", "{ rds_instance: 1-bad }",
                          "{ rds_instance: a--b }", "{ rds_instanse: a }", "connect2-prod"}) {
    auto r = parse_config(fmt::format("app: a\nenvironments:\n  prod: {{ branch: main, database: {} }}\n", bad), "c.yaml");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, ExitCode::Usage) << bad;
    EXPECT_NE(r.error().message.find("c.yaml:3"), std::string::npos) << r.error().message;
  }
}

TEST(Config, RedisNamesOneCacheAndOptionallyItsSecret) {
  auto cfg = parse_config("app: a\nenvironments:\n"
                          "  prod: { branch: main, redis: { replication_group: connect2-prod, secret: prod/redis } }\n"
                          "  qa: { branch: main, redis: { cache_cluster: redis-qa } }\n  dev: { branch: dev }\n",
                          "c.yaml");
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_EQ((*cfg->environment("prod"))->redis.replication_group, "connect2-prod");
  EXPECT_EQ((*cfg->environment("prod"))->redis.secret, "prod/redis");
  EXPECT_EQ((*cfg->environment("qa"))->redis.cache_cluster, "redis-qa");
  EXPECT_FALSE((*cfg->environment("dev"))->redis.configured());
  struct Bad {
    const char* yaml;
    const char* says;
  };
  for (const Bad& bad : {Bad{"{ cache_cluster: a, replication_group: b }", "both"},
                         Bad{"{ secret: s }", "neither cache_cluster nor replication_group"},
                         Bad{"{ cache_cluster: 1-bad }", "redis.cache_cluster"},
                         Bad{"{ replication_group: a--b }", "redis.replication_group"},
                         Bad{"{ cache_cluster: c, secret: 'has space' }", "redis.secret"},
                         Bad{"{ cache_cluster: c, secret: '' }", "redis.secret"},
                         Bad{"{ cache_clustr: c }", "unknown key 'cache_clustr'"}, Bad{"redis-prod", "mapping"}}) {
    auto r = parse_config(fmt::format("app: a\nenvironments:\n  prod: {{ branch: main, redis: {} }}\n", bad.yaml),
                          "c.yaml");
    ASSERT_FALSE(r.ok()) << bad.yaml;
    EXPECT_NE(r.error().message.find(bad.says), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find("c.yaml:"), std::string::npos) << r.error().message;
  }
}

TEST(Config, VerifyBlockIsParsedStrictlyWithProtectedDefaults) {
  auto cfg = parse_config(
      "app: a\nenvironments:\n  prod: { branch: main, protected: true }\n  staging: { branch: s, health_url: "
      "'https://s/{env}', verify: { bake: 2m, alarms: [api-5xx, api-latency], probes: 5 } }\n  dev: { branch: d }\n",
      "/r/rollback.yaml");
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  const auto* prod = *cfg->environment("prod");
  const auto* staging = *cfg->environment("staging");
  const auto* dev = *cfg->environment("dev");
  EXPECT_EQ(prod->bake(), kDefaultProtectedBake);
  EXPECT_EQ(dev->bake(), std::chrono::milliseconds(0));
  EXPECT_EQ(staging->bake(), std::chrono::minutes(2));
  EXPECT_EQ(staging->verify.alarms, (std::vector<std::string>{"api-5xx", "api-latency"}));
  EXPECT_EQ(staging->verify.probes, 5);
  EXPECT_EQ(staging->verify_health_url(), "https://s/staging");

  for (const char* bad : {"verify: { bake: soon }", "verify: { probes: 0 }", "verify: { probes: -1 }",
                          "verify: { probes: 2.5 }", "verify: { bakes: 1m }", "verify: [1]", "verify: { bake: 2d }",
                          "verify: { alarms: { a: b } }"}) {
    auto r = parse_config(fmt::format("app: a\nenvironments:\n  prod: {{ branch: main, {} }}\n", bad), "/r/rollback.yaml");
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.error().code, ExitCode::Usage) << bad;
    }
  }
  auto typo = parse_config("app: a\nenvironments:\n  prod: { branch: main, verify: { probe: 3 } }\n", "/r/rollback.yaml");
  ASSERT_FALSE(typo.ok());
  EXPECT_NE(typo.error().hint.find("probes"), std::string::npos);
}
