#include "db/snapshot.hpp"

#include <fmt/format.h>

#include <cctype>
#include <cstdlib>

#include "aws/credentials.hpp"
#include "aws/http.hpp"
#include "core/aws_env.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace rb::db {

namespace {

// Attempts per AWS call, as for the other AWS calls of a rollback (ecs/aws_gateway.cpp): ride
// out a throttling storm longer than the SDKs' 3. AWS_MAX_ATTEMPTS, when set, still decides.
constexpr int kSnapshotMaxAttempts = 5;

class AwsSnapshotGateway final : public SnapshotGateway {
 public:
  AwsSnapshotGateway(aws::AwsClientConfig config, Clock& clock, DatabaseConfig database)
      : transport_(std::make_unique<aws::CurlTransport>()),
        client_(std::move(config), *transport_, clock),
        database_(std::move(database)) {}

  Result<aws::DbSnapshot> create(const std::string& name) override {
    if (!database_.rds_cluster.empty()) return aws::create_db_cluster_snapshot(client_, database_.rds_cluster, name);
    return aws::create_db_snapshot(client_, database_.rds_instance, name);
  }
  Result<aws::DbSnapshot> describe(const std::string& name) override {
    if (!database_.rds_cluster.empty()) return aws::describe_db_cluster_snapshot(client_, name);
    return aws::describe_db_snapshot(client_, name);
  }
  std::string target() const override {
    return database_.rds_cluster.empty() ? "RDS instance " + database_.rds_instance
                                         : "RDS cluster " + database_.rds_cluster;
  }

 private:
  std::unique_ptr<aws::CurlTransport> transport_;
  aws::AwsClient client_;
  DatabaseConfig database_;
};

}  // namespace

Result<std::unique_ptr<SnapshotGateway>> make_aws_snapshot_gateway(const Config& config, const EnvironmentConfig& env,
                                                                   Clock& clock) {
  RB_TRY_ASSIGN(auto aws_env, environment_aws(config, env));
  auto& credentials = aws_env.credentials;
  const std::string& region = aws_env.region;
  aws::RetryPolicy retry;
  const char* env_attempts = std::getenv("AWS_MAX_ATTEMPTS");
  if (!env_attempts || !*env_attempts) retry.max_attempts = kSnapshotMaxAttempts;
  auto client_config = aws::AwsClientConfig::for_service("rds", region, std::move(credentials), retry);
  log_debug("RDS endpoint {} (region {}) for the snapshot", client_config.endpoint, region);
  return std::unique_ptr<SnapshotGateway>(new AwsSnapshotGateway(std::move(client_config), clock, env.database));
}

Result<SnapshotDecision> decide_snapshot(const EnvironmentConfig& env, const AnalyzedPlan& plan,
                                         std::optional<bool> flag) {
  const bool configured = env.database.configured();
  if (flag && *flag && !configured)
    return usage_error(fmt::format("--snapshot: environment {} names no RDS database", env.name),
                       fmt::format("add `database: {{ rds_instance: NAME }}` (or rds_cluster) to {} in rollback.yaml",
                                   env.name));
  if (flag && *flag) return SnapshotDecision{true, "asked for (--snapshot)"};
  if (flag && !*flag) return SnapshotDecision{false, "not taken (--no-snapshot)"};
  if (!configured) return SnapshotDecision{false, "no `database:` for this environment in rollback.yaml"};
  const bool changes_data = plan.destroys_data || plan.severity >= Severity::Medium;
  if (!env.is_protected) return SnapshotDecision{false, "not taken: the environment is not protected (--snapshot takes one)"};
  if (!changes_data)
    return SnapshotDecision{false, "not taken: the plan destroys and changes no data (--snapshot takes one)"};
  return SnapshotDecision{true, plan.destroys_data ? "the plan destroys data on a protected environment"
                                                   : "the plan may change data on a protected environment"};
}

std::string snapshot_name(const std::string& rollback_id) {
  std::string out = "rollback-";
  for (char c : rollback_id) {
    const auto u = static_cast<unsigned char>(c);
    char next = std::isalnum(u) ? static_cast<char>(std::tolower(u)) : '-';
    if (next == '-' && out.back() == '-') continue;
    out += next;
  }
  while (out.back() == '-') out.pop_back();
  if (out.size() > aws::kMaxRdsSnapshotIdentifier) out.resize(aws::kMaxRdsSnapshotIdentifier);
  while (out.back() == '-') out.pop_back();
  return out;
}

Result<aws::DbSnapshot> take_snapshot(SnapshotGateway& gateway, Clock& clock, const std::string& name,
                                      std::chrono::milliseconds timeout,
                                      const std::function<void(const std::string&)>& progress) {
  RB_TRY(aws::check_rds_identifier(name, aws::kMaxRdsSnapshotIdentifier, "snapshot identifier"));
  auto created = gateway.create(name);
  if (!created) {
    Error e = created.take_error();
    e.message = fmt::format("the snapshot {} of {} could not be created: {}", name, gateway.target(), e.message);
    return e;
  }
  aws::DbSnapshot s = std::move(*created);
  const auto deadline = clock.now() + timeout;
  std::string last;
  for (;;) {
    std::string line = s.status == "available"
                           ? fmt::format("snapshot {}: available", name)
                           : fmt::format("snapshot {}: {} ({}%)", name, s.status, s.percent_progress);
    if (line != last) progress(line);
    last = line;
    if (s.status == "available") return s;
    if (s.status != "creating" && s.status != "pending" && s.status != "backing-up") {
      Error e = failure(fmt::format("the snapshot {} of {} ended as '{}', not available", name, gateway.target(), s.status),
                        "the downgrade did not run (nothing changed); check the RDS console or `aws rds "
                        "describe-db-snapshots`, then run it again, or pass --no-snapshot to go on without one");
      e.tag = "snapshot-failed";
      return e;
    }
    if (clock.now() >= deadline) {
      Error e = failure(fmt::format("the snapshot {} of {} is still '{}' ({}%) after {}", name, gateway.target(),
                                    s.status, s.percent_progress, format_duration(timeout)),
                        "the downgrade did not run (nothing changed); run it again once the snapshot is available, "
                        "with --no-snapshot");
      e.tag = "snapshot-failed";
      return e;
    }
    if (!clock.sleep_for(kSnapshotPollInterval))
      return interrupted_error(fmt::format("interrupted while the snapshot {} was being created (it goes on in RDS; "
                                           "the downgrade did not run)",
                                           name));
    RB_TRY_ASSIGN(s, gateway.describe(name));
  }
}

nlohmann::json snapshot_to_json(const aws::DbSnapshot& s) {
  return {{"identifier", s.identifier}, {"arn", s.arn},       {"status", s.status},
          {"source", s.source},         {"cluster", s.cluster}, {"create_time", s.create_time}};
}

}  // namespace rb::db
