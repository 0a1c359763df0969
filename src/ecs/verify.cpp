#include "ecs/verify.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "aws/credentials.hpp"
#include "aws/endpoint.hpp"
#include "aws/http.hpp"
#include "aws/logs.hpp"
#include "core/aws_env.hpp"
#include "ecs/aws_gateway.hpp"
#include "util/json.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace rb::ecs {

namespace {

// Between health probes while the first one waits for the load balancer to send traffic to the
// new tasks (as check_health does).
constexpr auto kFirstProbeRetry = std::chrono::milliseconds(2000);

Error gate_failure(const std::string& signal, const std::string& detail, std::string hint) {
  return Error{ExitCode::Failed, fmt::format("verification failed: {}: {}", signal, detail), std::move(hint),
               std::string(kTagVerifyFailed)};
}

bool is_2xx(long status) { return status >= 200 && status < 300; }

std::string seconds_text(int s) { return fmt::format("{} s", s); }

class AwsVerifyGateway final : public VerifyGateway {
 public:
  AwsVerifyGateway(aws::AwsClientConfig cloudwatch, aws::AwsClientConfig elbv2, aws::AwsClientConfig logs, Clock& clock)
      : transport_(std::make_unique<aws::CurlTransport>()),
        probe_transport_(std::make_unique<aws::CurlTransport>(kProbeConnectTimeout, kProbeRequestTimeout)),
        cloudwatch_(std::move(cloudwatch), *transport_, clock),
        elbv2_(std::move(elbv2), *transport_, clock),
        logs_(std::move(logs), *transport_, clock) {}

  Result<std::vector<aws::AlarmState>> alarms(const std::vector<std::string>& names) override {
    return aws::describe_alarms(cloudwatch_, names);
  }
  Result<std::vector<aws::TargetHealthInfo>> target_health(const std::string& arn) override {
    return aws::describe_target_health(elbv2_, arn);
  }
  Result<TargetGroupTiming> target_group_timing(const std::string& arn) override {
    RB_TRY_ASSIGN(auto group, aws::describe_target_group(elbv2_, arn));
    RB_TRY_ASSIGN(auto delay, aws::deregistration_delay_seconds(elbv2_, arn));
    return TargetGroupTiming{arn, group.health_check_interval_seconds, group.healthy_threshold, delay};
  }
  Result<long> probe(const std::string& url) override {
    RB_TRY_ASSIGN(auto r, probe_transport_->send(aws::HttpRequest{"GET", url, {}, {}}));
    return r.status;
  }
  Result<std::pair<std::vector<std::string>, bool>> log_messages(const std::string& group, std::int64_t start_ms,
                                                                 std::int64_t end_ms, const std::string& pattern) override {
    aws::LogFilter f{group, start_ms, end_ms, pattern, kMaxLogLinesRead};
    RB_TRY_ASSIGN(auto read, aws::filter_log_events(logs_, f));
    std::vector<std::string> messages;
    for (auto& e : read.first) messages.push_back(std::move(e.message));
    return std::pair{std::move(messages), read.second};
  }

 private:
  std::unique_ptr<aws::CurlTransport> transport_, probe_transport_;
  aws::AwsClient cloudwatch_, elbv2_, logs_;
};

// The short name of a target group ARN ("arn:...:targetgroup/api-blue/0123" -> "api-blue").
std::string group_name(const std::string& arn) {
  auto tg = arn.find("targetgroup/");
  if (tg == std::string::npos) return arn;
  std::string rest = arn.substr(tg + std::string_view("targetgroup/").size());
  return rest.substr(0, rest.find('/'));
}

}  // namespace

Result<std::unique_ptr<VerifyGateway>> make_aws_verify_gateway(const Config& config, const EnvironmentConfig& env,
                                                               Clock& clock) {
  RB_TRY_ASSIGN(auto aws_env, environment_aws(config, env));
  auto& credentials = aws_env.credentials;
  const std::string& region = aws_env.region;
  auto make = [&](std::string_view service_id, std::string_view signing_name) {
    aws::AwsClientConfig c;
    c.service = std::string(signing_name);
    c.region = region;
    c.endpoint = aws::endpoint_url(service_id, region, signing_name);
    c.credentials = credentials;
    c.retry = aws::default_retry_policy();
    return c;
  };
  auto cw = make(aws::kCloudWatchServiceId, aws::kCloudWatchSigningName);
  auto elb = make(aws::kElbv2ServiceId, aws::kElbv2SigningName);
  auto logs = aws::logs_config(region, credentials, aws::default_retry_policy());
  log_debug("CloudWatch endpoint {}, ELBv2 endpoint {}, CloudWatch Logs endpoint {}", cw.endpoint, elb.endpoint,
            logs.endpoint);
  return std::unique_ptr<VerifyGateway>(new AwsVerifyGateway(std::move(cw), std::move(elb), std::move(logs), clock));
}

Result<std::pair<std::vector<std::string>, bool>> VerifyGateway::log_messages(const std::string&, std::int64_t,
                                                                              std::int64_t, const std::string&) {
  return Error{ExitCode::Failed, "this verification gateway reads no CloudWatch Logs", {}, std::string(kTagUnsupportedApi)};
}

std::string awslogs_group_of(const nlohmann::json& task_definition, const std::string& container) {
  if (!task_definition.is_object()) return {};
  auto defs = task_definition.find("containerDefinitions");
  if (defs == task_definition.end() || !defs->is_array() || defs->empty()) return {};
  const nlohmann::json* chosen = nullptr;
  for (const auto& c : *defs)
    if (c.is_object() && json_string(c, "name") == container) chosen = &c;
  if (!chosen) chosen = &defs->front();
  if (!chosen->is_object()) return {};
  auto lc = chosen->find("logConfiguration");
  if (lc == chosen->end() || !lc->is_object() || json_string(*lc, "logDriver") != "awslogs") return {};
  auto opts = lc->find("options");
  if (opts == lc->end() || !opts->is_object()) return {};
  return json_string(*opts, "awslogs-group");
}

nlohmann::json GatePlan::to_json() const {
  return {{"bake_seconds", std::chrono::duration_cast<std::chrono::seconds>(bake).count()},
          {"alarms", alarms},
          {"target_groups", target_groups},
          {"new_task_ips", new_task_ips},
          {"health_url", health_url},
          {"probes", probes}};
}

GatePlan make_gate_plan(const EnvironmentConfig& env, const Service& service,
                        std::chrono::milliseconds first_health_budget) {
  GatePlan plan;
  plan.bake = env.bake();
  for (const auto* list : {&service.alarm_names, &env.verify.alarms})
    for (const auto& a : *list)
      if (std::find(plan.alarms.begin(), plan.alarms.end(), a) == plan.alarms.end()) plan.alarms.push_back(a);
  plan.target_groups = service.target_groups;
  plan.health_url = env.verify_health_url();
  plan.probes = plan.bake.count() > 0 ? std::max(1, env.verify.probes) : 1;
  plan.first_health_budget = first_health_budget;
  return plan;
}

std::vector<std::string> gate_api_calls(const GatePlan& plan) {
  std::vector<std::string> out;
  const std::string rounds = plan.probes == 1 ? "once, when ECS is done"
                                              : fmt::format("{} times over {}", plan.probes, format_duration(plan.bake));
  if (!plan.alarms.empty())
    out.push_back(fmt::format("aws cloudwatch describe-alarms --alarm-names {}  ({}: none may be in ALARM)",
                              join(plan.alarms, " "), rounds));
  for (const auto& tg : plan.target_groups)
    out.push_back(fmt::format("aws elbv2 describe-target-health --target-group-arn {}  ({}: the new tasks healthy)", tg,
                              rounds));
  if (!plan.health_url.empty()) out.push_back(fmt::format("GET health_url  ({}: 2xx every time)", rounds));
  return out;
}

std::set<std::string> task_ips_of(const std::vector<StoppedTask>& tasks, const std::string& target_task_definition) {
  std::set<std::string> out;
  auto target = parse_task_def(target_task_definition);
  if (!target) return out;
  for (const auto& t : tasks) {
    auto ref = parse_task_def(t.task_definition);
    if (ref && ref->family == target->family && ref->revision == target->revision && !t.private_ip.empty())
      out.insert(t.private_ip);
  }
  return out;
}

nlohmann::json GateReport::to_json() const {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& r : results) out.push_back({{"signal", r.signal}, {"ok", r.ok}, {"detail", r.detail}});
  return out;
}

Status run_gate(VerifyGateway& gw, Clock& clock, const GatePlan& plan, const GateEmit& emit, GateReport* report) {
  GateReport local;
  GateReport& rep = report ? *report : local;
  auto record = [&](const std::string& signal, bool ok, const std::string& detail) {
    rep.results.push_back({signal, ok, detail});
    emit(fmt::format("verify: {}: {}", signal, detail));
  };
  const int rounds = std::max(1, plan.probes);
  const auto start = clock.now();
  if (plan.alarms.empty() && plan.target_groups.empty() && plan.health_url.empty()) {
    record("gate", true, "nothing to check (no alarms, no load balancer, no health_url)");
  } else {
    emit(fmt::format("verify: {} round{} of checks over {} ({} alarm{}, {} target group{}{})", rounds,
                     rounds == 1 ? "" : "s", format_duration(plan.bake), plan.alarms.size(),
                     plan.alarms.size() == 1 ? "" : "s", plan.target_groups.size(),
                     plan.target_groups.size() == 1 ? "" : "s", plan.health_url.empty() ? "" : ", " + plan.health_url));
  }
  for (int round = 1; round <= rounds; ++round) {
    if (round > 1) {
      // Round i (1-based) is due at (i-1)/(rounds-1) of the window.
      auto due = start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(plan.bake * (round - 1) / (rounds - 1));
      auto now = clock.now();
      if (due > now && !clock.sleep_for(std::chrono::duration_cast<std::chrono::milliseconds>(due - now)))
        return interrupted_error("interrupted during the verification bake window (the rollback itself is done)");
    }
    const bool last = round == rounds;
    const std::string when = rounds == 1 ? "" : fmt::format(" ({}/{})", round, rounds);

    if (!plan.alarms.empty()) {
      auto read = gw.alarms(plan.alarms);
      if (!read) {
        record("alarms", false, "could not read: " + read.error().message);
        return gate_failure("alarms", "CloudWatch DescribeAlarms failed: " + read.error().message, read.error().hint);
      }
      std::map<std::string, const aws::AlarmState*> by_name;
      for (const auto& a : *read) by_name[a.name] = &a;
      for (const auto& name : plan.alarms) {
        auto it = by_name.find(name);
        if (it == by_name.end()) {
          record("alarm " + name, false, "CloudWatch has no such alarm" + when);
          return gate_failure("alarm " + name, "CloudWatch has no alarm of that name",
                              "fix the name in the service's deployment alarms or in verify.alarms of rollback.yaml");
        }
        if (it->second->state == "ALARM") {
          record("alarm " + name, false, "ALARM: " + it->second->reason + when);
          return gate_failure("alarm " + name, "in ALARM: " + it->second->reason,
                              "the revision rolled back to may be bad too: check the alarm's metric, the service's "
                              "logs, and `rollback status`");
        }
      }
      std::vector<std::string> states;
      for (const auto& name : plan.alarms) states.push_back(name + " " + by_name[name]->state);
      record("alarms", true, join(states, ", ") + when);
    }

    for (const auto& tg : plan.target_groups) {
      const std::string signal = "target group " + group_name(tg);
      auto read = gw.target_health(tg);
      if (!read) {
        record(signal, false, "could not read: " + read.error().message);
        return gate_failure(signal, "ELBv2 DescribeTargetHealth failed: " + read.error().message, read.error().hint);
      }
      std::map<std::string, int> count;
      std::set<std::string> new_healthy;
      for (const auto& t : *read) {
        ++count[t.state];
        const bool is_new = plan.new_task_ips.count(t.id) > 0;
        if (is_new && t.state == "healthy") new_healthy.insert(t.id);
        if (is_new && (t.state == "draining" || t.state == "unused")) {
          std::string what = fmt::format("target {}:{} of a task of the target revision is {}{}", t.id, t.port, t.state,
                                         t.reason.empty() ? "" : " (" + t.reason + ")");
          record(signal, false, what + when);
          return gate_failure(signal, what,
                              "ECS or the load balancer is taking the new tasks out of service: check the service's "
                              "events (`rollback status`) and the target group's health check");
        }
        if (t.state == "unhealthy" || t.state == "unhealthy.draining" || t.state == "unavailable") {
          std::string what = fmt::format("target {}:{} is {}{}{}", t.id, t.port, t.state,
                                         t.reason.empty() ? "" : " (" + t.reason + ")",
                                         t.description.empty() ? "" : ": " + t.description);
          record(signal, false, what + when);
          return gate_failure(signal, what,
                              "the load balancer does not see the tasks as healthy: check the target group's health "
                              "check and the service's logs");
        }
      }
      std::vector<std::string> parts;
      for (const auto& [state, n] : count) parts.push_back(fmt::format("{} {}", n, state));
      std::string summary = parts.empty() ? "no targets" : join(parts, ", ");
      if (last && (count["healthy"] == 0 || count["initial"] > 0)) {
        std::string what = count["healthy"] == 0 ? "no healthy target (" + summary + ")"
                                                 : "targets still in initial health checks at the end (" + summary + ")";
        record(signal, false, what + when);
        return gate_failure(signal, what,
                            "the load balancer has not seen the tasks healthy within the bake window: check the target "
                            "group, or give verify.bake more time");
      }
      if (!plan.new_task_ips.empty()) {
        std::vector<std::string> missing;
        for (const auto& ip : plan.new_task_ips)
          if (!new_healthy.count(ip)) missing.push_back(ip);
        if (last && !missing.empty()) {
          std::string what = fmt::format("task{} {} of the target revision {} not a healthy target ({})",
                                         missing.size() == 1 ? "" : "s", join(missing, ", "),
                                         missing.size() == 1 ? "is" : "are", summary);
          record(signal, false, what + when);
          return gate_failure(signal, what,
                              "the load balancer does not send traffic to the new tasks: check the target group's "
                              "registrations and health check, or give verify.bake more time");
        }
        summary += fmt::format("; {}/{} new tasks healthy", new_healthy.size(), plan.new_task_ips.size());
      }
      record(signal, true, summary + when);
    }

    if (!plan.health_url.empty()) {
      const auto probe_start = clock.now();
      std::string last_answer;
      for (int attempt = 1;; ++attempt) {
        auto status = gw.probe(plan.health_url);
        if (status && is_2xx(*status)) {
          record("health check", true, fmt::format("{} answered HTTP {}{}", plan.health_url, *status, when));
          break;
        }
        last_answer = status ? fmt::format("HTTP {}", *status) : status.error().message;
        bool may_retry = round == 1 && clock.now() - probe_start < plan.first_health_budget;
        if (!may_retry) {
          record("health check", false, fmt::format("{} answered {}{}", plan.health_url, last_answer, when));
          return gate_failure("health check", fmt::format("{} answered {}", plan.health_url, last_answer),
                              "the target revision may be bad too: check the service's logs, and `rollback status`");
        }
        if (attempt == 1)
          emit(fmt::format("verify: health check: {} answered {}; trying again for up to {}", plan.health_url, last_answer,
                           format_duration(plan.first_health_budget)));
        if (!clock.sleep_for(kFirstProbeRetry))
          return interrupted_error("interrupted during the health check (the rollback itself is done)");
      }
    }
  }
  return {};
}

// ---- the estimate ----

nlohmann::json DurationEstimate::to_json() const {
  return {{"seconds", total.count()}, {"batches", batches}, {"parts", parts}, {"text", text}};
}

DurationEstimate estimate_duration(const EstimateInput& in) {
  DurationEstimate e;
  const int desired = std::max(0, in.desired);
  const int max_pct = in.maximum_percent >= 0 ? in.maximum_percent : kEcsDefaultMaximumPercent;
  const int min_pct = in.minimum_healthy_percent >= 0 ? in.minimum_healthy_percent : kEcsDefaultMinimumHealthyPercent;
  const bool staged = in.strategy == "BLUE_GREEN" || in.strategy == "LINEAR" || in.strategy == "CANARY";
  if (desired == 0) e.batches = 0;
  else if (staged) e.batches = 1;
  else {
    // ECS may run floor(desired × max%) tasks and must keep ceil(desired × min%) healthy: the
    // difference is how many it replaces at once (at least one, as ECS does).
    long long most = static_cast<long long>(desired) * max_pct / 100;
    long long least = (static_cast<long long>(desired) * min_pct + 99) / 100;
    long long batch = std::max(1LL, most - least);
    e.batches = static_cast<int>((desired + batch - 1) / batch);
  }
  int checks = 0, interval = 0, draining = 0;
  for (const auto& tg : in.target_groups) {
    int i = tg.health_check_interval_seconds > 0 ? tg.health_check_interval_seconds : kElbDefaultHealthCheckIntervalSeconds;
    int t = tg.healthy_threshold > 0 ? tg.healthy_threshold : kElbDefaultHealthyThreshold;
    if (i * t > checks * interval) checks = t, interval = i;
    draining = std::max(draining, tg.deregistration_delay_seconds.value_or(kElbDefaultDeregistrationDelaySeconds));
  }
  const int stop = in.stop_timeout_seconds > 0 ? in.stop_timeout_seconds : kEcsDefaultStopTimeoutSeconds;
  long long total = 0;
  if (e.batches > 0) {
    int per_batch = kTaskStartSeconds + checks * interval;
    std::string inner = seconds_text(kTaskStartSeconds) + " task start";
    if (checks > 0) inner += fmt::format(" + {} × {} s health checks", checks, interval);
    e.parts.push_back(e.batches == 1 ? fmt::format("1 batch × ({})", inner)
                                     : fmt::format("{} batches × ({})", e.batches, inner));
    total += static_cast<long long>(e.batches) * per_batch;
    if (draining > 0) {
      e.parts.push_back(seconds_text(draining) + " draining");
      total += draining;
    }
    e.parts.push_back(seconds_text(stop) + " stop timeout");
    total += stop;
  }
  if (staged && in.service_bake_minutes > 0) {
    e.parts.push_back(fmt::format("{} min {} bake time", in.service_bake_minutes, in.strategy));
    total += in.service_bake_minutes * 60LL;
  }
  if (in.gate_bake.count() > 0) {
    e.parts.push_back(fmt::format("{} verification bake", format_duration(in.gate_bake)));
    total += in.gate_bake.count();
  }
  e.total = std::chrono::seconds(total);
  // Minutes once it is over a minute and a half, rounded up: an estimate, not a promise.
  constexpr long long kMinutesFrom = 90;
  std::string about = total >= kMinutesFrom ? fmt::format("about {} min", (total + 59) / 60)
                                            : fmt::format("about {} s", total);
  e.text = e.parts.empty() ? about : about + ": " + join(e.parts, " + ");
  return e;
}

EstimateInput estimate_input(const Service& service, const TaskDefinition& target,
                             const std::vector<TargetGroupTiming>& target_groups, std::chrono::milliseconds gate_bake) {
  EstimateInput in;
  in.desired = service.desired;
  in.maximum_percent = service.maximum_percent;
  in.minimum_healthy_percent = service.minimum_healthy_percent;
  in.strategy = service.strategy;
  in.service_bake_minutes = service.bake_time_minutes;
  in.target_groups = target_groups;
  in.stop_timeout_seconds = target.max_stop_timeout;
  in.gate_bake = std::chrono::duration_cast<std::chrono::seconds>(gate_bake);
  return in;
}

}  // namespace rb::ecs
