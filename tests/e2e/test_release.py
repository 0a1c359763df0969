"""rollback release / rollback resume: a pull request that adds a migration and the code using it,
rolled back in the runbook's order (scenario 3: downgrade first, then revert, then the redeploy)
against a real git repository with a bare origin, a real PostgreSQL server with the real Alembic,
and the moto ECS sandbox with a fake CI that deploys every new commit of the branch."""

import atexit
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import threading
import time
import unittest
from datetime import datetime

import harness
from harness import SOURCE_DIR, GitRepos, Sandbox, SharedSandboxTestCase, git
from test_db import ALEMBIC, DB_PASSWORD, DB_PASSWORD_ENCODED, PostgresServer, have_postgres

FIXTURE = os.path.join(SOURCE_DIR, "tests", "fixtures", "migrations")
TOOL_TIMEOUT = 180

MIGRATION_0001 = '''"""create users"""
from alembic import op
import sqlalchemy as sa

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table("users", sa.Column("id", sa.Integer, primary_key=True), sa.Column("name", sa.String(50)))


def downgrade():
    op.drop_table("users")
'''

MIGRATION_0002 = '''"""create orders"""
from alembic import op
import sqlalchemy as sa

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table("orders", sa.Column("id", sa.Integer, primary_key=True), sa.Column("total", sa.Integer))


def downgrade():
    op.drop_table("orders")
'''

CONFIG_TAIL = """repo: clone
migrations:
  path: .
  versions: alembic/versions
  command: [{alembic}]
""".format(alembic=ALEMBIC)

SERVER = None


def setUpModule():
    global SERVER
    if not have_postgres():
        return
    SERVER = PostgresServer()
    atexit.register(SERVER.stop)


def tearDownModule():
    if SERVER is not None:
        SERVER.stop()


class ReleaseBase(SharedSandboxTestCase):
    """A repository whose staging branch has an Alembic project at 0001, its database upgraded,
    and a shared sandbox. No tests of its own."""

    _counter = 0

    def setUp(self):
        super().setUp()
        self.repos = GitRepos(self.work)
        clone = self.repos.clone
        # The application's Alembic project at the repository's root, on every branch.
        shutil.copy(os.path.join(FIXTURE, "alembic.ini"), clone)
        for name in ("env.py", "script.py.mako"):
            shutil.copy(os.path.join(FIXTURE, "alembic", name), os.path.join(clone, "alembic", name))
        self.repos.write("alembic/versions/0001_init.py", MIGRATION_0001)
        git(clone, "add", "-A")
        git(clone, "commit", "-m", "Alembic project")
        for branch in ("main", "development", "staging"):
            git(clone, "push", "-f", "origin", f"HEAD:{branch}")
        self.cfg = os.path.join(self.work, "rollback.yaml")
        self.write_config(self.config_text + CONFIG_TAIL)
        self.dbname = self.database_name()
        SERVER.create_database(self.dbname)
        self.url = SERVER.url(self.dbname)
        self.alembic("upgrade", "head")

    # -- helpers ---------------------------------------------------------------------------

    def database_name(self):
        ReleaseBase._counter += 1
        return f"release_{ReleaseBase._counter}_{self._testMethodName[5:30]}".lower()

    def alembic(self, *args):
        env = dict(os.environ, DATABASE_URL=self.url, PYTHONDONTWRITEBYTECODE="1")
        r = subprocess.run([ALEMBIC, *args], cwd=self.repos.clone, env=env, capture_output=True, text=True,
                           timeout=TOOL_TIMEOUT)
        if r.returncode != 0:
            raise AssertionError(f"alembic {args} failed: {r.stderr}")
        return r

    def version(self):
        return SERVER.psql(self.dbname, "SELECT version_num FROM alembic_version ORDER BY 1")

    def has_table(self, name):
        return SERVER.psql(self.dbname, f"SELECT count(*) FROM information_schema.tables WHERE table_name = '{name}'") == "1"

    def run_tool(self, *args, **kw):
        env = self.env(self.sandbox, DATABASE_URL=self.url, PYTHONDONTWRITEBYTECODE="1")
        return self.rollback(*args, "--config", self.cfg, env=env, timeout=TOOL_TIMEOUT, **kw)

    def merge_migration_pr(self):
        """The bad PR on staging: a migration creating `orders` and the code using it; applied, as
        the deploy did."""
        number, merge = self.repos.merge_pr({"alembic/versions/0002_orders.py": MIGRATION_0002,
                                             "app/orders.py": "def total():\n    return 'SELECT total FROM orders'\n"},
                                            "Add orders", base="staging")
        self.alembic("upgrade", "head")
        SERVER.psql(self.dbname, "INSERT INTO orders(id, total) VALUES (1, 42)")
        self.assertEqual(self.version(), "0002")
        return number, merge

    def fake_ci(self, branch, stop, seen):
        """Deploys every new commit of `branch` to staging as CI would: a new task definition whose
        image tag is the commit's short SHA, then UpdateService."""
        ecs = self.sandbox.client("ecs")
        while not stop.is_set():
            head = git(self.repos.origin, "rev-parse", branch)
            if head != seen:
                seen = head
                time.sleep(0.5)  # the build
                td = ecs.describe_task_definition(taskDefinition="connect2-api-staging:4")["taskDefinition"]
                c = dict(td["containerDefinitions"][0])
                c["image"] = c["image"].rsplit(":", 1)[0] + ":" + head[:7]
                new = ecs.register_task_definition(family=td["family"], containerDefinitions=[c],
                                                   requiresCompatibilities=["FARGATE"], networkMode="awsvpc",
                                                   cpu="256", memory="512")["taskDefinition"]
                ecs.update_service(cluster="connect2-api-cluster-staging", service="connect2-api-service-staging",
                                   taskDefinition=new["taskDefinitionArn"])
            time.sleep(0.2)

    def with_ci(self, *args, seen=None):
        stop = threading.Event()
        seen = seen or git(self.repos.origin, "rev-parse", "staging")
        ci = threading.Thread(target=self.fake_ci, args=("staging", stop, seen))
        ci.start()
        try:
            return self.run_tool(*args)
        finally:
            stop.set()
            ci.join()

    def release_entries(self):
        """The parent entry and its children, children in the order they began."""
        entries = self.journal()
        [parent] = [e for e in entries if e["layer"] == "release"]
        children = [e for e in reversed(entries) if e["details"].get("parent") == parent["id"]]
        return parent, children

    def block_pushes(self):
        hook = os.path.join(self.repos.origin, "hooks", "pre-receive")
        with open(hook, "w") as f:
            f.write("#!/bin/sh\necho 'GH006: Protected branch update failed for refs/heads/staging.'\nexit 1\n")
        os.chmod(hook, 0o755)
        return hook


@unittest.skipUnless(have_postgres(), "PostgreSQL 15 and /usr/bin/alembic are needed")
class ReleaseTest(ReleaseBase):

    def test_migration_pr_is_downgraded_then_reverted_then_redeployed(self):
        number, merge = self.merge_migration_pr()
        r = self.with_ci("release", "--env", "staging", "--pr", str(number), "--yes", "--timeout", "60s",
                         "--reason", "orders broke checkout")
        self.assertExit(r, 0)
        # The database is below the change's migration, and its table is gone (backed up first).
        self.assertEqual(self.version(), "0001")
        self.assertFalse(self.has_table("orders"))
        self.assertTrue(self.has_table("users"))
        # The revert is on the remote branch; the migration script and the code are gone there.
        head, subject = self.repos.origin_log("staging")[0].split(" ", 1)
        self.assertEqual(subject, f'Revert "Merge pull request #{number} from team/feature-{number}"')
        self.assertIn(f"This reverts commit {merge}", self.repos.origin_message("staging"))
        self.assertIsNone(self.repos.origin_file("alembic/versions/0002_orders.py", "staging"))
        self.assertIsNone(self.repos.origin_file("app/orders.py", "staging"))
        # The steps ran in the runbook's order, and the plan said why and what was exposed.
        out = r.stdout
        self.assertLess(out.index("step 1/3 db-downgrade"), out.index("step 2/3 revert"))
        self.assertLess(out.index("step 2/3 revert"), out.index("step 3/3 redeploy"))
        self.assertIn("Do NOT just revert code", out)
        self.assertIn("the database is at 0001 while the running code still expects 0002", out)
        self.assertIn("the revision below them: 0001", out)
        self.assertNotIn("<PR number>", out)
        # Journal: one parent, three children in that order, each naming the parent.
        parent, children = self.release_entries()
        self.assertEqual(parent["outcome"], "succeeded")
        self.assertEqual(parent["env"], "staging")
        self.assertEqual([c["details"]["release_step"] for c in children], ["db-downgrade", "revert", "redeploy"])
        self.assertEqual([c["layer"] for c in children], ["db", "app", "app"])
        self.assertTrue(all(c["outcome"] == "succeeded" for c in children), children)
        self.assertEqual(children[0]["to_ref"], "0001")
        self.assertEqual(children[1]["details"]["revert_commit"], head)
        self.assertEqual(parent["details"]["revert_commit"], head)
        self.assertEqual([s["status"] for s in parent["details"]["steps"]], ["done", "done", "done"])
        self.assertEqual([s["child"] for s in parent["details"]["steps"]], [c["id"] for c in children])
        # The runbook's checklist is recorded once, on the parent: the plan before, the steps' proof after.
        checklist = {i["item"]: i for i in parent["details"]["checklist"]}
        self.assertEqual(checklist["Database rollback plan"]["result"], "pass", checklist)
        self.assertIn("to 0001", checklist["Database rollback plan"]["evidence"])
        self.assertEqual(checklist["Verify database integrity"]["result"], "pass")
        self.assertIn(children[0]["id"], checklist["Verify database integrity"]["evidence"])
        self.assertEqual(checklist["Verify API is working"]["result"], "pass")
        self.assertIn(f"#{number}", checklist["You know which commit/PR to revert"]["evidence"])
        self.assertTrue(all("checklist" not in c["details"] for c in children))
        svc = self.sandbox.client("ecs").describe_services(cluster="connect2-api-cluster-staging",
                                                           services=["connect2-api-service-staging"])["services"][0]
        self.assertEqual(svc["deployments"][0]["taskDefinition"], children[2]["details"]["deployed_task_definition"])
        self.assertNoSecrets(r.stdout, r.stderr, also=(DB_PASSWORD, DB_PASSWORD_ENCODED))
        # Finished: resume has nothing to continue.
        again = self.run_tool("resume", parent["id"], "--yes")
        self.assertExit(again, 3)
        self.assertIn("already finished", again.stderr)

    def test_ecs_first_rolls_the_service_back_before_the_revert(self):
        number, _ = self.repos.merge_pr({"app/main.py": "def handler():\n    return 'broken'\n"}, "Break it",
                                        base="staging")
        ecs = self.sandbox.client("ecs")
        running = lambda: ecs.describe_services(cluster="connect2-api-cluster-staging",
                                                services=["connect2-api-service-staging"])["services"][0]
        before = running()["taskDefinition"]
        r = self.with_ci("release", "--env", "staging", "--pr", str(number), "--ecs-first", "--yes",
                         "--timeout", "60s")
        self.assertExit(r, 0)
        out = r.stdout
        self.assertLess(out.index("step 1/3 ecs"), out.index("step 2/3 revert"))
        self.assertLess(out.index("step 2/3 revert"), out.index("step 3/3 redeploy"))
        self.assertNotIn("<PR number>", out)
        parent, children = self.release_entries()
        self.assertEqual(parent["outcome"], "succeeded")
        self.assertEqual([c["details"]["release_step"] for c in children], ["ecs", "revert", "redeploy"])
        self.assertEqual([c["layer"] for c in children], ["ecs", "app", "app"])
        self.assertEqual(children[0]["from_ref"], before)
        self.assertNotEqual(children[0]["to_ref"], before)
        # The service ends on the revert's build, not on the emergency revision.
        self.assertEqual(running()["taskDefinition"], children[2]["details"]["deployed_task_definition"])

    def test_resume_does_not_roll_ecs_back_twice(self):
        number, _ = self.repos.merge_pr({"app/main.py": "def handler():\n    return 'broken'\n"}, "Break it",
                                        base="staging")
        hook = self.block_pushes()
        r = self.run_tool("release", "--env", "staging", "--pr", str(number), "--ecs-first", "--yes", "--no-wait")
        self.assertExit(r, 1)
        parent, children = self.release_entries()
        self.assertEqual([s["status"] for s in parent["details"]["steps"]], ["done", "failed"])
        # Killed right after the ECS rollback finished, before the release recorded it: its step
        # still says pending although its own entry succeeded and the service runs its target.
        details = parent["details"]
        details["steps"][0]["status"] = "pending"
        con = sqlite3.connect(self.journal_path())
        con.execute("UPDATE rollbacks SET details = ? WHERE id = ?", (json.dumps(details), parent["id"]))
        con.commit()
        con.close()
        os.unlink(hook)
        r = self.run_tool("resume", parent["id"], "--yes", "--no-wait")
        self.assertExit(r, 0)
        self.assertIn("not rolled back again", r.stdout)
        parent, children = self.release_entries()
        self.assertEqual([s["status"] for s in parent["details"]["steps"]], ["already-done", "done"])
        self.assertEqual([c["details"]["release_step"] for c in children], ["ecs", "revert", "revert"])

    def test_infrastructure_change_is_reverted_as_rollback_infra_does(self):
        number, _ = self.repos.merge_pr({"infrastructure/terraform/main.tf": "resource \"null_resource\" \"b\" {}\n"},
                                        "Change the network", base="staging")
        # --no-wait: no CI applies Terraform here (e2e.test_infra's InfraApplyWaitTest covers the wait).
        r = self.run_tool("release", "--env", "staging", "--pr", str(number), "--yes", "--no-wait")
        self.assertExit(r, 0)
        self.assertIn("1. infra-revert", r.stdout)
        self.assertIn("Terraform workflow", r.stdout)
        self.assertEqual(self.repos.origin_file("infrastructure/terraform/main.tf", "staging"),
                         "resource \"null_resource\" \"a\" {}\n")
        parent, children = self.release_entries()
        self.assertEqual(parent["outcome"], "succeeded")
        self.assertEqual([(c["layer"], c["details"]["release_step"]) for c in children], [("infra", "infra-revert")])
        self.assertEqual(self.version(), "0001")  # no migration in the change: the database is not touched

    def test_dry_run_shows_the_plan_and_changes_nothing(self):
        number, _ = self.merge_migration_pr()
        before = self.repos.origin_log("staging")
        r = self.run_tool("release", "--env", "staging", "--pr", str(number), "--dry-run")
        self.assertExit(r, 0)
        self.assertIn("dry run: nothing was changed", r.stdout)
        self.assertIn("1. db-downgrade", r.stdout)
        self.assertIn("2. revert", r.stdout)
        self.assertIn("3. redeploy", r.stdout)
        self.assertIn("drop", r.stdout.lower())  # the downgrade's risk analysis is shown
        self.assertEqual(self.version(), "0002")
        self.assertTrue(self.has_table("orders"))
        self.assertEqual(self.repos.origin_log("staging"), before)
        self.assertEqual(self.journal(), [])
        r = self.run_tool("release", "--env", "staging", "--pr", str(number), "--dry-run", "--output", "json")
        self.assertExit(r, 0)
        result = json.loads(r.stdout)
        self.assertTrue(result["dry_run"])
        self.assertEqual([s["step"] for s in result["steps"]], ["db-downgrade", "revert", "redeploy"])
        self.assertEqual(result["db"], {"target": "0001", "change_heads": ["0002"], "start_rows": ["0002"]})
        self.assertEqual(self.version(), "0002")
        self.assertEqual(self.journal(), [])
        # No earlier run on record: no estimate is made up.
        self.assertEqual([s["estimate"] for s in result["steps"]], [None, None, None])

    def test_plan_estimates_a_step_from_its_earlier_runs_on_the_environment(self):
        r = self.run_tool("ecs", "--env", "staging", "--yes", "--reason", "earlier incident")
        self.assertExit(r, 0)
        [earlier] = self.journal()
        took = (datetime.fromisoformat(earlier["ended_at"].replace("Z", "+00:00")) -
                datetime.fromisoformat(earlier["started_at"].replace("Z", "+00:00"))).total_seconds()
        number, _ = self.merge_migration_pr()
        r = self.run_tool("release", "--env", "staging", "--pr", str(number), "--ecs-first", "--dry-run")
        self.assertExit(r, 0)
        self.assertIn("median of 1 earlier run)", r.stdout)
        self.assertEqual(r.stdout.count("time: no earlier run on record to estimate from"), 3)
        self.assertIn("estimated total: about", r.stdout)
        self.assertIn("without the 3 step(s) that have no earlier run", r.stdout)
        r = self.run_tool("release", "--env", "staging", "--pr", str(number), "--ecs-first", "--dry-run",
                          "--output", "json")
        steps = json.loads(r.stdout)["steps"]
        self.assertEqual(steps[0]["step"], "ecs")
        self.assertEqual(steps[0]["estimate"], {"seconds": int(took), "samples": 1})
        self.assertEqual([s["estimate"] for s in steps[1:]], [None, None, None])

    def test_failed_push_after_the_downgrade_is_resumed_without_downgrading_twice(self):
        number, merge = self.merge_migration_pr()
        hook = self.block_pushes()
        before = self.repos.origin_log("staging")
        r = self.run_tool("release", "--env", "staging", "--pr", str(number), "--yes", "--no-wait")
        self.assertExit(r, 1)
        self.assertIn("GH006: Protected branch update failed", r.stderr)
        parent, children = self.release_entries()
        self.assertIn(f"rollback resume {parent['id']}", r.stdout)
        self.assertIn(f"rollback resume {parent['id']}", r.stderr)
        # The downgrade happened, the revert did not.
        self.assertEqual(self.version(), "0001")
        self.assertEqual(self.repos.origin_log("staging"), before)
        self.assertEqual(parent["outcome"], "failed")
        self.assertEqual([s["status"] for s in parent["details"]["steps"]], ["done", "failed"])
        self.assertEqual([c["details"]["release_step"] for c in children], ["db-downgrade", "revert"])
        self.assertEqual([c["outcome"] for c in children], ["succeeded", "failed"])

        # A dry run of the resume shows the recorded plan and changes nothing.
        journal_before = self.journal()
        r = self.run_tool("resume", parent["id"], "--dry-run")
        self.assertExit(r, 0)
        self.assertIn("1. db-downgrade (done)", r.stdout)
        self.assertIn("dry run: nothing was changed", r.stdout)
        self.assertEqual(self.journal(), journal_before)
        os.unlink(hook)
        r = self.run_tool("resume", parent["id"], "--yes", "--output", "json", "--reason", "pushes unblocked")
        self.assertExit(r, 0)
        result = json.loads(r.stdout)  # one document: the steps' own results are not printed
        self.assertEqual(result["rollback_id"], parent["id"])
        self.assertEqual(result["outcome"], "succeeded")
        self.assertEqual([(s["step"], s["status"]) for s in result["steps"]], [("db-downgrade", "done"), ("revert", "done")])
        self.assertEqual(self.version(), "0001")
        subject = self.repos.origin_log("staging")[0].split(" ", 1)[1]
        self.assertTrue(subject.startswith('Revert "Merge pull request'), subject)
        parent, children = self.release_entries()
        self.assertEqual(parent["outcome"], "succeeded")
        self.assertEqual([s["status"] for s in parent["details"]["steps"]], ["done", "done"])
        # One downgrade only: the resumed run appended a revert and nothing else.
        steps = [c["details"]["release_step"] for c in children]
        self.assertEqual(steps.count("db-downgrade"), 1, steps)
        self.assertEqual(steps, ["db-downgrade", "revert", "revert"])
        self.assertEqual(children[-1]["outcome"], "succeeded")
        self.assertTrue(any("resumed by" in e and "reason: pushes unblocked" in e for e in parent["events"]),
                        parent["events"])
        # --reason on resume replaces the recorded one for the steps it runs, the revert's message included.
        self.assertEqual(children[-1]["reason"], "pushes unblocked")
        self.assertIn("pushes unblocked", self.repos.origin_message("staging"))
        # The resumed release closes the checklist recorded when it began, as a fresh run does:
        # the "before" items kept, each "after" item added once.
        items = parent["details"]["checklist"]
        self.assertEqual([i["phase"] for i in items].count("before"), 5, items)
        after = {i["item"]: i for i in items if i["phase"] == "after"}
        self.assertEqual(sorted(after), sorted(["Verify API is working", "Monitor logs for errors",
                                                "Verify database integrity",
                                                "Create incident report if production was affected",
                                                "Schedule post-mortem"]), items)
        self.assertEqual(len([i for i in items if i["phase"] == "after"]), 5, items)
        self.assertEqual(after["Verify database integrity"]["result"], "pass", after)
        self.assertIn("no step followed the service", after["Monitor logs for errors"]["evidence"])
        self.assertEqual(result["checklist"], items)

    def test_resume_finds_the_revert_already_pushed_and_the_database_already_down(self):
        # A release killed after the push, before it could record it: the journal says the
        # revert is pending, the branch already has it.
        number, _ = self.merge_migration_pr()
        hook = self.block_pushes()
        r = self.run_tool("release", "--env", "staging", "--pr", str(number), "--yes", "--no-wait")
        self.assertExit(r, 1)
        parent, _ = self.release_entries()
        os.unlink(hook)
        # The revert lands by hand (as CI or a colleague might), then resume is asked to finish.
        self.assertExit(self.run_tool("app", "--env", "staging", "--pr", str(number), "--allow-migrations"), 0)
        pushed = self.repos.origin_log("staging")[0].split(" ")[0]
        r = self.run_tool("resume", parent["id"], "--yes", "--no-wait")
        self.assertExit(r, 0)
        self.assertIn("already on origin/staging: not reverted again", r.stdout)
        self.assertEqual(self.repos.origin_log("staging")[0].split(" ")[0], pushed)  # nothing pushed twice
        parent, children = self.release_entries()
        self.assertEqual([s["status"] for s in parent["details"]["steps"]], ["done", "already-done"])
        self.assertEqual(parent["details"]["revert_commit"], pushed)

    def test_resume_refuses_when_the_database_moved(self):
        number, _ = self.merge_migration_pr()
        # The downgrade itself fails: its table is already gone, so alembic's drop_table fails.
        SERVER.psql(self.dbname, "DROP TABLE orders")
        r = self.run_tool("release", "--env", "staging", "--pr", str(number), "--yes", "--no-wait")
        self.assertNotEqual(r.returncode, 0)
        parent, _ = self.release_entries()
        self.assertEqual(parent["details"]["steps"][0]["status"], "failed")
        self.assertEqual(self.version(), "0002")
        # Someone moves the database on to a revision the plan did not expect.
        SERVER.psql(self.dbname, "DELETE FROM alembic_version")
        before = self.repos.origin_log("staging")
        r = self.run_tool("resume", parent["id"], "--yes", "--no-wait")
        self.assertExit(r, 3)
        self.assertIn("the database moved", r.stderr)
        self.assertIn("no rows (base)", r.stderr)
        self.assertEqual(self.repos.origin_log("staging"), before)

    def test_ctrl_c_during_the_redeploy_leaves_a_resumable_release_and_releases_the_lock(self):
        number, _ = self.merge_migration_pr()
        before = git(self.repos.origin, "rev-parse", "staging")
        # No CI: the redeploy step waits; Ctrl-C while it does.
        env = self.env(self.sandbox, DATABASE_URL=self.url, PYTHONDONTWRITEBYTECODE="1")
        proc = self.start_rollback("release", "--config", self.cfg, "--env", "staging", "--pr", str(number), "--yes",
                                   "--timeout", "120s", env=env)
        try:
            harness.wait_for(lambda: any(e["details"].get("release_step") == "redeploy" for e in self.journal()),
                             timeout=90, message="the redeploy step")
            time.sleep(0.5)
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        self.assertEqual(proc.returncode, 130, out + err)
        parent, children = self.release_entries()
        self.assertEqual(parent["outcome"], "interrupted")
        self.assertEqual([s["status"] for s in parent["details"]["steps"]], ["done", "done", "failed"])
        self.assertIn(f"rollback resume {parent['id']}", err)
        self.assertEqual(self.version(), "0001")
        # The lock was released: resume takes it, does not downgrade or revert again, and
        # follows CI's deploy of the revert that is already on the branch.
        r = self.with_ci("resume", parent["id"], "--yes", "--timeout", "60s", seen=before)
        self.assertExit(r, 0)
        parent, children = self.release_entries()
        self.assertEqual(parent["outcome"], "succeeded")
        steps = [c["details"]["release_step"] for c in children]
        self.assertEqual(steps, ["db-downgrade", "revert", "redeploy", "redeploy"])
        self.assertEqual([c["outcome"] for c in children], ["succeeded", "succeeded", "interrupted", "succeeded"])
        self.assertEqual(len([line for line in self.repos.origin_log("staging", 10) if " Revert " in line]), 1)

    def test_killed_after_the_downgrade_is_resumed_after_unlock(self):
        number, _ = self.merge_migration_pr()
        before = git(self.repos.origin, "rev-parse", "staging")
        env = self.env(self.sandbox, DATABASE_URL=self.url, PYTHONDONTWRITEBYTECODE="1")
        proc = self.start_rollback("release", "--config", self.cfg, "--env", "staging", "--pr", str(number), "--yes",
                                   "--timeout", "120s", env=env)
        try:
            harness.wait_for(lambda: any(e["details"].get("release_step") == "redeploy" for e in self.journal()),
                             timeout=90, message="the redeploy step")
            proc.kill()  # SIGKILL: nothing of the tool runs after this
            proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        parent, _ = self.release_entries()
        self.assertEqual(parent["outcome"], "running")
        self.assertEqual([s["status"] for s in parent["details"]["steps"]], ["done", "done", "pending"])
        # The dead process's lock is reported, not taken over; unlock breaks it, then resume goes on.
        r = self.run_tool("resume", parent["id"], "--yes")
        self.assertExit(r, 4)
        self.assertExit(self.run_tool("unlock", "--env", "staging", "--yes"), 0)
        r = self.with_ci("resume", parent["id"], "--yes", "--timeout", "60s", seen=before)
        self.assertExit(r, 0)
        self.assertEqual(self.version(), "0001")
        parent, children = self.release_entries()
        self.assertEqual(parent["outcome"], "succeeded")
        self.assertEqual([c["details"]["release_step"] for c in children],
                         ["db-downgrade", "revert", "redeploy", "redeploy"])
        # The killed redeploy's entry is closed as interrupted by the resumed run, not left running.
        self.assertEqual([c["outcome"] for c in children], ["succeeded", "succeeded", "interrupted", "succeeded"])

    def test_protected_environment_needs_the_typed_confirmation(self):
        number, _ = self.repos.merge_pr({"app/main.py": "broken\n"}, base="main")
        before = self.repos.origin_log("main")
        r = self.run_tool("release", "--env", "prod", "--reason", "the PR broke orders", "--pr", str(number), "--no-wait")
        self.assertExit(r, 3)
        self.assertIn("protected environment", r.stderr)
        self.assertEqual(self.repos.origin_log("main"), before)
        self.assertEqual(self.journal(), [])

    def test_resume_of_an_unknown_or_non_release_id_is_refused(self):
        r = self.run_tool("resume", "20260101-000000-dead", "--yes")
        self.assertExit(r, 2)
        self.assertIn("no rollback 20260101-000000-dead in the journal", r.stderr)
        self.assertEqual(self.journal(), [])
        number, _ = self.repos.merge_pr({"app/main.py": "broken\n"}, base="staging")
        self.assertExit(self.run_tool("app", "--env", "staging", "--pr", str(number)), 0)
        [entry] = self.journal()
        r = self.run_tool("resume", entry["id"], "--yes")
        self.assertExit(r, 3)
        self.assertIn("not a release", r.stderr)
        r = self.run_tool("resume", "../etc", "--yes")
        self.assertExit(r, 2)


@unittest.skipUnless(have_postgres(), "PostgreSQL 15 and /usr/bin/alembic are needed")
class ReleaseViaEcsTaskTest(ReleaseBase):
    """--via ecs-task: the sandbox runs the downgrade's RunTask command as a real local process in
    the repository (exec_dirs), with the database URL in its environment like a task's secret."""

    DBNAME = "release_ecs_task"

    @classmethod
    def setUpClass(cls):
        saved = os.environ.get("DATABASE_URL")
        os.environ["DATABASE_URL"] = SERVER.url(cls.DBNAME)  # what the task's container gets
        try:
            cls.sandbox = Sandbox(task_start_delay=0.2)
        finally:
            if saved is None:
                os.environ.pop("DATABASE_URL", None)
            else:
                os.environ["DATABASE_URL"] = saved

    def database_name(self):
        SERVER.psql_super(f'DROP DATABASE IF EXISTS "{self.DBNAME}"')
        return self.DBNAME

    def test_downgrade_step_runs_as_a_task_of_the_current_task_definition(self):
        self.sandbox.control("exec_dirs", {"connect2-api": self.repos.clone})
        self.sandbox.control("calls/reset", {})
        number, _ = self.merge_migration_pr()
        r = self.run_tool("release", "--env", "staging", "--pr", str(number), "--via", "ecs-task", "--yes", "--no-wait")
        self.assertExit(r, 0)
        self.assertEqual(self.version(), "0001")
        self.assertFalse(self.has_table("orders"))
        parent, children = self.release_entries()
        self.assertEqual(parent["details"]["release"]["via"], "ecs-task")
        self.assertEqual([c["details"]["release_step"] for c in children], ["db-downgrade", "revert"])
        self.assertEqual(children[0]["details"]["via"], "ecs-task")
        self.assertEqual(self.sandbox.control("calls?operation=RunTask")["counts"].get("RunTask"), 1)
        arn = children[0]["details"]["task"]["task_arn"]
        task = self.sandbox.client("ecs").describe_tasks(cluster="connect2-api-cluster-staging", tasks=[arn])["tasks"][0]
        self.assertEqual(task["overrides"]["containerOverrides"][0]["command"], [ALEMBIC, "downgrade", "0001"])


if __name__ == "__main__":
    unittest.main()
