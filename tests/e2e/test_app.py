"""rollback app: revert the bad PR on the environment's branch and push it, against real git
repositories (a bare origin and clones the tests create), and follow the redeploy on the sandbox."""

import calendar
import json
import os
import threading
import time
import unittest

from harness import GitRepos, RollbackTestCase, Sandbox, git, wait_for


class AppRollbackTest(RollbackTestCase):
    def setUp(self):
        super().setUp()
        self.repos = GitRepos(self.work)
        self.cfg = os.path.join(self.work, "rollback.yaml")
        self.write_config(self.config_text + "repo: clone\n")

    def app(self, *args, **kw):
        return self.rollback("app", "--config", self.cfg, *args, **kw)

    def test_reverts_a_merged_pr_and_pushes_to_the_branch(self):
        number, merge = self.repos.merge_pr({"app/main.py": "def handler():\n    return 'broken'\n"}, "Break it")
        r = self.app("--env", "prod", "--pr", str(number), "--yes", "--reason", "500s on /orders")
        self.assertExit(r, 0)
        self.assertIn("merge commit, with -m 1", r.stdout)
        self.assertIn("app/main.py", r.stdout)
        head, subject = self.repos.origin_log()[0].split(" ", 1)
        self.assertEqual(subject, f'Revert "Merge pull request #{number} from team/feature-{number}"')
        self.assertEqual(self.repos.origin_file("app/main.py"), "def handler():\n    return 'ok'\n")
        message = self.repos.origin_message("main")
        self.assertIn(f"This reverts commit {merge}", message)
        self.assertIn("Reason: 500s on /orders", message)
        [entry] = self.journal()
        self.assertIn(f"Rollback-Id: {entry['id']}", message)
        self.assertEqual(entry["layer"], "app")
        self.assertEqual(entry["outcome"], "succeeded")
        self.assertEqual(entry["details"]["revert_commit"], head)
        self.assertEqual(entry["details"]["reverted_commits"][0]["sha"], merge)
        # The runbook's checklist: the change resolved before; on prod the incident report after.
        checklist = {i["item"]: i for i in entry["details"]["checklist"]}
        self.assertEqual(checklist["You know which commit/PR to revert"]["result"], "pass")
        self.assertIn(f"PR #{number}", checklist["You know which commit/PR to revert"]["evidence"])
        self.assertIn(merge[:7], checklist["You know which commit/PR to revert"]["evidence"])
        self.assertEqual(checklist["Create incident report if production was affected"]["result"], "pass")
        self.assertEqual(checklist["Verify API is working"]["result"], "skipped")  # no --wait

    def test_squash_pr_and_range(self):
        number, _ = self.repos.squash_pr({"app/api.py": "X = 1\n"}, "Add api", base="staging")
        r = self.app("--env", "staging", "--pr", str(number))
        self.assertExit(r, 0)
        self.assertIsNone(self.repos.origin_file("app/api.py", "staging"))
        a, b = self.repos.rebase_pr([{"app/one.py": "1\n"}, {"app/two.py": "2\n"}], base="staging")
        r = self.app("--env", "staging", "--range", f"{a}..{b}", "--output", "json")
        self.assertExit(r, 0)
        result = json.loads(r.stdout)
        self.assertEqual(result["plan"]["kind"], "range")
        self.assertEqual(len(result["plan"]["commits"]), 2)
        self.assertIsNone(self.repos.origin_file("app/one.py", "staging"))
        self.assertIsNone(self.repos.origin_file("app/two.py", "staging"))
        self.assertTrue(self.repos.origin_log("staging")[0].split(" ", 1)[1].startswith("Revert 2 commits"))

    def test_pr_not_found_and_ambiguous(self):
        r = self.app("--env", "prod", "--reason", "the PR broke checkout", "--pr", "999", "--yes")
        self.assertExit(r, 2)
        self.assertIn("--commit", r.stderr)
        n, _ = self.repos.squash_pr({"app/a.py": "a\n"}, "First")
        self.repos.squash_pr({"app/b.py": "b\n"}, "Cherry-picked fix", number=n)  # claims the same number
        r = self.app("--env", "prod", "--reason", "the PR broke checkout", "--pr", str(n), "--yes")
        self.assertExit(r, 2)
        self.assertIn("Cherry-picked fix", r.stderr)
        self.assertEqual(self.journal(), [])

    def test_dry_run_shows_plan_and_changes_nothing(self):
        number, _ = self.repos.merge_pr({"app/main.py": "broken\n"})
        before = self.repos.origin_log()
        r = self.app("--env", "prod", "--pr", str(number), "--dry-run")
        self.assertExit(r, 0)
        self.assertIn("dry run: nothing was changed", r.stdout)
        self.assertIn('| Revert "Merge pull request', r.stdout)
        self.assertEqual(self.repos.origin_log(), before)
        self.assertEqual(self.journal(), [])

    def test_conflict_aborts_cleanly_and_pushes_nothing(self):
        number, _ = self.repos.merge_pr({"app/main.py": "v2\n"})
        self.repos.squash_pr({"app/main.py": "v3\n"}, "Later change")  # conflicts with reverting v2
        # The developer has uncommitted work on another branch: it must stay as it is.
        git(self.repos.clone, "checkout", "-B", "my-work", "origin/development")
        self.repos.write("app/wip.py", "work in progress\n")
        self.repos.write("app/main.py", "local edit\n")
        status_before = git(self.repos.clone, "status", "--porcelain")
        head_before = git(self.repos.clone, "rev-parse", "HEAD")
        origin_before = self.repos.origin_log()
        r = self.app("--env", "prod", "--reason", "the PR broke checkout", "--pr", str(number), "--yes")
        self.assertExit(r, 3)
        self.assertIn("app/main.py", r.stderr)
        self.assertEqual(self.repos.origin_log(), origin_before)
        self.assertEqual(git(self.repos.clone, "status", "--porcelain"), status_before)
        self.assertEqual(git(self.repos.clone, "rev-parse", "HEAD"), head_before)
        self.assertEqual(len(git(self.repos.clone, "worktree", "list").splitlines()), 1)
        self.assertEqual(self.journal()[0]["outcome"], "refused")

    def test_push_rejected_by_pre_receive_hook(self):
        number, _ = self.repos.merge_pr({"app/main.py": "broken\n"})
        hook = os.path.join(self.repos.origin, "hooks", "pre-receive")
        with open(hook, "w") as f:
            f.write("#!/bin/sh\necho 'GH006: Protected branch update failed for refs/heads/main.'\nexit 1\n")
        os.chmod(hook, 0o755)
        before = self.repos.origin_log()
        r = self.app("--env", "prod", "--reason", "the PR broke checkout", "--pr", str(number), "--yes")
        self.assertExit(r, 1)
        self.assertIn("GH006: Protected branch update failed", r.stderr)
        self.assertEqual(self.repos.origin_log(), before)
        self.assertEqual(self.journal()[0]["outcome"], "failed")
        self.assertEqual(git(self.repos.clone, "branch", "--list", "rollback/*"), "")

    def test_migration_pr_is_refused_quoting_the_runbook(self):
        number, _ = self.repos.merge_pr({"alembic/versions/0002_add.py": "revision = '0002'\ndown_revision = '0001'\n",
                                         "app/main.py": "uses new column\n"})
        before = self.repos.origin_log()
        r = self.app("--env", "prod", "--reason", "the PR broke checkout", "--pr", str(number), "--yes")
        self.assertExit(r, 3)
        self.assertIn("Do NOT just revert code", r.stderr)
        self.assertIn("rollback db --env prod", r.stderr)
        self.assertEqual(self.repos.origin_log(), before)
        r = self.app("--env", "prod", "--reason", "the PR broke checkout", "--pr", str(number), "--yes", "--allow-migrations")
        self.assertExit(r, 0)
        self.assertEqual(self.journal()[0]["details"]["overrides"], ["allow-migrations"])
        plan_item = {i["item"]: i for i in self.journal()[0]["details"]["checklist"]}["Database rollback plan"]
        self.assertEqual(plan_item["result"], "warn")  # a revert of a migration without a downgrade
        self.assertIn("1 migration file", plan_item["evidence"])

    def test_infrastructure_pr_is_pointed_to_rollback_infra(self):
        number, _ = self.repos.merge_pr({"infrastructure/terraform/main.tf": "changed\n"})
        r = self.app("--env", "prod", "--reason", "the PR broke checkout", "--pr", str(number), "--yes")
        self.assertExit(r, 3)
        self.assertIn("infrastructure change", r.stderr)
        self.assertIn("rollback infra", r.stderr)

    def test_revert_of_a_revert_reapplies(self):
        number, _ = self.repos.merge_pr({"app/feature.py": "feature\n"}, "Add feature")
        self.assertExit(self.app("--env", "prod", "--reason", "the PR broke checkout", "--pr", str(number), "--yes"), 0)
        revert = self.repos.origin_log()[0].split(" ")[0]
        r = self.app("--env", "prod", "--reason", "the PR broke checkout", "--commit", revert[:10], "--yes")
        self.assertExit(r, 0)
        subject = self.repos.origin_log()[0].split(" ", 1)[1]
        self.assertTrue(subject.startswith('Reapply "Merge pull request'), subject)
        self.assertEqual(self.repos.origin_file("app/feature.py"), "feature\n")

    def test_commit_not_on_branch_is_refused(self):
        number, _ = self.repos.merge_pr({"app/x.py": "x\n"}, base="development")
        sha = git(self.repos.origin, "rev-parse", "development")
        r = self.app("--env", "prod", "--reason", "the PR broke checkout", "--commit", sha, "--yes")
        self.assertExit(r, 3)
        self.assertIn("origin/main", r.stderr)

    def test_no_push_and_push_branch(self):
        number, _ = self.repos.merge_pr({"app/main.py": "broken\n"})
        before = self.repos.origin_log()
        r = self.app("--env", "prod", "--reason", "the PR broke checkout", "--pr", str(number), "--yes", "--no-push")
        self.assertExit(r, 0)
        [entry] = self.journal()
        self.assertIn(f"git push origin rollback/{entry['id']}:main", r.stdout)
        self.assertEqual(self.repos.origin_log(), before)
        self.assertNotEqual(git(self.repos.clone, "branch", "--list", f"rollback/{entry['id']}"), "")
        r = self.app("--env", "prod", "--reason", "the PR broke checkout", "--pr", str(number), "--yes", "--push-branch", "revert-pr")
        self.assertExit(r, 0)
        self.assertIn("open a pull request from revert-pr into main", r.stdout)
        self.assertEqual(self.repos.origin_log(), before)
        self.assertTrue(self.repos.origin_log("revert-pr")[0].split(" ", 1)[1].startswith("Revert"))

    def test_concurrent_app_and_ecs_rollback_share_the_lock(self):
        number, _ = self.repos.merge_pr({"app/main.py": "broken\n"})
        lock_dir = os.path.join(self.state, "rollback", "locks")
        os.makedirs(lock_dir, exist_ok=True)
        # A live holder: a child process that keeps the flock.
        import fcntl
        fd = os.open(os.path.join(lock_dir, "connect2-api.prod.lock"), os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, json.dumps({"user": "alice", "host": "laptop", "pid": os.getpid(),
                                 "command": "rollback ecs --env prod", "since": "2026-11-26T03:00:00Z"}).encode())
        try:
            r = self.app("--env", "prod", "--reason", "the PR broke checkout", "--pr", str(number), "--yes")
            self.assertExit(r, 4)
            self.assertIn("alice@laptop", r.stderr)
        finally:
            os.close(fd)

    def test_protected_environment_without_a_reason_is_refused_and_nothing_changes(self):
        number, _ = self.repos.merge_pr({"app/main.py": "def handler():\n    return 'broken'\n"}, "Break it")
        before = self.repos.origin_log()
        r = self.app("--env", "prod", "--pr", str(number), "--yes")
        self.assertExit(r, 2)
        self.assertIn("prod is a protected environment: `rollback app` there needs --reason", r.stderr)
        self.assertIn("nothing was changed", r.stderr)
        self.assertIn('--reason "', r.stderr)
        self.assertEqual(self.repos.origin_log(), before)  # nothing pushed
        self.assertEqual(self.journal(), [])  # nothing journaled, not even as running
        locks = os.path.join(self.state, "rollback", "locks")
        self.assertEqual(os.listdir(locks) if os.path.isdir(locks) else [], [])  # no lock left
        # A dry run needs none, and says the real run will.
        d = self.app("--env", "prod", "--pr", str(number), "--dry-run")
        self.assertExit(d, 0)
        self.assertIn("the real `rollback app` needs --reason", d.stdout)


class AppRedeployTest(RollbackTestCase):
    """--wait: the push starts CI, which deploys an image tagged with the revert commit."""

    def setUp(self):
        super().setUp()
        self.sandbox = Sandbox(task_start_delay=0.3)
        self.addCleanup(self.sandbox.stop)
        self.repos = GitRepos(self.work)
        self.cfg = os.path.join(self.work, "rollback.yaml")
        self.write_config(self.config_text + "repo: clone\n")

    def fake_ci(self, branch, env, stop, seen):
        """Deploys every new commit of `branch` to `env` as CI would: a new task definition whose
        image tag is the commit's short SHA, then UpdateService."""
        ecs = self.sandbox.client("ecs")
        while not stop.is_set():
            head = git(self.repos.origin, "rev-parse", branch)
            if head != seen:
                seen = head
                time.sleep(0.5)  # the build
                td = ecs.describe_task_definition(taskDefinition=f"connect2-api-{env}:4")["taskDefinition"]
                c = dict(td["containerDefinitions"][0])
                c["image"] = c["image"].rsplit(":", 1)[0] + ":" + head[:7]
                new = ecs.register_task_definition(family=td["family"], containerDefinitions=[c],
                                                   requiresCompatibilities=["FARGATE"], networkMode="awsvpc",
                                                   cpu="256", memory="512")["taskDefinition"]
                ecs.update_service(cluster=f"connect2-api-cluster-{env}", service=f"connect2-api-service-{env}",
                                   taskDefinition=new["taskDefinitionArn"])
            time.sleep(0.2)

    def test_wait_follows_the_redeploy_of_the_revert(self):
        number, _ = self.repos.merge_pr({"app/main.py": "broken\n"}, base="staging")
        stop = threading.Event()
        ci = threading.Thread(target=self.fake_ci, args=("staging", "staging", stop, git(self.repos.origin, "rev-parse", "staging")))
        ci.start()
        try:
            r = self.rollback("app", "--config", self.cfg, "--env", "staging", "--pr", str(number), "--wait",
                              "--timeout", "60s", sandbox=self.sandbox)
        finally:
            stop.set()
            ci.join()
        self.assertExit(r, 0)
        revert = git(self.repos.origin, "rev-parse", "staging")
        self.assertIn("waiting for CI to deploy", r.stdout)
        self.assertIn(revert[:7], r.stdout)
        [entry] = self.journal()
        self.assertEqual(entry["outcome"], "succeeded")
        self.assertTrue(entry["details"]["waited"])
        svc = self.sandbox.client("ecs").describe_services(cluster="connect2-api-cluster-staging",
                                                           services=["connect2-api-service-staging"])["services"][0]
        self.assertEqual(svc["deployments"][0]["taskDefinition"], entry["details"]["deployed_task_definition"])

    def test_wait_reports_only_events_newer_than_the_command_with_their_own_time(self):
        # A deploy seconds before the command: its events are history, not part of this rollback.
        ecs = self.sandbox.client("ecs")
        ecs.update_service(cluster="connect2-api-cluster-staging", service="connect2-api-service-staging",
                           taskDefinition="connect2-api-staging:4")
        wait_for(lambda: len(ecs.describe_services(cluster="connect2-api-cluster-staging",
                                                   services=["connect2-api-service-staging"])
                             ["services"][0]["deployments"]) == 1, message="the earlier deploy")
        number, _ = self.repos.merge_pr({"app/main.py": "broken\n"}, base="staging")
        stop = threading.Event()
        ci = threading.Thread(target=self.fake_ci, args=("staging", "staging", stop, git(self.repos.origin, "rev-parse", "staging")))
        started = int(time.time())
        ci.start()
        try:
            r = self.rollback("app", "--config", self.cfg, "--env", "staging", "--pr", str(number), "--wait",
                              "--timeout", "60s", sandbox=self.sandbox)
        finally:
            stop.set()
            ci.join()
        self.assertExit(r, 0)
        [entry] = self.journal()
        events = [e for e in entry["events"] if e.startswith("event at ")]
        self.assertTrue(events, entry["events"])
        for e in events:
            stamp = e[len("event at "):].split(": ", 1)[0]
            when = calendar.timegm(time.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ"))
            self.assertGreaterEqual(when, started, e)

    def test_wait_times_out_when_ci_never_deploys(self):
        number, _ = self.repos.merge_pr({"app/main.py": "broken\n"}, base="staging")
        r = self.rollback("app", "--config", self.cfg, "--env", "staging", "--pr", str(number), "--wait",
                          "--timeout", "3s", sandbox=self.sandbox)
        self.assertExit(r, 1)
        self.assertIn("no deployment", r.stderr)
        self.assertEqual(self.journal()[0]["outcome"], "failed")


if __name__ == "__main__":
    unittest.main()
