"""rollback ecs / status / history / unlock against the sandbox (moto extended like ECS)."""

import glob
import json
import os
import pty
import select
import signal
import subprocess
import time
import unittest

from harness import BINARY, EcsSandboxTestCase, RollbackTestCase, wait_for

PROD = ("connect2-api-cluster-prod", "connect2-api-service-prod")
STAGING = ("connect2-api-cluster-staging", "connect2-api-service-staging")


class EcsRollbackTest(EcsSandboxTestCase):
    task_start_delay = 0.5
    default_service = PROD

    # -- helpers --------------------------------------------------------------------------

    def running_revision(self, which=PROD):
        return int(self.service(which)["deployments"][0]["taskDefinition"].rsplit(":", 1)[1]) \
            if len(self.service(which)["deployments"]) == 1 else None

    def primary_revision(self, which=PROD):
        primary = [d for d in self.service(which)["deployments"] if d["status"] == "PRIMARY"][0]
        return int(primary["taskDefinition"].rsplit(":", 1)[1])

    def update_calls(self):
        calls = self.sandbox.control("calls?operation=UpdateService")["calls"]
        return calls

    def processed_updates(self):
        return [c for c in self.update_calls() if c["fault"] in (None, "latency", "error500_after")]

    # -- the runbook's emergency rollback -------------------------------------------------
    def test_rolls_back_to_last_good_skipping_inactive_and_records_it(self):
        self.assertEqual(self.primary_revision(), 6)
        r = self.rollback("ecs", "--env", "prod", "--yes", "--verbose", "--reason", "500s after deploy", sandbox=self.sandbox)
        self.assertExit(r, 0)
        self.assertIn("connect2-api-prod:6", r.stdout)
        self.assertIn("connect2-api-prod:4", r.stdout)
        self.assertIn("skipped INACTIVE (deregistered) revision: 5", r.stdout)
        # The follow-up revert, runnable as printed: prod refuses to start without a reason.
        self.assertRegex(r.stdout, r'rollback app --env prod --commit [0-9a-f]{7,40} --reason "…"')
        # What ECS runs now: only the target, all tasks up.
        svc = self.service()
        self.assertEqual(len(svc["deployments"]), 1)
        self.assertTrue(svc["deployments"][0]["taskDefinition"].endswith(":4"))
        self.assertEqual(svc["runningCount"], svc["desiredCount"])
        self.assertEqual(len(self.processed_updates()), 1)
        # The journal.
        [entry] = self.journal()
        self.assertEqual(entry["outcome"], "succeeded")
        self.assertEqual(entry["layer"], "ecs")
        self.assertEqual(entry["env"], "prod")
        self.assertEqual(entry["user"], "e2e-tester")
        self.assertEqual(entry["reason"], "500s after deploy")
        self.assertTrue(entry["from_ref"].endswith("connect2-api-prod:6"))
        self.assertTrue(entry["to_ref"].endswith("connect2-api-prod:4"))
        self.assertTrue(any("UpdateService sent" in e for e in entry["events"]))
        self.assertEqual(os.stat(self.journal_path()).st_mode & 0o777, 0o600)
        self.assertIn("rollback: debug: aws: ECS UpdateService", r.stderr)  # --verbose logs the calls...
        self.assertNoSecrets(r.stdout, r.stderr)  # ...and no secret, in output, logs or the journal

    def test_second_rollback_prefers_the_journals_last_known_good(self):
        self.assertExit(self.rollback("ecs", "--env", "staging", "--to-revision", "2", sandbox=self.sandbox), 0)
        # A new deploy of 6 happens outside the tool...
        self.ecs.update_service(cluster=STAGING[0], service=STAGING[1], taskDefinition="connect2-api-staging:6")
        wait_for(lambda: self.running_revision(STAGING) == 6, message="redeploy of 6")
        # ...and the next rollback returns to the revision the journal saw succeed, not to 4.
        r = self.rollback("ecs", "--env", "staging", sandbox=self.sandbox)
        self.assertExit(r, 0)
        self.assertIn("last known good", r.stdout)
        self.assertEqual(self.running_revision(STAGING), 2)

    def test_explicit_revision_forms(self):
        r = self.rollback("ecs", "--env", "staging", "--to-revision", "connect2-api-staging:3", "--output", "json",
                          sandbox=self.sandbox)
        self.assertExit(r, 0)
        result = json.loads(r.stdout)
        self.assertTrue(result["ok"])
        self.assertEqual(result["outcome"], "succeeded")
        self.assertEqual(result["plan"]["to"]["revision"], 3)
        self.assertEqual(self.running_revision(STAGING), 3)

    def test_inactive_other_family_and_current_targets_are_refused_without_change(self):
        for args, needle in ((["--to-revision", "5"], "INACTIVE"),
                             (["--to-revision", "connect2-api-prod:3"], "family"),
                             (["--to-revision", "6"], "already runs"),
                             (["--to-revision", "99"], "does not exist")):
            r = self.rollback("ecs", "--env", "staging", *args, sandbox=self.sandbox)
            self.assertExit(r, 3)
            self.assertIn(needle, r.stderr)
            self.assertIn("hint:", r.stderr)
        self.assertEqual(self.update_calls(), [])
        self.assertEqual(self.primary_revision(STAGING), 6)

    def test_missing_service_and_unknown_environment(self):
        self.write_config(self.config_text + "  qa: { branch: qa }\n"
                          "  ghost: { branch: main, cluster: connect2-api-cluster-prod }\n")
        r = self.rollback("ecs", "--env", "qa", sandbox=self.sandbox)
        self.assertExit(r, 3)
        self.assertIn("cluster connect2-api-cluster-qa does not exist", r.stderr)
        r = self.rollback("ecs", "--env", "ghost", sandbox=self.sandbox)
        self.assertExit(r, 3)
        self.assertIn("service connect2-api-service-ghost is missing", r.stderr)
        r = self.rollback("ecs", "--env", "prd", sandbox=self.sandbox)
        self.assertExit(r, 2)
        self.assertIn("did you mean 'prod'", r.stderr)

    def test_failing_target_is_reported_as_failure_with_stopped_task_reasons(self):
        bad = self.register("staging", "bad-crashloop")
        r = self.rollback("ecs", "--env", "staging", "--to-revision", str(bad), sandbox=self.sandbox)
        self.assertExit(r, 1)
        self.assertIn("EssentialContainerExited", r.stdout + r.stderr)
        self.assertIn("rollback deployment failed", r.stderr)
        [entry] = self.journal()
        self.assertEqual(entry["outcome"], "failed")

    def test_timeout_is_a_failure(self):
        self.sandbox.control("config", {"task_start_delay": 60})
        started = time.time()
        r = self.rollback("ecs", "--env", "staging", "--timeout", "3s", sandbox=self.sandbox)
        self.assertExit(r, 1)
        self.assertIn("timed out after 3s", r.stderr)
        self.assertLess(time.time() - started, 30)
        self.assertEqual(self.journal()[0]["outcome"], "failed")

    def test_throttling_storm_and_lost_response_start_exactly_one_deployment(self):
        self.sandbox.control("faults", {"rules": [
            {"operation": "UpdateService", "kind": "throttle", "count": 2},
            {"operation": "DescribeServices", "kind": "throttle", "count": 4},
            {"operation": "ListTaskDefinitions", "kind": "error503", "count": 1},
        ]})
        self.sandbox.control("config", {"task_start_delay": 2})
        proc = self.start_rollback("ecs", "--env", "staging", sandbox=self.sandbox)
        # A second storm while the tool waits: more throttling than one call's retries absorb.
        wait_for(self.processed_updates, message="UpdateService to go through")
        self.sandbox.control("faults", {"rules": [{"operation": "DescribeServices", "kind": "throttle", "count": 12}]})
        out, err = proc.communicate(timeout=180)
        self.assertEqual(proc.returncode, 0, out + err)
        self.assertIn("still waiting", out)
        self.assertEqual(len(self.processed_updates()), 1)
        self.assertEqual(self.running_revision(STAGING), 4)

        # The response to UpdateService is lost after ECS applied it: the tool must read the
        # service and not send it again.
        self.sandbox.control("calls/reset", {})
        self.sandbox.control("faults", {"rules": [{"operation": "UpdateService", "kind": "error500_after", "count": 1}]})
        r = self.rollback("ecs", "--env", "staging", "--to-revision", "3", sandbox=self.sandbox, timeout=180)
        self.assertExit(r, 0)
        self.assertIn("did reach ECS", r.stdout)
        self.assertEqual(len(self.update_calls()), 1)
        self.assertEqual(self.running_revision(STAGING), 3)

    def test_dry_run_changes_nothing(self):
        before = self.service()
        r = self.rollback("ecs", "--env", "prod", "--dry-run", sandbox=self.sandbox)
        self.assertExit(r, 0)
        self.assertIn("dry run: nothing was changed", r.stdout)
        self.assertIn("aws ecs update-service --cluster connect2-api-cluster-prod", r.stdout)
        self.assertIn("connect2-api-prod:4", r.stdout)
        after = self.service()
        self.assertEqual(before["deployments"], after["deployments"])
        self.assertEqual(before["taskDefinition"], after["taskDefinition"])
        self.assertEqual(self.update_calls(), [])
        self.assertEqual(self.journal(), [])

    def test_protected_environment_needs_confirmation(self):
        r = self.rollback("ecs", "--env", "prod", "--reason", "500s after deploy", sandbox=self.sandbox)
        self.assertExit(r, 3)
        self.assertIn("protected", r.stderr)
        self.assertIn("--yes", r.stderr)
        self.assertEqual(self.update_calls(), [])
        self.assertEqual(self.primary_revision(), 6)

    def _run_on_terminal(self, args, answer, checklist_answer="yes"):
        pid, fd = pty.fork()
        if pid == 0:
            os.chdir(self.work)
            os.execve(BINARY, [BINARY, *args], self.env(self.sandbox))
        output = b""
        sent = False
        checklist_answers = 0
        deadline = time.time() + 60
        while time.time() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(fd, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                output += chunk
            # The runbook's manual checklist items are asked first (docs/CHECKLISTS.md): confirm them.
            while output.count(b"[y/N]") + output.count(b"[type yes]") > checklist_answers:
                os.write(fd, checklist_answer.encode() + b"\n")
                checklist_answers += 1
            if not sent and b"Type 'prod' to continue" in output:
                os.write(fd, answer.encode() + b"\n")
                sent = True
        _, status = os.waitpid(pid, 0)
        return os.waitstatus_to_exitcode(status), output.decode(errors="replace")

    def test_typed_confirmation_on_a_terminal(self):
        code, out = self._run_on_terminal(["ecs", "--env", "prod", "--reason", "500s after deploy"], "staging")
        self.assertEqual(code, 3, out)
        self.assertIn("confirmation did not match", out)
        self.assertEqual(self.primary_revision(), 6)
        code, out = self._run_on_terminal(["ecs", "--env", "prod", "--reason", "500s after deploy"], "prod")
        self.assertEqual(code, 0, out)
        self.assertEqual(self.running_revision(), 4)
        # The manual checklist items were asked on the terminal and recorded as confirmed.
        checklist = {i["item"]: i for i in self.journal()[0]["details"]["checklist"]}
        self.assertEqual(checklist["Team is notified"]["result"], "confirmed")
        self.assertIn("on a terminal", checklist["Team is notified"]["evidence"])

    def test_a_checklist_item_answered_no_on_a_terminal_refuses_before_any_change(self):
        code, out = self._run_on_terminal(["ecs", "--env", "prod", "--reason", "500s after deploy"], "prod", checklist_answer="n")
        self.assertEqual(code, 3, out)
        self.assertIn("was answered no: nothing was changed", out)
        self.assertEqual(self.update_calls(), [])
        self.assertEqual(self.primary_revision(), 6)
        self.assertEqual(self.journal(), [])

    def test_a_reflexive_y_is_not_a_typed_confirmation_on_prod(self):
        code, out = self._run_on_terminal(["ecs", "--env", "prod", "--reason", "500s after deploy"], "prod", checklist_answer="y")
        self.assertEqual(code, 3, out)
        self.assertIn("[type yes]", out)
        self.assertIn("was answered no: nothing was changed", out)
        self.assertEqual(self.update_calls(), [])
        self.assertEqual(self.journal(), [])

    def test_ctrl_c_at_a_checklist_question_is_an_interruption_not_a_no(self):
        code, out = self._run_on_terminal(["ecs", "--env", "prod", "--reason", "500s after deploy"], "prod", checklist_answer="\x03")
        self.assertEqual(code, 130, out)
        self.assertIn("interrupted at the checklist: nothing was changed", out)
        self.assertEqual(self.update_calls(), [])
        self.assertEqual(self.journal(), [])

    def test_concurrent_rollbacks_of_one_environment(self):
        self.sandbox.control("config", {"task_start_delay": 3})
        first = self.start_rollback("ecs", "--env", "staging", sandbox=self.sandbox)
        wait_for(lambda: self.update_calls(), message="first rollback to send UpdateService")
        second = self.rollback("ecs", "--env", "staging", "--to-revision", "3", sandbox=self.sandbox)
        self.assertExit(second, 4)
        self.assertIn("locked", second.stderr)
        self.assertIn("e2e-tester@", second.stderr)
        out, err = first.communicate(timeout=120)
        self.assertEqual(first.returncode, 0, out + err)
        self.assertEqual(len(self.processed_updates()), 1)
        self.assertEqual(self.running_revision(STAGING), 4)

    def test_interrupt_releases_lock_and_dead_process_leaves_a_stale_lock(self):
        self.sandbox.control("config", {"task_start_delay": 60})
        proc = self.start_rollback("ecs", "--env", "staging", sandbox=self.sandbox)
        wait_for(lambda: self.update_calls(), message="UpdateService")
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
        self.assertEqual(proc.returncode, 130, out + err)
        self.assertEqual(self.journal()[0]["outcome"], "interrupted")
        status = self.rollback("status", "--env", "staging", sandbox=self.sandbox)
        self.assertIn("lock     free", status.stdout)

        # Killed outright: the lock stays, is reported as stale and can be broken.
        proc = self.start_rollback("ecs", "--env", "staging", "--to-revision", "3", sandbox=self.sandbox)
        wait_for(lambda: len(self.update_calls()) >= 2, message="second UpdateService")
        proc.kill()
        proc.communicate()
        r = self.rollback("ecs", "--env", "staging", "--to-revision", "2", sandbox=self.sandbox)
        self.assertExit(r, 4)
        self.assertIn("died", r.stderr)
        self.assertIn("rollback unlock --env staging", r.stderr)
        r = self.rollback("unlock", "--env", "staging", sandbox=self.sandbox)
        self.assertExit(r, 3)  # no terminal, no --yes
        r = self.rollback("unlock", "--env", "staging", "--yes", sandbox=self.sandbox)
        self.assertExit(r, 0)
        self.assertIn("now recorded as interrupted", r.stdout)
        self.assertEqual(self.journal()[0]["outcome"], "interrupted")
        self.assertExit(self.rollback("unlock", "--env", "staging", sandbox=self.sandbox), 0)

    def test_unlock_closes_the_entry_of_a_run_killed_before_its_lock_named_it(self):
        # SIGKILL between the journal entry and the lock naming it: the lock points to no entry.
        self.sandbox.control("config", {"task_start_delay": 60})
        proc = self.start_rollback("ecs", "--env", "staging", "--to-revision", "3", sandbox=self.sandbox)
        wait_for(lambda: self.update_calls(), message="UpdateService")
        proc.kill()
        proc.communicate()
        [lock_file] = glob.glob(os.path.join(self.state, "**", "*staging*.lock"), recursive=True)
        with open(lock_file) as f:
            holder = json.load(f)
        self.assertTrue(holder.pop("rollback_id"))
        with open(lock_file, "w") as f:
            json.dump(holder, f)
        self.assertEqual(self.journal()[0]["outcome"], "running")
        r = self.rollback("unlock", "--env", "staging", "--yes", sandbox=self.sandbox)
        self.assertExit(r, 0)
        self.assertIn("recorded as interrupted", r.stdout)
        [entry] = self.journal()
        self.assertEqual(entry["outcome"], "interrupted")
        self.assertEqual(entry["details"]["closed_by"], "`rollback unlock` by e2e-tester")
        status = self.rollback("status", "--env", "staging", sandbox=self.sandbox)
        self.assertIn("lock     free", status.stdout)

    def test_status_and_history(self):
        self.assertExit(self.rollback("ecs", "--env", "dev", sandbox=self.sandbox), 0)
        r = self.rollback("status", "--env", "dev", sandbox=self.sandbox)
        self.assertExit(r, 0)
        self.assertIn("connect2-api-dev:4", r.stdout)
        self.assertIn("INACTIVE", r.stdout)
        self.assertIn("has reached a steady state", r.stdout)
        r = self.rollback("status", "--env", "dev", "--output", "json", sandbox=self.sandbox)
        status = json.loads(r.stdout)
        self.assertTrue(status["task_definition"].endswith(":4"))
        self.assertEqual(status["rollbacks"][0]["outcome"], "succeeded")
        r = self.rollback("history", sandbox=self.sandbox)
        self.assertExit(r, 0)
        self.assertIn("succeeded", r.stdout)
        r = self.rollback("history", "--output", "json", sandbox=self.sandbox)
        [entry] = json.loads(r.stdout)["rollbacks"]
        r = self.rollback("history", "--id", entry["id"], sandbox=self.sandbox)
        self.assertIn("UpdateService sent", r.stdout)

    def test_restart_replaces_every_task_of_the_running_revision(self):
        before = self.service(STAGING)["deployments"][0]["id"]
        r = self.rollback("ecs", "--env", "staging", "--restart", sandbox=self.sandbox)
        self.assertExit(r, 0)
        self.assertIn("Restart of connect2-api-service-staging", r.stdout)
        [deployment] = self.service(STAGING)["deployments"]
        self.assertNotEqual(deployment["id"], before)
        self.assertTrue(deployment["taskDefinition"].endswith(":6"))
        self.assertEqual(len(self.processed_updates()), 1)
        [entry] = self.journal()
        self.assertTrue(entry["details"]["restart"])
        self.assertNotIn("deployed_task_definition", entry["details"])  # not a known-good mark
        r = self.rollback("ecs", "--env", "staging", "--restart", "--to-revision", "3", sandbox=self.sandbox)
        self.assertExit(r, 2)

    def test_health_url_must_answer(self):
        base = f"{self.sandbox.url}/_sandbox/health/connect2-api-cluster-staging/connect2-api-service-staging"
        self.write_config(self.config_text.replace("staging: { branch: staging }",
                                                   f'staging: {{ branch: staging, health_url: "{base}" }}'))
        r = self.rollback("ecs", "--env", "staging", sandbox=self.sandbox)
        self.assertExit(r, 0)
        self.assertIn("health check", r.stdout)
        # Rolling "back" to the unhealthy build: ECS is stable but the API answers 500.
        unhealthy = self.register("staging", "abc1234-unhealthy")
        r = self.rollback("ecs", "--env", "staging", "--to-revision", str(unhealthy), "--timeout", "20s",
                          sandbox=self.sandbox)
        self.assertExit(r, 1)
        self.assertIn("health", r.stderr)


class CommandLineTest(RollbackTestCase):
    def test_usage_errors_exit_2_with_hints(self):
        r = self.rollback("ecss", "--env", "prod")
        self.assertExit(r, 2)
        self.assertIn("did you mean `rollback ecs`", r.stderr)
        r = self.rollback("ecs")
        self.assertExit(r, 2)
        r = self.rollback("ecs", "--env", "prod", "--timeout", "soon")
        self.assertExit(r, 2)
        self.assertIn("invalid duration", r.stderr)
        r = self.rollback("ecs", "--env", "prod", "--output", "json", "--timeout", "soon")
        self.assertExit(r, 2)
        self.assertEqual(json.loads(r.stdout)["error"]["kind"], "usage")

    def test_bad_configuration_names_file_line_and_column(self):
        self.write_config("app: connect2-api\nenvironments:\n  prod: { branch: main, protectd: true }\n")
        r = self.rollback("status", "--env", "prod")
        self.assertExit(r, 2)
        self.assertIn("rollback.yaml:3:", r.stderr)
        self.assertIn("did you mean 'protected'", r.stderr)

    def test_init_writes_a_config_that_loads(self):
        os.remove(os.path.join(self.work, "rollback.yaml"))
        r = self.rollback("init", "--app", "shop")
        self.assertExit(r, 0)
        self.assertEqual(os.stat(os.path.join(self.work, "rollback.yaml")).st_mode & 0o777, 0o600)
        self.assertExit(self.rollback("init", "--app", "shop"), 2)  # exists
        r = self.rollback("history")
        self.assertExit(r, 0)

    def test_help_on_every_command(self):
        for cmd in ("ecs", "status", "history", "unlock", "init"):
            r = self.rollback(cmd, "--help")
            self.assertExit(r, 0)
            self.assertIn("--dry-run", r.stdout)


class StatusEvidenceTest(EcsSandboxTestCase):
    """`rollback status` shows what a person checks before believing "2/2 running": the health
    URL's answer and the tasks that failed."""

    task_start_delay = 0.3
    default_service = PROD

    def test_status_shows_the_health_answer_and_recent_task_failures(self):
        health = f"{self.sandbox.url}/_sandbox/health/connect2-api-cluster-prod/connect2-api-service-prod"
        self.write_config(f'''app: connect2-api
region: us-east-1
environments:
  prod: {{ branch: main, protected: true, health_url: "{health}" }}
''')
        # The seeded prod runs :6, whose image deployed fine but answers 500.
        r = self.rollback("status", "--env", "prod", "--output", "json", sandbox=self.sandbox)
        self.assertExit(r, 0)
        out = json.loads(r.stdout)
        self.assertFalse(out["health"]["healthy"])
        self.assertEqual(out["health"]["status"], 500)
        self.assertEqual(out["task_failures"], [])
        text = self.rollback("status", "--env", "prod", sandbox=self.sandbox).stdout
        self.assertIn("answered HTTP 500   <- UNHEALTHY", text)

        # A deploy of an image that crashes on start: its stopped tasks are the evidence.
        bad = self.deploy_crashing_revision()
        r = self.rollback("status", "--env", "prod", "--output", "json", sandbox=self.sandbox)
        self.assertExit(r, 0)
        failures = json.loads(r.stdout)["task_failures"]
        self.assertTrue(failures)
        self.assertTrue(all(f["task_definition"].endswith(f"/connect2-api-prod:{bad}") for f in failures), failures)
        self.assertEqual(failures[0]["stop_code"], "EssentialContainerExited")
        text = self.rollback("status", "--env", "prod", sandbox=self.sandbox).stdout
        self.assertIn("recent task failures:", text)
        self.assertIn("EssentialContainerExited", text)


if __name__ == "__main__":
    unittest.main()
