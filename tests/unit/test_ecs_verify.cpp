// The verification gate (fed by a fake VerifyGateway and a fake clock), the duration estimate,
// and the CloudWatch / ELBv2 XML replies it reads.
#include <gtest/gtest.h>

#include <map>

#include "aws/cloudwatch.hpp"
#include "aws/elbv2.hpp"
#include "core/config.hpp"
#include "ecs/verify.hpp"
#include "../support/fake_clock.hpp"

using namespace rb;
using namespace rb::ecs;
using namespace std::chrono_literals;

namespace {

const std::string kTg = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/api-blue/0123456789abcdef";

// Answers from scripted states; each call of a signal takes the next scripted answer (the
// last one repeats).
class FakeVerify : public VerifyGateway {
 public:
  std::vector<std::vector<aws::AlarmState>> alarm_rounds;
  std::vector<std::vector<aws::TargetHealthInfo>> target_rounds;
  std::vector<long> probe_answers{200};
  std::vector<std::string> calls;

  Result<std::vector<aws::AlarmState>> alarms(const std::vector<std::string>& names) override {
    calls.push_back("alarms");
    (void)names;
    return next(alarm_rounds, alarm_i_);
  }
  Result<std::vector<aws::TargetHealthInfo>> target_health(const std::string& arn) override {
    calls.push_back("targets " + arn);
    return next(target_rounds, target_i_);
  }
  Result<TargetGroupTiming> target_group_timing(const std::string& arn) override {
    return TargetGroupTiming{arn, 10, 3, 20};
  }
  Result<long> probe(const std::string& url) override {
    calls.push_back("probe " + url);
    return next(probe_answers, probe_i_);
  }

 private:
  template <class T>
  static T next(const std::vector<T>& v, size_t& i) {
    if (v.empty()) return T{};
    return v[std::min(i++, v.size() - 1)];
  }
  size_t alarm_i_ = 0, target_i_ = 0, probe_i_ = 0;
};

aws::AlarmState alarm(const std::string& name, const std::string& state, const std::string& reason = "ok") {
  return {name, state, reason, "", false};
}
aws::TargetHealthInfo target(const std::string& ip, const std::string& state, const std::string& reason = "") {
  return {ip, 8080, state, reason, ""};
}

GatePlan plan_of(std::chrono::milliseconds bake, int probes) {
  GatePlan p;
  p.bake = bake;
  p.probes = probes;
  p.alarms = {"api-5xx"};
  p.target_groups = {kTg};
  p.health_url = "https://api.example.com/health";
  p.first_health_budget = 10s;
  return p;
}

}  // namespace

TEST(EcsVerify, PassesWhenEverySignalIsGoodInEveryRoundSpreadOverTheBake) {
  FakeVerify gw;
  gw.alarm_rounds = {{alarm("api-5xx", "OK")}};
  gw.target_rounds = {{target("10.0.0.1", "healthy"), target("10.0.0.2", "draining")}};
  rb::testing::FakeClock clock;
  std::vector<std::string> lines;
  GateReport report;
  auto st = run_gate(gw, clock, plan_of(60s, 3), [&](const std::string& l) { lines.push_back(l); }, &report);
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(report.results.size(), 9u);  // 3 rounds × (alarms, target group, health)
  // Rounds at 0, 30 and 60 s.
  EXPECT_EQ(clock.sleeps, (std::vector<std::chrono::milliseconds>{30s, 30s}));
  EXPECT_EQ(std::count(gw.calls.begin(), gw.calls.end(), "alarms"), 3);
  bool saw = false;
  for (const auto& l : lines) saw = saw || l == "verify: target group api-blue: 1 draining, 1 healthy (3/3)";
  EXPECT_TRUE(saw);
}

TEST(EcsVerify, AnAlarmGoingToAlarmDuringTheBakeFailsNamingItAndItsReason) {
  FakeVerify gw;
  gw.alarm_rounds = {{alarm("api-5xx", "OK")},
                     {alarm("api-5xx", "ALARM", "Threshold Crossed: 3 datapoints were greater than 5")}};
  gw.target_rounds = {{target("10.0.0.1", "healthy")}};
  rb::testing::FakeClock clock;
  GateReport report;
  auto st = run_gate(gw, clock, plan_of(60s, 3), [](const std::string&) {}, &report);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ExitCode::Failed);
  EXPECT_EQ(st.error().tag, kTagVerifyFailed);
  EXPECT_NE(st.error().message.find("alarm api-5xx"), std::string::npos) << st.error().message;
  EXPECT_NE(st.error().message.find("Threshold Crossed"), std::string::npos);
  ASSERT_FALSE(report.results.empty());
  EXPECT_FALSE(report.results.back().ok);
  EXPECT_EQ(report.results.back().signal, "alarm api-5xx");
}

TEST(EcsVerify, AnAlarmCloudWatchDoesNotKnowFails) {
  FakeVerify gw;
  gw.alarm_rounds = {{}};
  rb::testing::FakeClock clock;
  GatePlan p = plan_of(0s, 1);
  p.target_groups.clear();
  auto st = run_gate(gw, clock, p, [](const std::string&) {});
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("no alarm of that name"), std::string::npos);
}

TEST(EcsVerify, AnUnhealthyTargetFailsNamingTheTargetGroupAndReason) {
  FakeVerify gw;
  gw.alarm_rounds = {{alarm("api-5xx", "OK")}};
  gw.target_rounds = {{target("10.0.0.1", "healthy"), target("10.0.0.2", "unhealthy", "Target.FailedHealthChecks")}};
  rb::testing::FakeClock clock;
  auto st = run_gate(gw, clock, plan_of(0s, 1), [](const std::string&) {});
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("target group api-blue"), std::string::npos) << st.error().message;
  EXPECT_NE(st.error().message.find("10.0.0.2:8080 is unhealthy (Target.FailedHealthChecks)"), std::string::npos);
}

TEST(EcsVerify, TargetsStillInInitialChecksAtTheEndFailButNotBefore) {
  FakeVerify gw;
  gw.alarm_rounds = {{alarm("api-5xx", "OK")}};
  gw.target_rounds = {{target("10.0.0.1", "initial")}, {target("10.0.0.1", "healthy")}};
  rb::testing::FakeClock clock;
  EXPECT_TRUE(run_gate(gw, clock, plan_of(10s, 2), [](const std::string&) {}).ok());

  FakeVerify stuck;
  stuck.alarm_rounds = {{alarm("api-5xx", "OK")}};
  stuck.target_rounds = {{target("10.0.0.1", "initial")}};
  auto st = run_gate(stuck, clock, plan_of(10s, 2), [](const std::string&) {});
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("initial"), std::string::npos);
}

TEST(EcsVerify, HealthUrlMustAnswer2xxOnEveryProbeNotOnce) {
  FakeVerify gw;
  gw.alarm_rounds = {{alarm("api-5xx", "OK")}};
  gw.target_rounds = {{target("10.0.0.1", "healthy")}};
  gw.probe_answers = {200, 200, 503};
  rb::testing::FakeClock clock;
  auto st = run_gate(gw, clock, plan_of(60s, 3), [](const std::string&) {});
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("verification failed: health"), std::string::npos) << st.error().message;
  EXPECT_NE(st.error().message.find("HTTP 503"), std::string::npos);
}

TEST(EcsVerify, TheFirstProbeWaitsForTheLoadBalancerWithinItsBudget) {
  FakeVerify gw;
  gw.alarm_rounds = {{alarm("api-5xx", "OK")}};
  gw.target_rounds = {{target("10.0.0.1", "healthy")}};
  gw.probe_answers = {502, 502, 200};
  rb::testing::FakeClock clock;
  EXPECT_TRUE(run_gate(gw, clock, plan_of(0s, 1), [](const std::string&) {}).ok());

  FakeVerify never;
  never.probe_answers = {502};
  GatePlan p = plan_of(0s, 1);
  p.alarms.clear();
  p.target_groups.clear();
  auto st = run_gate(never, clock, p, [](const std::string&) {});
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("HTTP 502"), std::string::npos);
}

TEST(EcsVerify, GatePlanJoinsServiceAndConfiguredAlarmsAndDefaultsTheBake) {
  EnvironmentConfig env;
  env.is_protected = true;
  env.health_url = "https://h/health";
  env.verify.alarms = {"api-latency", "api-5xx"};
  Service svc;
  svc.alarm_names = {"api-5xx"};
  svc.target_groups = {kTg};
  auto p = make_gate_plan(env, svc, 30s);
  EXPECT_EQ(p.bake, kDefaultProtectedBake);
  EXPECT_EQ(p.alarms, (std::vector<std::string>{"api-5xx", "api-latency"}));
  EXPECT_EQ(p.probes, 3);
  EXPECT_EQ(p.health_url, "https://h/health");
  env.is_protected = false;
  p = make_gate_plan(env, svc, 30s);
  EXPECT_EQ(p.bake, 0ms);
  EXPECT_EQ(p.probes, 1);  // no window: one round
}

TEST(EcsEstimate, RollingBatchesHealthChecksDrainingStopAndBake) {
  EstimateInput in;
  in.desired = 4;
  in.maximum_percent = 150;        // at most 6 tasks
  in.minimum_healthy_percent = 100;  // keep 4: 2 at a time
  in.target_groups = {{kTg, 30, 5, 300}};
  in.stop_timeout_seconds = 0;
  in.gate_bake = 60s;
  auto e = estimate_duration(in);
  EXPECT_EQ(e.batches, 2);
  // 2 × (30 + 5 × 30) + 300 + 30 + 60 = 750 s
  EXPECT_EQ(e.total, 750s);
  EXPECT_EQ(e.text,
            "about 13 min: 2 batches × (30 s task start + 5 × 30 s health checks) + 300 s draining + 30 s stop "
            "timeout + 1m verification bake");
}

TEST(EcsEstimate, DefaultsAndEdgeCases) {
  EstimateInput in;
  in.desired = 3;  // ECS defaults 200 / 100: all 3 at once
  auto e = estimate_duration(in);
  EXPECT_EQ(e.batches, 1);
  EXPECT_EQ(e.total, 60s);  // 30 s start + 30 s stop timeout, no load balancer
  EXPECT_EQ(e.text, "about 60 s: 1 batch × (30 s task start) + 30 s stop timeout");

  in.maximum_percent = 100;
  in.minimum_healthy_percent = 100;  // no room at all: ECS still replaces one at a time
  EXPECT_EQ(estimate_duration(in).batches, 3);

  in.target_groups = {{kTg, 0, 0, std::nullopt}};  // unreadable: ELBv2's defaults
  in.stop_timeout_seconds = 120;
  e = estimate_duration(in);
  EXPECT_EQ(e.total, std::chrono::seconds(3 * (30 + 5 * 30) + 300 + 120));

  in.desired = 0;
  EXPECT_EQ(estimate_duration(in).total, 0s);

  EstimateInput bg;
  bg.desired = 10;
  bg.strategy = "BLUE_GREEN";
  bg.service_bake_minutes = 5;
  e = estimate_duration(bg);
  EXPECT_EQ(e.batches, 1);
  EXPECT_EQ(e.total, std::chrono::seconds(30 + 30 + 300));
  EXPECT_NE(e.text.find("5 min BLUE_GREEN bake time"), std::string::npos);
}

TEST(AwsCloudWatch, ParsesDescribeAlarmsMetricAndCompositeAlarms) {
  const std::string xml = R"(<DescribeAlarmsResponse xmlns="http://monitoring.amazonaws.com/doc/2010-08-01/">
  <DescribeAlarmsResult>
    <MetricAlarms>
      <member><AlarmName>api-5xx</AlarmName><StateValue>ALARM</StateValue>
        <StateReason>Threshold Crossed</StateReason><StateUpdatedTimestamp>2026-11-30T07:00:00Z</StateUpdatedTimestamp></member>
    </MetricAlarms>
    <CompositeAlarms>
      <member><AlarmName>api-any</AlarmName><StateValue>OK</StateValue><StateReason>fine</StateReason></member>
    </CompositeAlarms>
    <NextToken>t2</NextToken>
  </DescribeAlarmsResult>
</DescribeAlarmsResponse>)";
  auto page = aws::parse_describe_alarms(xml);
  ASSERT_TRUE(page.ok()) << page.error().message;
  ASSERT_EQ(page->alarms.size(), 2u);
  EXPECT_EQ(page->alarms[0].name, "api-5xx");
  EXPECT_EQ(page->alarms[0].state, "ALARM");
  EXPECT_EQ(page->alarms[0].reason, "Threshold Crossed");
  EXPECT_TRUE(page->alarms[1].composite);
  EXPECT_EQ(page->next_token, "t2");
  EXPECT_FALSE(aws::parse_describe_alarms("<html>").ok());
  EXPECT_FALSE(aws::parse_describe_alarms("<DescribeAlarmsResponse/>").ok());
  EXPECT_FALSE(aws::parse_describe_alarms("<X><DescribeAlarmsResult><MetricAlarms><member><AlarmName>a</AlarmName>"
                                          "</member></MetricAlarms></DescribeAlarmsResult></X>")
                   .ok());  // no StateValue
}

TEST(AwsElbv2, ParsesTargetHealthGroupsAndAttributes) {
  const std::string health = R"(<DescribeTargetHealthResponse><DescribeTargetHealthResult><TargetHealthDescriptions>
  <member><Target><Id>10.0.1.5</Id><Port>8080</Port></Target><HealthCheckPort>8080</HealthCheckPort>
    <TargetHealth><State>unhealthy</State><Reason>Target.FailedHealthChecks</Reason><Description>Health checks failed</Description></TargetHealth></member>
  <member><Target><Id>10.0.1.6</Id><Port>8080</Port></Target><TargetHealth><State>healthy</State></TargetHealth></member>
</TargetHealthDescriptions></DescribeTargetHealthResult></DescribeTargetHealthResponse>)";
  auto t = aws::parse_describe_target_health(health);
  ASSERT_TRUE(t.ok()) << t.error().message;
  ASSERT_EQ(t->size(), 2u);
  EXPECT_EQ((*t)[0].id, "10.0.1.5");
  EXPECT_EQ((*t)[0].port, 8080);
  EXPECT_EQ((*t)[0].state, "unhealthy");
  EXPECT_EQ((*t)[0].reason, "Target.FailedHealthChecks");
  EXPECT_EQ((*t)[1].state, "healthy");
  EXPECT_FALSE(aws::parse_describe_target_health("not xml <").ok());

  auto g = aws::parse_describe_target_groups(
      "<R><DescribeTargetGroupsResult><TargetGroups><member><TargetGroupArn>" + kTg +
      "</TargetGroupArn><TargetGroupName>api-blue</TargetGroupName><HealthCheckIntervalSeconds>15"
      "</HealthCheckIntervalSeconds><HealthyThresholdCount>3</HealthyThresholdCount></member></TargetGroups>"
      "</DescribeTargetGroupsResult></R>");
  ASSERT_TRUE(g.ok());
  ASSERT_EQ(g->size(), 1u);
  EXPECT_EQ((*g)[0].health_check_interval_seconds, 15);
  EXPECT_EQ((*g)[0].healthy_threshold, 3);

  auto a = aws::parse_target_group_attribute(
      "<R><DescribeTargetGroupAttributesResult><Attributes><member><Key>stickiness.enabled</Key><Value>false</Value>"
      "</member><member><Key>deregistration_delay.timeout_seconds</Key><Value>45</Value></member></Attributes>"
      "</DescribeTargetGroupAttributesResult></R>",
      "deregistration_delay.timeout_seconds");
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(a->has_value());
  EXPECT_EQ(**a, "45");
}

TEST(EcsVerify, TargetsOfTheNewTasksMustBeHealthyAndNeverDraining) {
  rb::testing::FakeClock clock;
  GatePlan p = plan_of(10s, 2);
  p.alarms.clear();
  p.health_url.clear();
  p.new_task_ips = {"10.0.0.7", "10.0.0.8"};

  // Old tasks draining, new ones healthy: passes, and says how many new tasks are healthy.
  FakeVerify good;
  good.target_rounds = {{target("10.0.0.1", "draining"), target("10.0.0.7", "initial"), target("10.0.0.8", "healthy")},
                        {target("10.0.0.7", "healthy"), target("10.0.0.8", "healthy")}};
  GateReport report;
  ASSERT_TRUE(run_gate(good, clock, p, [](const std::string&) {}, &report).ok());
  EXPECT_NE(report.results.back().detail.find("2/2 new tasks healthy"), std::string::npos)
      << report.results.back().detail;

  // A new task's target draining: fails at once, naming it.
  FakeVerify draining;
  draining.target_rounds = {{target("10.0.0.7", "draining", "Target.DeregistrationInProgress"),
                             target("10.0.0.8", "healthy")}};
  auto st = run_gate(draining, clock, p, [](const std::string&) {});
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("10.0.0.7:8080 of a task of the target revision is draining"), std::string::npos)
      << st.error().message;

  // A new task never registered: the load balancer sends it no traffic; fails at the end.
  FakeVerify missing;
  missing.target_rounds = {{target("10.0.0.1", "healthy"), target("10.0.0.8", "healthy")}};
  st = run_gate(missing, clock, p, [](const std::string&) {});
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("task 10.0.0.7 of the target revision is not a healthy target"), std::string::npos)
      << st.error().message;
}

TEST(EcsVerify, TaskIpsOfTheTargetRevision) {
  const std::string arn = "arn:aws:ecs:us-east-1:1:task-definition/api-prod:";
  std::vector<StoppedTask> tasks(3);
  tasks[0].task_definition = arn + "4";
  tasks[0].private_ip = "10.0.0.4";
  tasks[1].task_definition = arn + "6";
  tasks[1].private_ip = "10.0.0.6";
  tasks[2].task_definition = arn + "4";  // no awsvpc: no IP
  EXPECT_EQ(task_ips_of(tasks, arn + "4"), (std::set<std::string>{"10.0.0.4"}));
  EXPECT_TRUE(task_ips_of(tasks, "not a task definition").empty());

  auto parsed = parse_task({{"taskDefinitionArn", arn + "4"},
                            {"attachments", {{{"details", {{{"name", "subnetId"}, {"value", "subnet-1"}},
                                                           {{"name", "privateIPv4Address"}, {"value", "10.0.3.9"}}}}}}}});
  EXPECT_EQ(parsed.private_ip, "10.0.3.9");
  EXPECT_EQ(parse_task({{"attachments", "x"}}).private_ip, "");
}

TEST(EcsVerify, GateCallsAreListedWithoutTheHealthUrlItself) {
  GatePlan p = plan_of(60s, 3);
  p.health_url = "https://api.example.com/health?token=s3cr3t";
  auto calls = gate_api_calls(p);
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_EQ(calls[0], "aws cloudwatch describe-alarms --alarm-names api-5xx  (3 times over 1m: none may be in ALARM)");
  EXPECT_EQ(calls[1], "aws elbv2 describe-target-health --target-group-arn " + kTg +
                          "  (3 times over 1m: the new tasks healthy)");
  for (const auto& c : calls) EXPECT_EQ(c.find("s3cr3t"), std::string::npos) << c;
  GatePlan none;
  EXPECT_TRUE(gate_api_calls(none).empty());
}
