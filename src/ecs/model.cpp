#include "ecs/model.hpp"

#include <algorithm>
#include <cstring>
#include <ctime>
#include <fmt/format.h>

namespace rb::ecs {

std::string TaskDefRef::label() const { return fmt::format("{}:{}", family, revision); }

std::optional<TaskDefRef> parse_task_def(std::string_view text) {
  std::string_view s = text;
  std::string arn;
  if (s.rfind("arn:", 0) == 0) {
    auto slash = s.find("task-definition/");
    if (slash == std::string_view::npos) return std::nullopt;
    arn = std::string(text);
    s = s.substr(slash + std::string_view("task-definition/").size());
  }
  auto colon = s.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 >= s.size()) return std::nullopt;
  int rev = 0;
  for (char c : s.substr(colon + 1)) {
    if (c < '0' || c > '9') return std::nullopt;
    rev = rev * 10 + (c - '0');
    if (rev > kMaxTaskDefinitionRevision) return std::nullopt;
  }
  if (rev <= 0) return std::nullopt;
  return TaskDefRef{std::string(s.substr(0, colon)), rev, arn};
}

double parse_timestamp(const nlohmann::json& j) {
  if (j.is_number()) return j.get<double>();
  if (!j.is_string()) return 0;
  std::string s = j.get<std::string>();
  std::tm tm{};
  const char* rest = strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (!rest) return 0;
  double frac = 0;
  if (*rest == '.') {
    char* end = nullptr;
    frac = std::strtod(rest, &end);
    rest = end;
  }
  double t = static_cast<double>(timegm(&tm)) + frac;
  // Offsets like +05:00 (Z and none mean UTC).
  if (rest && (*rest == '+' || *rest == '-') && std::strlen(rest) >= 6) {
    int sign = *rest == '-' ? -1 : 1;
    int hh = std::atoi(std::string(rest + 1, 2).c_str()), mm = std::atoi(std::string(rest + 4, 2).c_str());
    t -= sign * (hh * 3600 + mm * 60);
  }
  return t;
}

const Deployment* Service::primary() const {
  for (const auto& d : deployments)
    if (d.status == "PRIMARY") return &d;
  return nullptr;
}

std::string Service::current_task_definition() const {
  if (const Deployment* p = primary()) return p->task_definition;
  return task_definition;
}

std::string TaskDefinition::image_of(const std::string& container) const {
  for (const auto& c : images)
    if (c.container == container) return c.image;
  return images.empty() ? std::string() : images.front().image;
}

std::string StoppedTask::describe() const {
  std::string out = fmt::format("task {}", short_task_id(arn));
  if (!stop_code.empty()) out += ": " + stop_code;
  if (!stopped_reason.empty()) out += ": " + stopped_reason;
  std::vector<std::string> parts;
  for (const auto& c : containers) {
    std::string p = c.name;
    if (c.exit_code) p += fmt::format(" exit {}", *c.exit_code);
    if (!c.reason.empty()) p += " (" + c.reason + ")";
    parts.push_back(p);
  }
  if (!parts.empty()) {
    out += " [";
    for (size_t i = 0; i < parts.size(); ++i) out += (i ? "; " : "") + parts[i];
    out += "]";
  }
  return out;
}

namespace {

int get_int(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<int>() : 0;
}

std::string get_str(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::vector<std::string> get_strings(const nlohmann::json& j, const char* key) {
  std::vector<std::string> out;
  if (auto it = j.find(key); it != j.end() && it->is_array())
    for (const auto& v : *it)
      if (v.is_string()) out.push_back(v.get<std::string>());
  return out;
}

double get_time(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it == j.end() ? 0 : parse_timestamp(*it);
}

}  // namespace

bool ServiceDeploymentInfo::in_flight() const { return status == "PENDING" || status == "IN_PROGRESS"; }

bool ServiceDeploymentInfo::rolled_back() const { return status.rfind("ROLLBACK_", 0) == 0; }

const LifecycleHook* ServiceDeploymentInfo::awaiting_hook() const {
  for (const auto& h : hooks)
    if (h.status == "AWAITING_ACTION") return &h;
  return nullptr;
}

std::string ServiceDeploymentInfo::failure_words() const {
  std::vector<std::string> parts;
  if (circuit_breaker_status == "TRIGGERED") parts.push_back("circuit breaker rolled it back");
  if (!triggered_alarms.empty()) {
    std::string names;
    for (const auto& a : triggered_alarms) names += (names.empty() ? "" : ", ") + a;
    parts.push_back(fmt::format("alarm{} {} went into ALARM", triggered_alarms.size() > 1 ? "s" : "", names));
  }
  if (parts.empty() && rolled_back())
    parts.push_back(rollback_reason.empty() ? "ECS rolled it back" : "rolled back: " + rollback_reason);
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : "; ") + p;
  if (status == "ROLLBACK_FAILED") out += " (and the rollback failed)";
  return out;
}

Result<ServiceDeploymentInfo> parse_service_deployment(const nlohmann::json& j) {
  if (!j.is_object()) return failure("unexpected DescribeServiceDeployments response: a deployment is not an object");
  ServiceDeploymentInfo d;
  d.arn = get_str(j, "serviceDeploymentArn");
  d.status = get_str(j, "status");
  d.status_reason = get_str(j, "statusReason");
  d.lifecycle_stage = get_str(j, "lifecycleStage");
  d.created_at = get_time(j, "createdAt");
  d.started_at = get_time(j, "startedAt");
  d.finished_at = get_time(j, "finishedAt");
  if (d.arn.empty() || d.status.empty())
    return failure("unexpected DescribeServiceDeployments response: a deployment without serviceDeploymentArn or status");
  if (auto t = j.find("targetServiceRevision"); t != j.end() && t->is_object()) d.target_revision_arn = get_str(*t, "arn");
  if (auto ss = j.find("sourceServiceRevisions"); ss != j.end() && ss->is_array())
    for (const auto& src : *ss)
      if (src.is_object() && !get_str(src, "arn").empty()) d.source_revision_arns.push_back(get_str(src, "arn"));
  if (auto rb = j.find("rollback"); rb != j.end() && rb->is_object()) {
    d.rollback_reason = get_str(*rb, "reason");
    d.rollback_revision_arn = get_str(*rb, "serviceRevisionArn");
  }
  if (auto cb = j.find("deploymentCircuitBreaker"); cb != j.end() && cb->is_object()) {
    d.circuit_breaker_status = get_str(*cb, "status");
    d.failure_count = get_int(*cb, "failureCount");
  }
  if (auto al = j.find("alarms"); al != j.end() && al->is_object()) d.triggered_alarms = get_strings(*al, "triggeredAlarmNames");
  if (auto hs = j.find("lifecycleHookDetails"); hs != j.end() && hs->is_array())
    for (const auto& h : *hs)
      if (h.is_object()) d.hooks.push_back({get_str(h, "hookId"), get_str(h, "targetType"), get_str(h, "status")});
  return d;
}

Result<Service> parse_service(const nlohmann::json& j) {
  if (!j.is_object()) return failure("unexpected DescribeServices response: a service is not an object");
  Service s;
  s.name = get_str(j, "serviceName");
  s.arn = get_str(j, "serviceArn");
  s.cluster = get_str(j, "clusterArn");
  s.status = get_str(j, "status");
  s.task_definition = get_str(j, "taskDefinition");
  s.desired = get_int(j, "desiredCount");
  s.running = get_int(j, "runningCount");
  s.pending = get_int(j, "pendingCount");
  s.launch_type = get_str(j, "launchType");
  if (auto it = j.find("networkConfiguration"); it != j.end()) s.network_configuration = *it;
  if (auto ctl = j.find("deploymentController"); ctl != j.end() && ctl->is_object()) {
    std::string type = get_str(*ctl, "type");
    if (!type.empty()) s.deployment_controller = type;
  }
  if (auto dc = j.find("deploymentConfiguration"); dc != j.end() && dc->is_object()) {
    s.strategy = get_str(*dc, "strategy");
    s.bake_time_minutes = get_int(*dc, "bakeTimeInMinutes");
    if (auto it = dc->find("maximumPercent"); it != dc->end() && it->is_number()) s.maximum_percent = get_int(*dc, "maximumPercent");
    if (auto it = dc->find("minimumHealthyPercent"); it != dc->end() && it->is_number())
      s.minimum_healthy_percent = get_int(*dc, "minimumHealthyPercent");
    if (auto al = dc->find("alarms"); al != dc->end() && al->is_object())
      s.alarm_names = get_strings(*al, "alarmNames");
    if (auto cb = dc->find("deploymentCircuitBreaker"); cb != dc->end() && cb->is_object()) {
      auto flag = [&](const char* key) { auto f = cb->find(key); return f != cb->end() && f->is_boolean() && f->get<bool>(); };
      s.circuit_breaker = flag("enable");
      s.circuit_breaker_rollback = flag("rollback");
    }
  }
  if (auto lbs = j.find("loadBalancers"); lbs != j.end() && lbs->is_array())
    for (const auto& lb : *lbs)
      if (std::string tg = get_str(lb, "targetGroupArn");
          !tg.empty() && std::find(s.target_groups.begin(), s.target_groups.end(), tg) == s.target_groups.end())
        s.target_groups.push_back(std::move(tg));
  if (auto ds = j.find("deployments"); ds != j.end() && ds->is_array()) {
    for (const auto& d : *ds) {
      Deployment dep;
      dep.id = get_str(d, "id");
      dep.status = get_str(d, "status");
      dep.task_definition = get_str(d, "taskDefinition");
      dep.desired = get_int(d, "desiredCount");
      dep.pending = get_int(d, "pendingCount");
      dep.running = get_int(d, "runningCount");
      dep.failed_tasks = get_int(d, "failedTasks");
      dep.rollout_state = get_str(d, "rolloutState");
      dep.rollout_state_reason = get_str(d, "rolloutStateReason");
      if (d.contains("createdAt")) dep.created_at = parse_timestamp(d["createdAt"]);
      if (d.contains("updatedAt")) dep.updated_at = parse_timestamp(d["updatedAt"]);
      s.deployments.push_back(std::move(dep));
    }
  }
  if (auto es = j.find("events"); es != j.end() && es->is_array()) {
    for (const auto& e : *es) {
      ServiceEvent ev;
      ev.id = get_str(e, "id");
      ev.message = get_str(e, "message");
      if (e.contains("createdAt")) ev.created_at = parse_timestamp(e["createdAt"]);
      s.events.push_back(std::move(ev));
    }
  }
  return s;
}

Result<TaskDefinition> parse_task_definition(const nlohmann::json& j) {
  const nlohmann::json& td = j.contains("taskDefinition") ? j["taskDefinition"] : j;
  if (!td.is_object()) return failure("unexpected DescribeTaskDefinition response: no taskDefinition object");
  TaskDefinition out;
  out.ref.arn = get_str(td, "taskDefinitionArn");
  out.ref.family = get_str(td, "family");
  out.ref.revision = get_int(td, "revision");
  out.status = get_str(td, "status");
  if (auto cds = td.find("containerDefinitions"); cds != td.end() && cds->is_array())
    for (const auto& c : *cds) {
      out.images.push_back({get_str(c, "name"), get_str(c, "image")});
      out.max_stop_timeout = std::max(out.max_stop_timeout, get_int(c, "stopTimeout"));
    }
  return out;
}

StoppedTask parse_task(const nlohmann::json& j) {
  StoppedTask t;
  t.arn = get_str(j, "taskArn");
  t.task_definition = get_str(j, "taskDefinitionArn");
  t.stop_code = get_str(j, "stopCode");
  t.stopped_reason = get_str(j, "stoppedReason");
  t.started_by = get_str(j, "startedBy");
  t.last_status = get_str(j, "lastStatus");
  if (auto as = j.find("attachments"); as != j.end() && as->is_array())
    for (const auto& a : *as)
      if (auto ds = a.find("details"); ds != a.end() && ds->is_array())
        for (const auto& d : *ds)
          if (get_str(d, "name") == "privateIPv4Address" && t.private_ip.empty()) t.private_ip = get_str(d, "value");
  if (auto cs = j.find("containers"); cs != j.end() && cs->is_array()) {
    for (const auto& c : *cs) {
      StoppedContainer sc;
      sc.name = get_str(c, "name");
      sc.reason = get_str(c, "reason");
      if (auto ec = c.find("exitCode"); ec != c.end() && ec->is_number()) sc.exit_code = ec->get<int>();
      t.containers.push_back(std::move(sc));
    }
  }
  return t;
}

std::string short_task_id(std::string_view arn) {
  auto slash = arn.rfind('/');
  return std::string(slash == std::string_view::npos ? arn : arn.substr(slash + 1));
}

std::string image_tag(std::string_view image) {
  if (auto at = image.find('@'); at != std::string_view::npos) return std::string(image.substr(at + 1));
  auto slash = image.rfind('/');
  auto colon = image.rfind(':');
  if (colon == std::string_view::npos || (slash != std::string_view::npos && colon < slash)) return "latest";
  return std::string(image.substr(colon + 1));
}

}  // namespace rb::ecs
