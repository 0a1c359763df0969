"""rollback ecs and ECS as it runs now: the service deployment history, ECS's own rollback of a
deployment in flight, services ECS does not deploy itself, and the ECS reliability defects
(issue 8). Against the sandbox (moto extended with ECS's service deployment state machine)."""

import json
import os
import unittest

from harness import EcsSandboxTestCase, wait_for

STAGING = ("connect2-api-cluster-staging", "connect2-api-service-staging")
PROD = ("connect2-api-cluster-prod", "connect2-api-service-prod")


class EcsModernTest(EcsSandboxTestCase):
    task_start_delay = 0.3
    default_service = STAGING

    # -- helpers --------------------------------------------------------------------------

    def steady_on(self, revision, which=STAGING):
        s = self.service(which)
        d = s["deployments"]
        return (len(d) == 1 and d[0]["rolloutState"] == "COMPLETED" and s["runningCount"] == s["desiredCount"]
                and d[0]["taskDefinition"].endswith(f":{revision}"))

    def deploy(self, revision, which=STAGING, env="staging"):
        self.ecs.update_service(cluster=which[0], service=which[1], taskDefinition=f"connect2-api-{env}:{revision}")

    def history(self, which=STAGING):
        briefs = self.ecs.list_service_deployments(cluster=which[0], service=which[1])["serviceDeployments"]
        return sorted(briefs, key=lambda b: b["createdAt"])

    def calls(self, operation):
        return self.sandbox.control(f"calls?operation={operation}")["calls"]

    def processed(self, operation):
        return [c for c in self.calls(operation) if c["fault"] in (None, "latency", "error500_after")]

    def bad_history(self, which=STAGING, env="staging"):
        """:10 SUCCESSFUL, :11 rolled back by the circuit breaker, :12 SUCCESSFUL but bad (500s)."""
        for _ in range(7, 10):
            self.register(env, "filler")
        good, bad, unhealthy = (self.register(env, "a1b2c3d"), self.register(env, "bad-e4f5a6b"),
                                self.register(env, "c7d8e9f-unhealthy"))
        self.assertEqual((good, bad, unhealthy), (10, 11, 12))
        self.deploy(10, which, env)
        wait_for(lambda: self.steady_on(10, which), message=":10 steady")
        self.deploy(11, which, env)
        wait_for(lambda: [b["status"] for b in self.history(which)][-1] == "ROLLBACK_SUCCESSFUL"
                 and self.steady_on(10, which), timeout=60, message="the circuit breaker to roll :11 back")
        self.deploy(12, which, env)
        wait_for(lambda: self.steady_on(12, which), message=":12 steady")
        self.assertEqual([b["status"] for b in self.history(which)][-3:],
                         ["SUCCESSFUL", "ROLLBACK_SUCCESSFUL", "SUCCESSFUL"])
        self.sandbox.control("calls/reset", {})

    # -- 1. last known good from ECS's deployment history -----------------------------------
    def test_history_goes_back_to_the_last_successful_and_names_what_it_passed_over(self):
        self.bad_history()
        r = self.rollback("ecs", "--env", "staging", "--dry-run", "--output", "json", sandbox=self.sandbox)
        self.assertExit(r, 0)
        plan = json.loads(r.stdout)["plan"]
        self.assertEqual(plan["to"]["revision"], 10)
        self.assertIn("ended SUCCESSFUL", plan["why"])
        self.assertEqual(len(plan["passed_over"]), 1)
        self.assertRegex(plan["passed_over"][0],
                         r"^connect2-api-staging:11 failed on \d{4}-\d\d-\d\d: circuit breaker rolled it back$")
        self.assertEqual(plan["method"], "update-service")
        self.assertEqual([b["revision"] for b in plan["between"]], [11])  # every revision in between, with its image
        self.assertIn("bad-e4f5a6b", plan["between"][0]["image"])

        r = self.rollback("ecs", "--env", "staging", sandbox=self.sandbox)
        self.assertExit(r, 0)
        self.assertIn("passed over  connect2-api-staging:11 failed on", r.stdout)
        self.assertTrue(self.steady_on(10))
        self.assertEqual(len(self.processed("UpdateService")), 1)
        [entry] = self.journal()
        self.assertEqual(entry["details"]["method"], "update-service")
        self.assertEqual(entry["details"]["to_revision"], 10)

        # :11 (rolled back by ECS) and :12 (left by our rollback) are known bad: named explicitly,
        # the tool warns with when and why, and a protected environment needs --force.
        r = self.rollback("ecs", "--env", "staging", "--to-revision", "11", "--dry-run", sandbox=self.sandbox)
        self.assertExit(r, 0)
        self.assertIn("WARNING  connect2-api-staging:11 is known bad: failed on", r.stdout)
        self.assertIn("circuit breaker rolled it back", r.stdout)
        self.write_config(self.config_text.replace("staging: { branch: staging }",
                                                   "staging: { branch: staging, protected: true }"))
        self.sandbox.control("calls/reset", {})
        r = self.rollback("ecs", "--env", "staging", "--to-revision", "12", "--yes", "--reason", "500s after deploy",
                          sandbox=self.sandbox)
        self.assertExit(r, 3)
        self.assertIn("connect2-api-staging:12 is known bad", r.stderr)
        self.assertIn(f"rollback {entry['id']} left it", r.stderr)
        self.assertIn("--force", r.stderr)
        self.assertEqual(self.processed("UpdateService"), [])  # nothing sent for the refusal

    def test_a_failed_rollback_says_what_runs_now_and_what_comes_next(self):
        bad = self.register("staging", "bad-0badbad")
        self.write_config(self.config_text.replace("staging: { branch: staging }",
                                                   "staging: { branch: staging, protected: true }"))
        r = self.rollback("ecs", "--env", "staging", "--to-revision", str(bad), "--yes", "--force",
                          "--reason", "500s after deploy", sandbox=self.sandbox, timeout=180)
        self.assertExit(r, 1)
        self.assertIn("ECS runs connect2-api-staging:6 now", r.stderr)
        self.assertIn("the next candidate is connect2-api-staging:4", r.stderr)
        self.assertIn("rollback ecs --env staging --to-revision 4", r.stderr)

    def test_without_the_history_api_the_old_rules_apply_and_say_so_once(self):
        self.sandbox.control("faults", {"rules": [{"operation": "ListServiceDeployments",
                                                   "kind": "unknown_operation"}]})
        r = self.rollback("ecs", "--env", "staging", "--dry-run", sandbox=self.sandbox)
        self.assertExit(r, 0)
        self.assertEqual(r.stdout.count("deployment history is not available"), 1, r.stdout)
        self.assertIn("UnknownOperationException", r.stdout)
        self.assertIn("to    connect2-api-staging:4", r.stdout)

    # -- 2. ECS's own rollback of a deployment in flight ------------------------------------
    def test_in_flight_bad_deployment_is_stopped_by_ecs_keeping_the_old_tasks(self):
        # Long enough that the bad deployment is still in flight when the tool reads it.
        self.sandbox.control("config", {"task_start_delay": 8})
        bad = self.register("staging", "d00d00d-unhealthy")
        old_tasks = set(self.ecs.list_tasks(cluster=STAGING[0], serviceName=STAGING[1])["taskArns"])
        self.deploy(bad)
        self.sandbox.control("calls/reset", {})
        r = self.rollback("ecs", "--env", "staging", "--reason", "500s", sandbox=self.sandbox, timeout=180)
        self.assertExit(r, 0)
        self.assertIn("method  stop-deployment", r.stdout)
        self.assertIn("StopServiceDeployment(stopType=ROLLBACK) sent", r.stdout)
        self.assertIn("ROLLBACK_SUCCESSFUL", r.stdout)
        self.assertEqual(len(self.processed("StopServiceDeployment")), 1)
        self.assertEqual(self.calls("UpdateService"), [])
        self.assertTrue(self.steady_on(6))
        self.assertEqual(self.history()[-1]["status"], "ROLLBACK_SUCCESSFUL")
        running = set(self.ecs.list_tasks(cluster=STAGING[0], serviceName=STAGING[1])["taskArns"])
        self.assertEqual(running, old_tasks)  # ECS kept the old tasks: no new ones were started
        [entry] = self.journal()
        self.assertEqual(entry["outcome"], "succeeded")
        self.assertEqual(entry["details"]["method"], "stop-deployment")
        self.assertTrue(entry["details"]["service_deployment"].startswith("arn:aws:ecs:"))

    def test_when_ecs_refuses_its_own_rollback_update_service_does_it(self):
        self.sandbox.control("config", {"task_start_delay": 8})
        bad = self.register("staging", "f00f00f-unhealthy")
        self.deploy(bad)
        self.sandbox.control("calls/reset", {})
        self.sandbox.control("faults", {"rules": [{"operation": "StopServiceDeployment",
                                                   "kind": "unknown_operation"}]})
        r = self.rollback("ecs", "--env", "staging", sandbox=self.sandbox, timeout=180)
        self.assertExit(r, 0)
        self.assertIn("falling back to UpdateService", r.stdout)
        self.assertEqual(len(self.processed("UpdateService")), 1)
        self.assertTrue(self.steady_on(6))
        [entry] = self.journal()
        self.assertEqual(entry["details"]["method"], "update-service")
        self.assertEqual(entry["details"]["fallback_from"], "stop-deployment")

    def test_method_update_service_overrides_and_stop_deployment_needs_a_deployment_in_flight(self):
        r = self.rollback("ecs", "--env", "staging", "--method", "stop-deployment", sandbox=self.sandbox)
        self.assertExit(r, 3)
        self.assertIn("needs a service deployment in progress", r.stderr)
        r = self.rollback("ecs", "--env", "staging", "--method", "sideways", sandbox=self.sandbox)
        self.assertExit(r, 2)
        self.sandbox.control("config", {"task_start_delay": 3})
        self.deploy(self.register("staging", "e0e0e0e-unhealthy"))
        r = self.rollback("ecs", "--env", "staging", "--method", "update-service", "--dry-run", sandbox=self.sandbox)
        self.assertExit(r, 0)
        self.assertIn("method  update-service", r.stdout)
        self.assertEqual(self.calls("StopServiceDeployment"), [])

    # -- 3. deployment strategies ---------------------------------------------------------------
    def blue_green(self, bake=0, hooks=None):
        config = {"strategy": "BLUE_GREEN", "bakeTimeInMinutes": bake,
                  "deploymentCircuitBreaker": {"enable": True, "rollback": True}}
        if hooks:
            config["lifecycleHooks"] = hooks
        self.ecs.update_service(cluster=STAGING[0], service=STAGING[1], deploymentConfiguration=config)

    def newest_deployment(self):
        arn = self.history()[-1]["serviceDeploymentArn"]
        return self.ecs.describe_service_deployments(serviceDeploymentArns=[arn])["serviceDeployments"][0]

    def test_paused_blue_green_deployment_is_rolled_back_at_its_hook(self):
        self.blue_green(hooks=[{"targetType": "PAUSE", "lifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"]}])
        self.deploy(self.register("staging", "b1b1b1b-unhealthy"))
        wait_for(lambda: self.newest_deployment().get("lifecycleHookDetails"), timeout=60, message="the PAUSE hook")
        self.sandbox.control("calls/reset", {})
        r = self.rollback("ecs", "--env", "staging", sandbox=self.sandbox, timeout=180)
        self.assertExit(r, 0)
        self.assertIn("method  continue-deployment", r.stdout)
        self.assertIn("paused at lifecycle hook", r.stdout)
        self.assertIn("ContinueServiceDeployment(action=ROLLBACK) sent", r.stdout)
        self.assertEqual(len(self.processed("ContinueServiceDeployment")), 1)
        self.assertEqual(self.calls("StopServiceDeployment"), [])
        self.assertEqual(self.calls("UpdateService"), [])
        self.assertTrue(self.steady_on(6))
        self.assertEqual(self.newest_deployment()["status"], "ROLLBACK_SUCCESSFUL")
        self.assertEqual(self.journal()[0]["details"]["method"], "continue-deployment")

    def test_blue_green_rollback_waits_through_its_stages_and_bake_time(self):
        self.sandbox.control("config", {"bake_minute_seconds": 1, "task_start_delay": 1})
        self.blue_green(bake=2)
        r = self.rollback("ecs", "--env", "staging", sandbox=self.sandbox, timeout=180)
        self.assertExit(r, 0)
        self.assertIn("strategy  BLUE_GREEN (bake time 2 min", r.stdout)
        stages = [line.split("stage ", 1)[1].split(" ", 1)[0] for line in r.stdout.splitlines()
                  if "stage " in line and line.rstrip().endswith("started")]
        for stage in ("TEST_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT", "BAKE_TIME", "CLEAN_UP"):
            self.assertIn(stage, stages)
        self.assertLess(stages.index("BAKE_TIME"), stages.index("CLEAN_UP"))
        self.assertIn(": SUCCESSFUL", r.stdout)
        self.assertTrue(self.steady_on(4))
        self.assertEqual(self.newest_deployment()["status"], "SUCCESSFUL")

    # -- 3. services ECS does not deploy itself ----------------------------------------------
    def test_code_deploy_service_is_refused_with_the_command_that_rolls_it_back(self):
        self.ecs.create_service(cluster=STAGING[0], serviceName="connect2-api-service-bluegreen",
                                taskDefinition="connect2-api-staging:6", desiredCount=1, launchType="FARGATE",
                                deploymentController={"type": "CODE_DEPLOY"},
                                networkConfiguration={"awsvpcConfiguration": {"subnets": ["subnet-0a1b2c3d"],
                                                                      "securityGroups": ["sg-0123abcd"]}})
        self.write_config(self.config_text + "  bluegreen: { branch: main, cluster: connect2-api-cluster-staging, "
                                             "task_family: connect2-api-staging }\n")
        before = self.service((STAGING[0], "connect2-api-service-bluegreen"))
        self.sandbox.control("calls/reset", {})
        for args in ([], ["--restart"]):
            r = self.rollback("ecs", "--env", "bluegreen", *args, sandbox=self.sandbox)
            self.assertExit(r, 3)
            self.assertIn("CODE_DEPLOY", r.stderr)
            self.assertIn("aws deploy stop-deployment --deployment-id <id> --auto-rollback-enabled", r.stderr)
        self.assertEqual(self.calls("UpdateService"), [])
        after = self.service((STAGING[0], "connect2-api-service-bluegreen"))
        self.assertEqual(before["taskDefinition"], after["taskDefinition"])
        self.assertEqual(self.journal(), [])

    # -- 4. the verification gate, 5. the duration estimate --------------------------------
    def gate_config(self, bake, probes, alarms=("api-5xx",)):
        health = f"{self.sandbox.url}/_sandbox/health/{STAGING[0]}/{STAGING[1]}"
        self.write_config(self.config_text.replace(
            "staging: { branch: staging }",
            f'staging: {{ branch: staging, health_url: "{health}", '
            f'verify: {{ bake: {bake}, probes: {probes}, alarms: [{", ".join(alarms)}] }} }}'))

    def put_alarm(self, name, state="OK"):
        cw = self.sandbox.client("cloudwatch")
        cw.put_metric_alarm(AlarmName=name, MetricName="HTTPCode_Target_5XX_Count", Namespace="AWS/ApplicationELB",
                            Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=5,
                            ComparisonOperator="GreaterThanThreshold")
        cw.set_alarm_state(AlarmName=name, StateValue=state, StateReason="set by the test")
        return cw

    def test_gate_checks_alarms_and_health_on_every_probe_and_history_shows_estimate_and_time(self):
        self.put_alarm("api-5xx")
        self.gate_config(bake="2s", probes=2)
        r = self.rollback("ecs", "--env", "staging", sandbox=self.sandbox, timeout=180)
        self.assertExit(r, 0)
        self.assertIn("estimate: about", r.stdout)
        self.assertIn("2s verification bake", r.stdout)
        self.assertIn("aws cloudwatch describe-alarms --alarm-names api-5xx  (2 times over 2s", r.stdout)
        self.assertIn("GET health_url  (2 times over 2s: 2xx every time)", r.stdout)
        self.assertIn("verify: alarms: api-5xx OK (1/2)", r.stdout)
        self.assertIn("verify: alarms: api-5xx OK (2/2)", r.stdout)
        self.assertEqual(r.stdout.count("verify: health check: "), 2, r.stdout)
        [entry] = self.journal()
        self.assertEqual([s["signal"] for s in entry["details"]["verify"]], ["alarms", "health check"] * 2)
        self.assertTrue(all(s["ok"] for s in entry["details"]["verify"]))
        self.assertGreater(entry["details"]["estimate_seconds"], 0)
        self.assertGreaterEqual(entry["details"]["duration_seconds"], 2)  # at least the bake window
        self.assertIn("done:verify", self.journal_events())
        h = self.rollback("history", sandbox=self.sandbox)
        self.assertExit(h, 0)
        self.assertIn("(estimated ", h.stdout)
        self.assertIn(", took ", h.stdout)

    def test_an_alarm_going_to_alarm_during_the_bake_window_fails_the_rollback_naming_it(self):
        cw = self.put_alarm("api-5xx")
        self.gate_config(bake="6s", probes=3)
        proc = self.start_rollback("ecs", "--env", "staging", sandbox=self.sandbox)
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        # The first round of checks has seen the alarm OK: the bake window is running.
        wait_for(lambda: any(m.startswith("verify: alarms: api-5xx OK (1/3)") for m in self.journal_events()),
                 timeout=90, message="the first round of the gate")
        cw.set_alarm_state(AlarmName="api-5xx", StateValue="ALARM",
                           StateReason="Threshold Crossed: 1 datapoint [42.0] was greater than the threshold (5.0)")
        out, err = proc.communicate(timeout=60)
        self.assertEqual(proc.returncode, 1, out + err)
        self.assertIn("verification failed: alarm api-5xx: in ALARM: Threshold Crossed", err)
        [entry] = self.journal()
        self.assertEqual(entry["outcome"], "failed")
        last = entry["details"]["verify"][-1]
        self.assertEqual((last["signal"], last["ok"]), ("alarm api-5xx", False))

    def test_no_verify_skips_the_gate_with_a_journaled_warning(self):
        self.put_alarm("api-5xx", state="ALARM")  # would fail the gate
        self.gate_config(bake="30s", probes=3)
        r = self.rollback("ecs", "--env", "staging", "--no-verify", sandbox=self.sandbox, timeout=180)
        self.assertExit(r, 0)
        self.assertIn("warning: verification skipped (--no-verify)", r.stdout)
        self.assertNotIn("verification bake", r.stdout)  # the estimate leaves the skipped bake out
        [entry] = self.journal()
        self.assertEqual(entry["details"]["verify"], "skipped")
        self.assertTrue(any(m.startswith("warning: verification skipped") for m in self.journal_events()))

    def test_gate_and_estimate_read_the_services_target_group(self):
        ec2, elbv2 = self.sandbox.client("ec2"), self.sandbox.client("elbv2")
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        tg = elbv2.create_target_group(Name="api-staging-lb", Protocol="HTTP", Port=8080, VpcId=vpc, TargetType="ip",
                                       HealthCheckIntervalSeconds=10, HealthyThresholdCount=3
                                       )["TargetGroups"][0]["TargetGroupArn"]
        elbv2.modify_target_group_attributes(TargetGroupArn=tg, Attributes=[
            {"Key": "deregistration_delay.timeout_seconds", "Value": "45"}])
        self.ecs.create_service(cluster=STAGING[0], serviceName="connect2-api-service-lb",
                                taskDefinition="connect2-api-staging:6", desiredCount=2, launchType="FARGATE",
                                loadBalancers=[{"targetGroupArn": tg, "containerName": "connect2-api",
                                                "containerPort": 8080}],
                                networkConfiguration={"awsvpcConfiguration": {"subnets": ["subnet-0a1b2c3d"],
                                                                              "securityGroups": ["sg-0123abcd"]}})
        self.write_config(self.config_text + "  lb: { branch: main, cluster: connect2-api-cluster-staging, "
                                             "service: connect2-api-service-lb, task_family: connect2-api-staging }\n")
        wait_for(lambda: self.steady_on(6, (STAGING[0], "connect2-api-service-lb")), timeout=60, message="lb steady")
        r = self.rollback("ecs", "--env", "lb", "--to-revision", "4", sandbox=self.sandbox, timeout=180)
        self.assertExit(r, 0)
        self.assertIn(f"aws elbv2 describe-target-health --target-group-arn {tg}  (once, when ECS is done", r.stdout)
        self.assertIn("3 × 10 s health checks", r.stdout)
        self.assertIn("45 s draining", r.stdout)
        # The sandbox's target group follows the tasks: the two tasks of :4 are its targets now.
        self.assertIn("verify: target group api-staging-lb: 2 healthy; 2/2 new tasks healthy", r.stdout)
        health = elbv2.describe_target_health(TargetGroupArn=tg)["TargetHealthDescriptions"]
        tasks = self.ecs.describe_tasks(cluster=STAGING[0], tasks=self.ecs.list_tasks(
            cluster=STAGING[0], serviceName="connect2-api-service-lb")["taskArns"])["tasks"]
        ips = {d["value"] for t in tasks for a in t["attachments"] for d in a["details"]
               if d["name"] == "privateIPv4Address"}
        self.assertEqual({h["Target"]["Id"] for h in health}, ips)
        self.assertTrue(all(t["taskDefinitionArn"].endswith(":4") for t in tasks))

        # Targets whose tasks fail the load balancer's health checks fail the gate, named.
        image = self.ecs.describe_task_definition(taskDefinition="connect2-api-staging:4")[
            "taskDefinition"]["containerDefinitions"][0]["image"]
        self.sandbox.control("images", {"unhealthy": [image]})
        r = self.rollback("ecs", "--env", "lb", "--restart", "--yes",
                          sandbox=self.sandbox, timeout=180)
        self.assertExit(r, 1)
        self.assertRegex(r.stdout + r.stderr, r"target group api-staging-lb: .*unhealthy")
        states = {h["TargetHealth"]["State"] for h in
                  elbv2.describe_target_health(TargetGroupArn=tg)["TargetHealthDescriptions"]}
        self.assertEqual(states, {"unhealthy"})

    # -- 0. reliability defects (issue 8) -----------------------------------------------------
    def test_restart_after_a_dropped_update_really_restarts(self):
        # A deployment that is seconds old runs the same revision a restart asks for: it is not ours.
        r = self.rollback("ecs", "--env", "staging", "--restart", sandbox=self.sandbox)
        self.assertExit(r, 0)
        [recent] = self.service()["deployments"]
        self.sandbox.control("calls/reset", {})
        self.sandbox.control("faults", {"rules": [{"operation": "UpdateService", "kind": "drop", "count": 1}]})
        r = self.rollback("ecs", "--env", "staging", "--restart", "--timeout", "60s", sandbox=self.sandbox)
        self.assertExit(r, 0)
        self.assertIn("did not reach ECS", r.stdout)
        self.assertEqual([c["fault"] for c in self.calls("UpdateService")], ["drop", None])
        [now] = self.service()["deployments"]
        self.assertNotEqual(now["id"], recent["id"])
        self.assertTrue(now["taskDefinition"].endswith(":6"))

        # Processed, then a 500: the new deployment is ours, and it is never sent twice.
        self.sandbox.control("calls/reset", {})
        self.sandbox.control("faults", {"rules": [{"operation": "UpdateService", "kind": "error500_after",
                                                   "count": 1}]})
        r = self.rollback("ecs", "--env", "staging", "--restart", "--timeout", "60s", sandbox=self.sandbox)
        self.assertExit(r, 0)
        self.assertIn("did reach ECS", r.stdout)
        self.assertEqual(len(self.calls("UpdateService")), 1)
        [last] = self.service()["deployments"]
        self.assertNotEqual(last["id"], now["id"])

    def test_an_arn_of_another_account_or_region_is_refused(self):
        for arn in ("arn:aws:ecs:eu-west-1:123456789012:task-definition/connect2-api-staging:3",
                    "arn:aws:ecs:us-east-1:210987654321:task-definition/connect2-api-staging:3"):
            r = self.rollback("ecs", "--env", "staging", "--to-revision", arn, sandbox=self.sandbox)
            self.assertExit(r, 3)
            self.assertIn(arn, r.stderr)
            self.assertIn("us-east-1:123456789012", r.stderr)
        self.assertEqual(self.calls("UpdateService"), [])

    def test_events_are_reported_with_their_own_time_and_only_when_new(self):
        r = self.rollback("ecs", "--env", "staging", sandbox=self.sandbox)
        self.assertExit(r, 0)
        [entry] = self.journal()
        events = [e for e in entry["events"] if e.startswith("event at ")]
        self.assertTrue(events)
        started = entry["started_at"]
        for e in events:
            stamp = e[len("event at "):].split(": ", 1)[0]
            self.assertGreaterEqual(stamp, started[:19], e)  # nothing from before the command
        # The seeded service's old "steady state" events (30 minutes ago) are not replayed.
        self.assertEqual(sum("has reached a steady state" in e for e in events), 1)


if __name__ == "__main__":
    unittest.main()
