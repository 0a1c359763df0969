// rollback.yaml: the application, its environments, and how each layer reaches them.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/team_config.hpp"
#include "util/result.hpp"

namespace rb {

struct MigrationsConfig {
  std::string path = "alembic";                 // where `alembic` runs (relative to the repo)
  std::string versions = "alembic/versions";    // the versions folder (relative to the repo)
  std::string version_table = "alembic_version";
  std::string version_table_schema;             // empty: the default schema
  std::vector<std::string> command{"alembic"};  // argv prefix; "downgrade <rev>" is appended
  std::string url_env = "DATABASE_URL";         // environment variable holding the database URL
  std::string url;                              // or the URL itself (discouraged: secrets in files)
};

struct TerraformStateConfig {
  std::string bucket = "{app}-terraform-state-{env}";
  std::string key = "api/terraform.tfstate";
  std::string dynamodb_table;  // empty: no DynamoDB lock table
  bool use_lockfile = false;   // S3 native lock (<key>.tflock), Terraform >= 1.10
  std::string workspace = "default";
  std::string workspace_key_prefix = "env:";
};

struct TerraformConfig {
  std::string dir = "infrastructure/terraform/environments/{env}";
  std::string binary = "terraform";
  TerraformStateConfig state;
};

// The environment's database as RDS knows it (`database: { rds_instance: X }` or
// `{ rds_cluster: X }`): a downgrade that destroys or changes data on a protected environment
// takes a snapshot of it first. At most one of the two is set.
struct DatabaseConfig {
  std::string rds_instance;  // DBInstanceIdentifier
  std::string rds_cluster;   // DBClusterIdentifier (Aurora)
  bool configured() const { return !rds_instance.empty() || !rds_cluster.empty(); }
};

// The environment's Redis (`redis: { cache_cluster: X }` or `{ replication_group: X }`, with an
// optional `secret: NAME`): diagnose checks that the service's tasks may reach it (security
// groups, port), its status, and the secret holding its credentials (existence, deletion, last
// change; never its value). At most one of cache_cluster and replication_group is set.
struct RedisConfig {
  std::string cache_cluster;      // CacheClusterId
  std::string replication_group;  // ReplicationGroupId
  std::string secret;             // Secrets Manager name or ARN; empty: none configured
  bool configured() const { return !cache_cluster.empty() || !replication_group.empty(); }
};

// The longest Secrets Manager SecretId (a name or a full ARN): 2048 characters (botocore's
// secretsmanager SecretIdType).
inline constexpr size_t kMaxSecretId = 2048;

// `verify.logs_window` when not set: the runbook's "Monitor logs for errors" compares the error
// lines of this long after a rollback with as long before it. Three minutes lets a few requests
// per minute reach new tasks and their lines reach CloudWatch Logs (usually seconds), without
// holding the environment's lock long after the rollback.
inline constexpr std::chrono::milliseconds kDefaultLogsWindow{3 * 60'000};
// The longest `verify.logs_window`: the lock is held while it passes; an hour is already far
// more than a check right after the rollback needs.
inline constexpr std::chrono::milliseconds kMaxLogsWindow{60 * 60'000};

// `verify:` of an environment: the gate a rollback passes after ECS reports it done.
struct VerifyConfig {
  std::optional<std::chrono::milliseconds> bake;  // unset: kDefaultProtectedBake on protected environments, else 0
  std::vector<std::string> alarms;                // CloudWatch alarms checked besides the service's deployment alarms
  std::string health_url;                         // unset: the environment's health_url
  int probes = 3;                                 // health_url probes (and rounds of checks) across the bake window
  // The window of "Monitor logs for errors" (core/checklist.hpp); 0: the logs are not read.
  std::chrono::milliseconds logs_window = kDefaultLogsWindow;
};

// The bake window of a protected environment when `verify.bake` is not set: one minute covers
// the one-minute period of a standard CloudWatch alarm and two 30 s target group health checks.
inline constexpr std::chrono::milliseconds kDefaultProtectedBake{60'000};
// The longest `verify.bake`: ECS's own bakeTimeInMinutes allows up to 1440 minutes (a day).
inline constexpr std::chrono::milliseconds kMaxBake{24LL * 60 * 60 * 1000};
// The most `verify.probes`: one probe per second across a ten-minute bake is far beyond what a
// gate needs, and bounds the number of requests.
inline constexpr int kMaxProbes = 600;
// The most `verify.alarms`: CloudWatch DescribeAlarms takes at most 100 names per call.
inline constexpr size_t kMaxVerifyAlarms = 100;

struct EnvironmentConfig {
  std::string name;
  std::string branch;
  bool is_protected = false;
  std::string cluster;      // default {app}-cluster-{env}
  std::string service;      // default {app}-service-{env}
  std::string task_family;  // default {app}-{env}
  std::string container;    // default {app}
  std::string health_url;   // optional: must answer 2xx after a rollback
  std::string aws_profile;  // optional
  std::string account_id;   // optional: the 12-digit AWS account the credentials must belong to
  std::string region;       // default: the top-level region
  std::string image_tag;    // how a deployed image names its commit; default "{sha}"
  MigrationsConfig migrations;
  TerraformConfig terraform;
  DatabaseConfig database;
  RedisConfig redis;
  VerifyConfig verify;

  // The bake window: verify.bake, else kDefaultProtectedBake when protected, else 0.
  std::chrono::milliseconds bake() const;
  // verify.health_url, else health_url.
  const std::string& verify_health_url() const;
  std::string reason_hint() const;
};

// For a command the tool prints for the engineer to run next: ` --reason "…"` on a protected
// environment, which refuses to start without one, else nothing.
std::string reason_hint(bool is_protected);

struct Config {
  std::filesystem::path file;  // where it was read from
  std::string app;
  std::string region;
  std::filesystem::path repo;          // the git repository (default: the config file's folder)
  std::string remote = "origin";
  std::string migrations_guard = "alembic/versions/";        // a revert touching this is a DB change
  std::string terraform_guard = "infrastructure/terraform/";  // a revert touching this is infrastructure
  std::filesystem::path journal_path;  // empty: $XDG_STATE_HOME/rollback/journal.db
  std::filesystem::path backup_dir;    // empty: $XDG_STATE_HOME/rollback/backups
  std::vector<EnvironmentConfig> environments;
  std::optional<TeamConfig> team;  // `team:`: locks and journal shared on DynamoDB (core/team_config.hpp)

  // The environment called `name`, or a usage error that suggests the closest one.
  Result<const EnvironmentConfig*> environment(const std::string& name) const;
  std::vector<std::string> environment_names() const;
};

// The largest rollback.yaml read: a configuration with every key set for a few dozen
// environments is a few KB; 1 MiB is far beyond that and stops a wrong --config (a log, a
// device) before it is parsed.
inline constexpr size_t kMaxConfigFile = size_t{1} << 20;
// The most environments one configuration may list. Teams have a handful (the runbook has
// three); 1000 leaves room for per-customer environments while bounding memory and output.
inline constexpr size_t kMaxEnvironments = 1000;
// Longest environment and application names. They become parts of lock file names, ECS and
// S3 names (an S3 bucket name is at most 63 characters) and table columns.
inline constexpr size_t kMaxEnvironmentName = 63;
inline constexpr size_t kMaxAppName = 128;

// An environment name: [A-Za-z0-9][A-Za-z0-9._-]*, at most kMaxEnvironmentName characters.
// Anything else could name a path outside the lock folder ("../x") or break a printed command
// ("a;rm"). The error says what is wrong and what is allowed.
Status check_environment_name(std::string_view name);
// The same rule for the application name (`app:`, `init --app`), at most kMaxAppName characters.
Status check_app_name(std::string_view name);

// Parses YAML text; `source` names the file in error messages ("rollback.yaml:4:3: ...").
Result<Config> parse_config(const std::string& text, const std::filesystem::path& source);

// rollback.yaml (or .yml) in `start` or the nearest parent, if there is one.
std::optional<std::filesystem::path> find_config_file(const std::filesystem::path& start);

// Loads `explicit_path` if given, else rollback.yaml (or .yml) in `start` or the nearest parent.
Result<Config> load_config(const std::optional<std::filesystem::path>& explicit_path,
                           const std::filesystem::path& start);

// The starting file `rollback init` writes.
std::string starter_config(const std::string& app, const std::string& region);

}  // namespace rb
