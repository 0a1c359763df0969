// rollback diagnose: read-only checks of the runbook's common scenarios that end in a ranked list
// of findings, each naming the scenario and the command that fixes it.
#include <algorithm>
#include <map>
#include <memory>
#include <optional>

#include <fmt/format.h>

#include "aws/acm.hpp"
#include "aws/credentials.hpp"
#include "aws/ec2.hpp"
#include "aws/elasticache.hpp"
#include "aws/http.hpp"
#include "aws/rds.hpp"
#include "aws/route53.hpp"
#include "aws/secretsmanager.hpp"
#include "cli/command.hpp"
#include "core/aws_env.hpp"
#include "core/diagnose.hpp"
#include "ecs/aws_gateway.hpp"
#include "ecs/model.hpp"
#include "infra/aws_storage.hpp"
#include "util/strings.hpp"
#include "util/utf8.hpp"

namespace rb::cli {

namespace {

// AWS error codes of what does not exist (EC2, ElastiCache and RDS API references).
constexpr std::string_view kTagSecurityGroupNotFound = "InvalidGroup.NotFound";
constexpr std::string_view kTagReplicationGroupNotFound = "ReplicationGroupNotFoundFault";
constexpr std::string_view kTagCacheClusterNotFound = "CacheClusterNotFound";
constexpr std::string_view kTagDbInstanceNotFound = "DBInstanceNotFound";

// Without a deployment to compare with, state versions written this recently count as a recent
// infrastructure change.
constexpr double kRecentChangeSeconds = 24 * 3600;

struct DiagnoseOptions {
  std::string env;
};

Finding could_not(const std::string& what, const Error& e) {
  return {FindingLevel::Info, "-", fmt::format("could not check {}: {}", what, e.message),
          e.hint.empty() ? "see the message" : e.hint};
}

double primary_created_at(const ecs::Service& s) {
  const ecs::Deployment* p = s.primary();
  return p ? p->created_at : 0;
}

// What the ECS checks learnt that the network and secret checks build on.
struct EcsFacts {
  std::unique_ptr<ecs::EcsGateway> gateway;
  std::optional<ecs::Service> service;
  double deployed_at = 0;  // when the PRIMARY deployment started (epoch seconds); 0: unknown
};

void diagnose_ecs(Context& ctx, const EnvironmentConfig& env, std::vector<Finding>& out, EcsFacts& facts) {
  auto gateway = ecs::make_aws_gateway(ctx.config(), env, ctx.clock());
  if (!gateway) return out.push_back(could_not("the ECS service", gateway.error()));
  facts.gateway = std::move(*gateway);
  auto svc = facts.gateway->describe_service(env.cluster, env.service);
  if (!svc) return out.push_back(could_not("the ECS service", svc.error()));
  facts.service = *svc;
  facts.deployed_at = primary_created_at(*svc);
  auto& gw = facts.gateway;
  for (const auto& d : svc->deployments) {
    auto ref = ecs::parse_task_def(d.task_definition);
    std::string label = ref ? ref->label() : d.task_definition;
    if (d.rollout_state == "FAILED")
      out.push_back({FindingLevel::Critical, "Scenario 1: Bad Code Deploy",
                     fmt::format("deployment {} of {} FAILED: {}", d.id, label, d.rollout_state_reason),
                     fmt::format("`rollback ecs --env {}{}`", env.name, env.reason_hint())});
    auto stopped = gw->stopped_tasks(env.cluster, env.service, d.id);
    if (!stopped) {
      out.push_back(could_not("the stopped tasks of " + d.id, stopped.error()));
      continue;
    }
    // One finding per distinct failure: twenty crashed tasks are one symptom.
    std::map<std::pair<std::string, std::string>, int> counts;
    std::vector<std::pair<std::string, std::string>> order;
    for (const auto& t : *stopped) {
      std::string reason = t.stopped_reason;
      for (const auto& c : t.containers)
        if (!c.reason.empty() && reason.find(c.reason) == std::string::npos) reason += "; " + c.name + ": " + c.reason;
      auto key = std::make_pair(t.stop_code, reason);
      if (counts[key]++ == 0) order.push_back(key);
    }
    for (const auto& key : order) out.push_back(stopped_task_finding(env.name, label, key.first, key.second, counts[key]));
  }
}

void diagnose_health(const EnvironmentConfig& env, std::vector<Finding>& out) {
  if (env.health_url.empty()) return;
  auto h = ecs::probe_health_once(env.health_url);
  if (h.healthy) return;
  out.push_back({FindingLevel::Critical, "Scenario 1: Bad Code Deploy",
                 fmt::format("the health URL {} answers {}", env.health_url, h.answer),
                 fmt::format("`rollback ecs --env {}{}` for immediate relief, then `rollback app --env {}`", env.name,
                             env.reason_hint(), env.name)});
}

void diagnose_state(Context& ctx, const EnvironmentConfig& env, double deployed_at, std::vector<Finding>& out) {
  auto backend = infra::make_state_backend(ctx.config(), env, ctx.clock());
  if (!backend) return out.push_back(could_not("the Terraform state", backend.error()));
  auto versions = backend->store->list_object_versions(backend->location.bucket, backend->location.key);
  if (!versions) return out.push_back(could_not("the Terraform state versions", versions.error()));
  double since = deployed_at > 0 ? deployed_at
                                 : std::chrono::duration<double>(ctx.clock().wall_now().time_since_epoch()).count() -
                                       kRecentChangeSeconds;
  int newer = 0;
  std::chrono::system_clock::time_point newest{};
  for (const auto& v : *versions) {
    if (v.key != backend->location.key || v.is_delete_marker) continue;
    if (std::chrono::duration<double>(v.last_modified.time_since_epoch()).count() >= since) {
      ++newer;
      newest = std::max(newest, v.last_modified);
    }
  }
  if (newer == 0) return;
  out.push_back({FindingLevel::High, "Scenario 2: Infrastructure Change Broke API",
                 fmt::format("{} new state version{} of {} since {} (the newest at {}): the infrastructure changed",
                             newer, newer == 1 ? "" : "s", backend->url(),
                             deployed_at > 0 ? "the current ECS deployment started" : "24 hours ago", iso8601(newest)),
                 fmt::format("`rollback state list --env {}` shows what changed; revert the infrastructure PR with "
                             "`rollback infra --env {} --pr N{}`",
                             env.name, env.name, env.reason_hint())});
}

// The security groups `target` lists, described, judged against the tasks' groups and IPs.
void judge_reach(aws::AwsClient& ec2, const EnvironmentConfig& env, const ReachCheck& target,
                 const std::vector<std::string>& task_groups, const std::vector<std::string>& task_ips,
                 std::vector<Finding>& out) {
  auto groups = aws::describe_security_groups(ec2, target.security_groups);
  if (!groups) {
    if (groups.error().tag == kTagSecurityGroupNotFound)
      return out.push_back(missing_dependency_finding(
          env.name, target.kind,
          fmt::format("a security group of {} does not exist ({})", target.label, groups.error().message)));
    return out.push_back(could_not("the security groups of " + target.label, groups.error()));
  }
  if (auto f = reachability_finding(env.name, target, *groups, task_groups, task_ips)) out.push_back(std::move(*f));
}

// The configured Redis: its status and endpoint, then whether the tasks may reach it.
void diagnose_redis(Context& ctx, const EnvironmentConfig& env, const EnvironmentAws& setup, aws::AwsClient& ec2,
                    const std::vector<std::string>& task_groups, const std::vector<std::string>& task_ips,
                    std::vector<Finding>& out) {
  aws::CurlTransport transport;
  aws::AwsClient cache(aws::AwsClientConfig::for_service("elasticache", setup.region, setup.credentials,
                                                         aws::default_retry_policy()),
                       transport, ctx.clock());
  auto gone = [&](const std::string& label, const Error& e) {
    out.push_back(missing_dependency_finding(env.name, NetworkTarget::Redis,
                                             fmt::format("{} does not exist ({})", label, e.message)));
  };
  ReachCheck target;
  target.kind = NetworkTarget::Redis;
  std::string cluster_id = env.redis.cache_cluster;
  if (!env.redis.replication_group.empty()) {
    target.label = "Redis replication group " + env.redis.replication_group;
    auto group = aws::describe_replication_group(cache, env.redis.replication_group);
    if (!group) {
      if (group.error().tag == kTagReplicationGroupNotFound) return gone(target.label, group.error());
      return out.push_back(could_not(target.label, group.error()));
    }
    if (auto f = target_status_finding(env.name, NetworkTarget::Redis, target.label, group->status))
      out.push_back(std::move(*f));
    target.port = group->port;
    if (!group->address.empty()) target.endpoint = fmt::format("{}:{}", group->address, group->port);
    // The group's security groups are its member clusters' (DescribeReplicationGroups has none).
    if (group->member_clusters.empty())
      return out.push_back({FindingLevel::High, scenario_of(NetworkTarget::Redis), target.label + " has no member clusters",
                            "check it in the ElastiCache console"});
    cluster_id = group->member_clusters.front();
  } else {
    target.label = "Redis cache cluster " + cluster_id;
  }
  auto cluster = aws::describe_cache_cluster(cache, cluster_id);
  if (!cluster) {
    if (cluster.error().tag == kTagCacheClusterNotFound) return gone("Redis cache cluster " + cluster_id, cluster.error());
    return out.push_back(could_not("Redis cache cluster " + cluster_id, cluster.error()));
  }
  if (env.redis.replication_group.empty())
    if (auto f = target_status_finding(env.name, NetworkTarget::Redis, target.label, cluster->status))
      out.push_back(std::move(*f));
  if (target.port == 0) target.port = cluster->port;
  if (target.endpoint.empty() && !cluster->address.empty())
    target.endpoint = fmt::format("{}:{}", cluster->address, cluster->port);
  if (target.port == 0) target.port = kRedisDefaultPort;
  target.security_groups = cluster->security_groups;
  judge_reach(ec2, env, target, task_groups, task_ips, out);
}

// The configured RDS instance: its status, then whether the tasks may reach its port.
void diagnose_database(Context& ctx, const EnvironmentConfig& env, const EnvironmentAws& setup, aws::AwsClient& ec2,
                       const std::vector<std::string>& task_groups, const std::vector<std::string>& task_ips,
                       std::vector<Finding>& out) {
  aws::CurlTransport transport;
  aws::AwsClient rds(aws::AwsClientConfig::for_service("rds", setup.region, setup.credentials, aws::default_retry_policy()),
                     transport, ctx.clock());
  ReachCheck target;
  target.kind = NetworkTarget::Database;
  target.label = "RDS instance " + env.database.rds_instance;
  auto db = aws::describe_db_instance(rds, env.database.rds_instance);
  if (!db) {
    if (db.error().tag == kTagDbInstanceNotFound)
      return out.push_back(missing_dependency_finding(
          env.name, NetworkTarget::Database, fmt::format("{} does not exist ({})", target.label, db.error().message)));
    return out.push_back(could_not(target.label, db.error()));
  }
  if (auto f = target_status_finding(env.name, NetworkTarget::Database, target.label, db->status))
    out.push_back(std::move(*f));
  if (db->port == 0) return out.push_back({FindingLevel::Info, "-", target.label + " has no endpoint port yet", "wait until it is available"});
  target.port = db->port;
  if (!db->address.empty()) target.endpoint = fmt::format("{}:{}", db->address, db->port);
  target.security_groups = db->security_groups;
  judge_reach(ec2, env, target, task_groups, task_ips, out);
}

// Redis and the database against the tasks' security groups (scenarios 4 and 2).
void diagnose_network(Context& ctx, const EnvironmentConfig& env, const EcsFacts& facts,
                      const Result<EnvironmentAws>& setup, std::vector<Finding>& out) {
  bool database = !env.database.rds_instance.empty();
  if (!env.redis.configured() && !database) return;
  if (!facts.service) return;  // the ECS checks said why
  auto task_groups = task_security_groups(facts.service->network_configuration);
  if (task_groups.empty())
    return out.push_back({FindingLevel::Info, "-",
                          fmt::format("service {} has no awsvpc security groups: the security groups of Redis and the "
                                      "database were not judged",
                                      env.service),
                          "only awsvpc services (Fargate) have their own security groups"});
  std::vector<std::string> task_ips;
  if (auto running = facts.gateway->running_tasks(env.cluster, env.service))
    for (const auto& t : *running)
      if (!t.private_ip.empty()) task_ips.push_back(t.private_ip);
  if (!setup) return out.push_back(could_not("the security groups", setup.error()));
  aws::CurlTransport transport;
  aws::AwsClient ec2(aws::AwsClientConfig::for_service("ec2", setup->region, setup->credentials, aws::default_retry_policy()),
                     transport, ctx.clock());
  if (env.redis.configured()) diagnose_redis(ctx, env, *setup, ec2, task_groups, task_ips, out);
  if (database) diagnose_database(ctx, env, *setup, ec2, task_groups, task_ips, out);
}

// The Secrets Manager secrets the running task definition references, and redis.secret.
void diagnose_secrets(Context& ctx, const EnvironmentConfig& env, const EcsFacts& facts,
                      const Result<EnvironmentAws>& setup, std::vector<Finding>& out) {
  std::vector<SecretReference> refs;
  if (facts.service) {
    auto td = facts.gateway->describe_task_definition_json(facts.service->current_task_definition());
    if (!td) {
      out.push_back(could_not("the secrets of the task definition", td.error()));
    } else {
      refs = secrets_manager_references(*td);
      auto ref = ecs::parse_task_def(facts.service->current_task_definition());
      std::string label = ref ? ref->label() : facts.service->current_task_definition();
      if (auto f = execution_role_finding(env.name, *td, label)) out.push_back(std::move(*f));
    }
  }
  if (!env.redis.secret.empty() &&
      std::none_of(refs.begin(), refs.end(), [&](const auto& r) { return r.secret_id == env.redis.secret; }))
    refs.push_back({env.redis.secret, "redis.secret"});
  if (refs.empty()) return;
  if (!setup) return out.push_back(could_not("the secrets", setup.error()));
  aws::CurlTransport transport;
  aws::AwsClient sm(aws::secretsmanager_config(setup->region, setup->credentials, aws::default_retry_policy()), transport,
                    ctx.clock());
  std::vector<SecretCheck> checks;
  for (const auto& ref : refs) {
    SecretCheck c;
    c.ref = ref;
    auto d = aws::describe_secret(sm, ref.secret_id);
    if (d) {
      c.found = true;
      c.description = *d;
    } else if (d.error().tag == aws::kSecretNotFound) {
      c.missing = true;
    } else {
      c.error = d.error().message;
    }
    checks.push_back(std::move(c));
  }
  for (auto& f : secret_findings(env.name, checks, facts.deployed_at)) out.push_back(std::move(f));
}

void diagnose_certificates(Context& ctx, const Result<EnvironmentAws>& setup, std::vector<Finding>& out) {
  if (!setup) return out.push_back(could_not("the certificates", setup.error()));
  const std::string& region = setup->region;
  const aws::Credentials& credentials = setup->credentials;
  aws::CurlTransport acm_transport, dns_transport;
  aws::AcmClient acm(aws::AwsClient(aws::AwsClientConfig::for_service("acm", region, credentials), acm_transport, ctx.clock()));
  auto certificates = acm.certificates();
  if (!certificates) return out.push_back(could_not("the ACM certificates", certificates.error()));
  bool pending = false;
  for (const auto& c : *certificates) pending = pending || c.status == "PENDING_VALIDATION";
  std::vector<aws::HostedZone> zones;
  std::vector<std::pair<std::string, std::vector<aws::RecordSet>>> records;
  if (pending) {
    aws::Route53Client dns(aws::AwsClient(aws::route53_config(credentials), dns_transport, ctx.clock()));
    auto listed = dns.hosted_zones();
    if (!listed) {
      out.push_back(could_not("the Route 53 zones", listed.error()));
    } else {
      zones = std::move(*listed);
      for (const auto& c : *certificates)
        for (const auto& v : c.validations) {
          const aws::HostedZone* z = v.record_name.empty() ? nullptr : aws::zone_for(zones, v.record_name);
          if (!z || std::any_of(records.begin(), records.end(), [&](const auto& r) { return r.first == z->id; })) continue;
          auto sets = dns.record_sets(z->id);
          if (!sets) out.push_back(could_not("the records of zone " + z->name, sets.error()));
          else records.emplace_back(z->id, std::move(*sets));
        }
    }
  }
  double now = std::chrono::duration<double>(ctx.clock().wall_now().time_since_epoch()).count();
  for (auto& f : certificate_findings(*certificates, zones, records, now)) out.push_back(std::move(f));
}

Status run(Context& ctx, const DiagnoseOptions& o) {
  Output& out = ctx.out();
  RB_TRY_ASSIGN(const EnvironmentConfig* env, ctx.environment(o.env));
  std::vector<Finding> findings;
  EcsFacts facts;
  diagnose_ecs(ctx, *env, findings, facts);
  diagnose_health(*env, findings);
  diagnose_state(ctx, *env, facts.deployed_at, findings);
  // Resolved once for the checks below (an SSO or assume-role profile may call out to resolve).
  const auto setup = environment_aws(ctx.config(), *env);
  diagnose_network(ctx, *env, facts, setup, findings);
  diagnose_secrets(ctx, *env, facts, setup, findings);
  diagnose_certificates(ctx, setup, findings);
  rank_findings(findings);
  // A protected environment refuses these commands without --reason: the fixes printed carry it.
  for (auto& f : findings) f.fix = with_reason_in_commands(f.fix, env->reason_hint());

  nlohmann::json j = nlohmann::json::array();
  size_t serious = 0;
  out.line(fmt::format("Diagnosis of {} ({}): {} finding{}", env->name, ctx.config().app, findings.size(),
                       findings.size() == 1 ? "" : "s"));
  for (size_t i = 0; i < findings.size(); ++i) {
    const auto& f = findings[i];
    if (f.level == FindingLevel::Critical || f.level == FindingLevel::High) ++serious;
    out.line(fmt::format("{:>2}. [{}] {}", i + 1, finding_level_name(f.level), printable_inline(f.what)));
    if (f.scenario != "-") out.line(fmt::format("    runbook: {}", f.scenario));
    out.line(fmt::format("    fix: {}", printable_inline(f.fix)));
    j.push_back(f.to_json());
  }
  if (findings.empty())
    out.line("nothing found: the service, its tasks, the health URL, the state, the network, the secrets and the "
             "certificates look right");
  out.result({{"ok", true}, {"env", env->name}, {"findings", j}, {"serious", serious}});
  return {};
}

}  // namespace

void register_diagnose(Subcommand app, GlobalOptions& g, Action& action) {
  auto opts = std::make_shared<DiagnoseOptions>();
  Subcommand sub = app.add_subcommand("diagnose", "Symptoms to the right procedure: read-only checks ending in ranked findings");
  sub.add_option("--env,-e", opts->env, "The environment").required();
  add_global_options(sub, g);
  run_when_parsed(sub, g, action, true, [opts](Context& ctx) { return run(ctx, *opts); });
}

}  // namespace rb::cli
