"""The runbook's checklists around `rollback ecs` (issue 12 §3): the "before" items checked by
machine or taken as given with --yes, the "after" items from the verification gate and from
CloudWatch Logs (error lines after the rollback against as long before it), recorded in the
journal and shown by `rollback history` and `rollback report`. Against the sandbox."""

import json
import os
import threading
import time
import unittest

from harness import EcsSandboxTestCase, GitRepos, git, wait_for

PROD = ("connect2-api-cluster-prod", "connect2-api-service-prod")
STAGING = ("connect2-api-cluster-staging", "connect2-api-service-staging")
WINDOW_SECONDS = 6  # verify.logs_window below: short, so the tests do not wait long

CONFIG = f"""app: connect2-api
region: us-east-1
environments:
  dev:     {{ branch: development }}
  staging: {{ branch: staging, verify: {{ logs_window: {WINDOW_SECONDS}s }} }}
  prod:    {{ branch: main, protected: true, verify: {{ bake: 1s, logs_window: {WINDOW_SECONDS}s }} }}
"""


def log_group(env):
    return f"/ecs/connect2-api-{env}"


class ChecklistTest(EcsSandboxTestCase):
    task_start_delay = 0.3
    default_service = PROD
    config_text = CONFIG

    def setUp(self):
        super().setUp()
        self.logs = self.sandbox.client("logs")

    # -- helpers --------------------------------------------------------------------------

    def register_logged(self, env, tag):
        """A revision of connect2-api-<env> whose container sends its output to CloudWatch Logs."""
        td = self.ecs.describe_task_definition(taskDefinition=f"connect2-api-{env}:4")["taskDefinition"]
        container = dict(td["containerDefinitions"][0])
        container["image"] = container["image"].rsplit(":", 1)[0] + ":" + tag
        container["logConfiguration"] = {"logDriver": "awslogs",
                                         "options": {"awslogs-group": log_group(env), "awslogs-region": "us-east-1",
                                                     "awslogs-stream-prefix": "api"}}
        out = self.ecs.register_task_definition(family=td["family"], containerDefinitions=[container],
                                                requiresCompatibilities=["FARGATE"], networkMode="awsvpc",
                                                cpu="256", memory="512")
        return out["taskDefinition"]["revision"]

    def deploy_and_wait(self, which, env, revision):
        self.ecs.update_service(cluster=which[0], service=which[1], taskDefinition=f"connect2-api-{env}:{revision}")

        def steady():
            s = self.service(which)
            d = s["deployments"]
            return (len(d) == 1 and d[0]["taskDefinition"].endswith(f":{revision}")
                    and s["runningCount"] == s["desiredCount"])
        wait_for(steady, timeout=60, message=f":{revision} steady")

    def good_then_bad(self, which, env):
        """A good logged revision deployed, then a bad one on top; returns (good, bad)."""
        good = self.register_logged(env, "a1b2c3d")
        bad = self.register_logged(env, "e4f5a6b")
        self.deploy_and_wait(which, env, good)
        self.deploy_and_wait(which, env, bad)
        self.logs.create_log_group(logGroupName=log_group(env))
        self.logs.create_log_stream(logGroupName=log_group(env), logStreamName="api/connect2-api/t1")
        return good, bad

    def plant(self, env, lines):
        """Log lines [(epoch ms, message)] in the group's stream."""
        self.logs.put_log_events(logGroupName=log_group(env), logStreamName="api/connect2-api/t1",
                                 logEvents=[{"timestamp": t, "message": m} for t, m in lines])

    def checklist_of(self, entry):
        return {i["item"]: i for i in entry["details"]["checklist"]}

    # -- errors before the rollback, none after ---------------------------------------------
    def test_errors_gone_after_the_rollback_pass_and_the_journal_and_report_carry_the_checklist(self):
        good, bad = self.good_then_bad(PROD, "prod")
        now = int(time.time() * 1000)
        self.plant("prod", [(now - 1500, "ERROR db timeout after 30s"), (now - 1200, "ERROR db timeout after 30s"),
                            (now - 900, "INFO GET /health 200"), (now - 600, "Traceback: KeyError Exception in handler")])
        r = self.rollback("ecs", "--env", "prod", "--to-revision", str(good), "--yes", "--reason", "500s after deploy",
                          sandbox=self.sandbox, timeout=180)
        self.assertExit(r, 0)
        self.assertIn("checklist before the rollback:", r.stdout)
        self.assertIn("checklist after the rollback:", r.stdout)
        [entry] = self.journal()
        items = self.checklist_of(entry)
        logs = items["Monitor logs for errors"]
        self.assertEqual(logs["result"], "pass", logs)
        self.assertEqual(logs["phase"], "after")
        self.assertIn(f"3 error lines in the {WINDOW_SECONDS}s before the rollback", logs["evidence"])
        self.assertIn(f"0 error lines in the {WINDOW_SECONDS}s after it", logs["evidence"])
        self.assertIn('2x "ERROR db timeout after 30s"', logs["evidence"])  # the top message, by count
        self.assertIn(log_group("prod"), logs["evidence"])
        # The "before" items: machine checks and what --yes took as given, recorded as such.
        self.assertEqual(items["You have AWS access"]["result"], "pass")
        self.assertEqual(items["You know which commit/PR to revert"]["result"], "pass")
        self.assertIn(f"connect2-api-prod:{good}", items["You know which commit/PR to revert"]["evidence"])
        self.assertEqual(items["Team is notified"]["result"], "given (--yes)")
        self.assertIn("reason: 500s after deploy", items["Issue is confirmed and rollback will fix it"]["evidence"])
        self.assertEqual(items["Verify API is working"]["result"], "pass")
        report_item = items["Create incident report if production was affected"]
        self.assertEqual(report_item["result"], "pass")
        written = os.path.join(self.state, "rollback", "reports", entry["id"] + ".md")
        self.assertIn(written, report_item["evidence"])
        self.assertEqual(items["Schedule post-mortem"]["result"], "pass")
        # The wait is a journaled step of its own, and not part of the rollback's duration.
        self.assertIn("started:monitor-logs", entry["events"])
        self.assertIn("done:monitor-logs", entry["events"])
        # The automatic incident report holds the checklist too.
        with open(written) as f:
            auto = f.read()
        self.assertIn(f"| `{entry['id']}` | Monitor logs for errors | pass |", auto)

        # rollback history --id X --output json carries it.
        h = self.rollback("history", "--id", entry["id"], "--output", "json", sandbox=self.sandbox)
        self.assertExit(h, 0)
        self.assertIn('"Monitor logs for errors"', h.stdout)
        self.assertIn('"checklist"', h.stdout)

        # rollback report of that run shows the Checklist table with the items.
        out = os.path.join(self.work, "report.md")
        rep = self.rollback("report", entry["id"], "--out", out, sandbox=self.sandbox)
        self.assertExit(rep, 0)
        with open(out) as f:
            md = f.read()
        section = md.split("## Checklist", 1)[1].split("## Follow-ups", 1)[0]
        self.assertNotIn("No checklist results were recorded", section)
        self.assertIn("| monitor-logs |", md.split("## Steps", 1)[1].split("## Checklist", 1)[0])
        for item in ("Issue is confirmed and rollback will fix it", "You have AWS access", "Team is notified",
                     "Verify API is working", "Monitor logs for errors",
                     "Create incident report if production was affected"):
            self.assertIn(item, section)
        self.assertNoSecrets(r.stdout, r.stderr, h.stdout, md)

    # -- errors after the rollback --------------------------------------------------------
    def test_errors_after_the_rollback_fail_the_logs_item(self):
        good, bad = self.good_then_bad(STAGING, "staging")
        now = int(time.time() * 1000)
        # A line every half second for two minutes from now: the target revision fails too.
        self.plant("staging", [(now + 500 * k, f"ERROR payment provider refused request {k % 2}") for k in range(240)])
        # A dry run shows the checklist and records nothing.
        d = self.rollback("ecs", "--env", "staging", "--to-revision", str(good), "--dry-run", "--output", "json",
                          sandbox=self.sandbox)
        self.assertExit(d, 0)
        shown = json.loads(d.stdout)
        self.assertIn("Team is notified", [i["item"] for i in shown["checklist"]])
        self.assertIn("dry run", {i["item"]: i for i in shown["checklist"]}["Team is notified"]["evidence"])
        self.assertEqual(self.journal(), [])

        r = self.rollback("ecs", "--env", "staging", "--to-revision", str(good), sandbox=self.sandbox, timeout=180)
        self.assertExit(r, 0)  # the checklist records; the rollback itself is done
        [entry] = self.journal()
        items = self.checklist_of(entry)
        logs = items["Monitor logs for errors"]
        self.assertEqual(logs["result"], "fail", logs)
        self.assertIn("still failing", logs["evidence"])
        self.assertIn("ERROR payment provider refused request", logs["evidence"])
        self.assertIn("[fail] Monitor logs for errors", r.stdout)
        # No terminal and no --yes on an unprotected environment: manual items are left unconfirmed, and say so.
        self.assertEqual(items["Team is notified"]["result"], "skipped")
        self.assertIn("no terminal", items["Team is notified"]["evidence"])
        self.assertEqual(items["Create incident report if production was affected"]["result"], "skipped")


def logged_container(ecs, env, tag):
    """Revision 4's container of connect2-api-<env> with image tag `tag`, sending its output to CloudWatch Logs."""
    td = ecs.describe_task_definition(taskDefinition=f"connect2-api-{env}:4")["taskDefinition"]
    container = dict(td["containerDefinitions"][0])
    container["image"] = container["image"].rsplit(":", 1)[0] + ":" + tag
    container["logConfiguration"] = {"logDriver": "awslogs",
                                     "options": {"awslogs-group": log_group(env), "awslogs-region": "us-east-1",
                                                 "awslogs-stream-prefix": "api"}}
    return td["family"], container


class AppLogsTest(EcsSandboxTestCase):
    """`rollback app --wait` watches the logs like `rollback ecs`: once the redeploy of the revert
    is followed, the error lines of the log group the service's task definition writes to."""

    task_start_delay = 0.3
    default_service = STAGING

    def setUp(self):
        super().setUp()
        self.logs = self.sandbox.client("logs")
        self.repos = GitRepos(self.work)
        self.cfg = os.path.join(self.work, "rollback.yaml")
        self.write_config(CONFIG + "repo: clone\n")

    # Whether the revisions the fake CI deploys send their logs to CloudWatch Logs (awslogs).
    ci_writes_logs = True

    def fake_ci(self, branch, env, stop, seen):
        """Deploys every new commit of `branch` as CI would: a revision tagged with the commit,
        logged to CloudWatch Logs unless `ci_writes_logs` is off."""
        while not stop.is_set():
            head = git(self.repos.origin, "rev-parse", branch)
            if head != seen:
                seen = head
                family, container = logged_container(self.ecs, env, head[:7])
                if not self.ci_writes_logs:
                    del container["logConfiguration"]
                new = self.ecs.register_task_definition(family=family, containerDefinitions=[container],
                                                        requiresCompatibilities=["FARGATE"], networkMode="awsvpc",
                                                        cpu="256", memory="512")["taskDefinition"]
                self.ecs.update_service(cluster=STAGING[0], service=STAGING[1], taskDefinition=new["taskDefinitionArn"])
            time.sleep(0.2)

    def app_wait(self, number):
        stop = threading.Event()
        ci = threading.Thread(target=self.fake_ci,
                              args=("staging", "staging", stop, git(self.repos.origin, "rev-parse", "staging")))
        ci.start()
        try:
            return self.rollback("app", "--config", self.cfg, "--env", "staging", "--pr", str(number), "--wait",
                                 "--timeout", "60s", sandbox=self.sandbox, timeout=180)
        finally:
            stop.set()
            ci.join()

    def test_errors_after_an_app_rollback_fail_the_logs_item(self):
        number, _ = self.repos.merge_pr({"app/main.py": "broken\n"}, base="staging")
        self.logs.create_log_group(logGroupName=log_group("staging"))
        self.logs.create_log_stream(logGroupName=log_group("staging"), logStreamName="api/connect2-api/t1")
        now = int(time.time() * 1000)
        # A line every half second for two minutes from now: the reverted code fails too.
        self.logs.put_log_events(logGroupName=log_group("staging"), logStreamName="api/connect2-api/t1",
                                 logEvents=[{"timestamp": now + 500 * k, "message": "ERROR orders: KeyError 'total'"}
                                            for k in range(240)])
        r = self.app_wait(number)
        self.assertExit(r, 0)  # the checklist records; the revert itself is done
        [entry] = self.journal()
        items = self.checklist_of(entry)
        logs = items["Monitor logs for errors"]
        self.assertEqual(logs["result"], "fail", logs)
        self.assertIn(log_group("staging"), logs["evidence"])
        self.assertIn("still failing", logs["evidence"])
        self.assertIn("ERROR orders: KeyError 'total'", logs["evidence"])
        self.assertIn("[fail] Monitor logs for errors", r.stdout)
        self.assertIn("started:monitor-logs", entry["events"])
        self.assertIn("done:monitor-logs", entry["events"])

    def test_without_awslogs_the_item_is_skipped_and_says_why(self):
        number, _ = self.repos.merge_pr({"app/main.py": "broken\n"}, base="staging")
        self.ci_writes_logs = False
        r = self.app_wait(number)
        self.assertExit(r, 0)
        [entry] = self.journal()
        logs = self.checklist_of(entry)["Monitor logs for errors"]
        self.assertEqual(logs["result"], "skipped", logs)
        self.assertIn("no awslogs logConfiguration", logs["evidence"])
        self.assertNotIn("started:monitor-logs", entry["events"])

    def checklist_of(self, entry):
        return {i["item"]: i for i in entry["details"]["checklist"]}


class ReasonGateTest(EcsSandboxTestCase):
    """On a protected environment a command that changes something needs --reason (issue 12): without
    one it is a usage error before the lock and before any AWS write; a dry run only says so."""

    task_start_delay = 0.3
    default_service = PROD
    config_text = CONFIG

    def lock_files(self):
        folder = os.path.join(self.state, "rollback", "locks")
        return sorted(os.listdir(folder)) if os.path.isdir(folder) else []

    def test_ecs_on_prod_without_a_reason_is_refused_and_changes_nothing(self):
        before = self.service()["taskDefinition"]
        self.sandbox.control("calls/reset", {})
        r = self.rollback("ecs", "--env", "prod", "--yes", sandbox=self.sandbox)
        self.assertExit(r, 2)
        self.assertIn("prod is a protected environment", r.stderr)
        self.assertIn("`rollback ecs` there needs --reason", r.stderr)
        self.assertIn("nothing was changed", r.stderr)
        self.assertIn('--reason "', r.stderr)  # the hint: how to run it
        self.assertEqual(self.journal(), [])  # nothing journaled, not even as running
        self.assertEqual(self.lock_files(), [])  # no lock taken, none left
        self.assertEqual(self.service()["taskDefinition"], before)
        counts = self.sandbox.control("calls")["counts"]
        for write in ("UpdateService", "StopServiceDeployment", "RegisterTaskDefinition"):
            self.assertNotIn(write, counts)

        # A dry run needs none, and says the real run will.
        d = self.rollback("ecs", "--env", "prod", "--dry-run", sandbox=self.sandbox)
        self.assertExit(d, 0)
        self.assertIn("the real `rollback ecs` needs --reason", d.stdout)

        # A blank reason is no reason.
        r = self.rollback("ecs", "--env", "prod", "--yes", "--reason", "  ", sandbox=self.sandbox)
        self.assertExit(r, 2)

        # With a reason it runs; on an unprotected environment none is needed.
        r = self.rollback("ecs", "--env", "prod", "--yes", "--reason", "500s after deploy", sandbox=self.sandbox,
                          timeout=180)
        self.assertExit(r, 0)
        self.assertNotEqual(self.service()["taskDefinition"], before)
        [entry] = self.journal()
        self.assertEqual(entry["reason"], "500s after deploy")


if __name__ == "__main__":
    unittest.main()
