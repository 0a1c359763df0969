// rollback diagnose: read-only checks of the runbook's common scenarios that end in a ranked list
// of findings, each naming the scenario and the command that fixes it.
#include <map>

#include <fmt/format.h>

#include "aws/acm.hpp"
#include "aws/credentials.hpp"
#include "aws/http.hpp"
#include "aws/route53.hpp"
#include "cli/command.hpp"
#include "core/diagnose.hpp"
#include "ecs/aws_gateway.hpp"
#include "ecs/model.hpp"
#include "infra/aws_storage.hpp"
#include "util/strings.hpp"
#include "util/utf8.hpp"

namespace rb::cli {

namespace {

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

void diagnose_ecs(Context& ctx, const EnvironmentConfig& env, std::vector<Finding>& out, double& deployed_at) {
  auto gateway = ecs::make_aws_gateway(ctx.config(), env, ctx.clock());
  if (!gateway) return out.push_back(could_not("the ECS service", gateway.error()));
  auto svc = (*gateway)->describe_service(env.cluster, env.service);
  if (!svc) return out.push_back(could_not("the ECS service", svc.error()));
  deployed_at = primary_created_at(*svc);
  for (const auto& d : svc->deployments) {
    auto ref = ecs::parse_task_def(d.task_definition);
    std::string label = ref ? ref->label() : d.task_definition;
    if (d.rollout_state == "FAILED")
      out.push_back({FindingLevel::Critical, "Scenario 1: Bad Code Deploy",
                     fmt::format("deployment {} of {} FAILED: {}", d.id, label, d.rollout_state_reason),
                     fmt::format("`rollback ecs --env {}`", env.name)});
    auto stopped = (*gateway)->stopped_tasks(env.cluster, env.service, d.id);
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
                 fmt::format("`rollback ecs --env {}` for immediate relief, then `rollback app --env {}`", env.name, env.name)});
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
                             "`rollback infra --env {} --pr N`",
                             env.name, env.name)});
}

void diagnose_certificates(Context& ctx, const EnvironmentConfig& env, std::vector<Finding>& out) {
  auto credentials = aws::resolve_credentials(env.aws_profile);
  if (!credentials) return out.push_back(could_not("the certificates", credentials.error()));
  auto region = aws::resolve_region(env.aws_profile, env.region.empty() ? ctx.config().region : env.region);
  if (!region) return out.push_back(could_not("the certificates", region.error()));
  aws::CurlTransport acm_transport, dns_transport;
  aws::AcmClient acm(aws::AwsClient(aws::AwsClientConfig::for_service("acm", *region, *credentials), acm_transport, ctx.clock()));
  auto certificates = acm.certificates();
  if (!certificates) return out.push_back(could_not("the ACM certificates", certificates.error()));
  bool pending = false;
  for (const auto& c : *certificates) pending = pending || c.status == "PENDING_VALIDATION";
  std::vector<aws::HostedZone> zones;
  std::vector<std::pair<std::string, std::vector<aws::RecordSet>>> records;
  if (pending) {
    aws::Route53Client dns(aws::AwsClient(aws::route53_config(*credentials), dns_transport, ctx.clock()));
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
  double deployed_at = 0;
  diagnose_ecs(ctx, *env, findings, deployed_at);
  diagnose_health(*env, findings);
  diagnose_state(ctx, *env, deployed_at, findings);
  diagnose_certificates(ctx, *env, findings);
  rank_findings(findings);

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
  if (findings.empty()) out.line("nothing found: the service, its tasks, the health URL, the state and the certificates look right");
  out.result({{"ok", true}, {"env", env->name}, {"findings", j}, {"serious", serious}});
  return {};
}

}  // namespace

void register_diagnose(CLI::App& app, GlobalOptions& g, Action& action) {
  auto opts = std::make_shared<DiagnoseOptions>();
  CLI::App* sub = app.add_subcommand("diagnose", "Symptoms to the right procedure: read-only checks ending in ranked findings");
  sub->add_option("--env,-e", opts->env, "The environment")->required();
  add_global_options(*sub, g);
  run_when_parsed(*sub, g, action, true, [opts](Context& ctx) { return run(ctx, *opts); });
}

}  // namespace rb::cli
