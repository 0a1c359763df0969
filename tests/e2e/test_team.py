"""Team mode: one lock, one journal and one voice on DynamoDB (moto's, in the sandbox).

"Machines" are processes with their own state folder (XDG_STATE_HOME: journal, outbox, file
locks) and user; they share only the team table, as two laptops would."""

import http.server
import json
import os
import signal
import subprocess
import threading
import time
import unittest
import uuid

from harness import PLANTED_SECRET_KEY, PLANTED_SESSION_TOKEN, RollbackTestCase, Sandbox, free_port, wait_for

# Races per run: 10 in CI, 50 in the full run (ROLLBACK_TEAM_RACES=50).
RACES = int(os.environ.get("ROLLBACK_TEAM_RACES", "10"))
# Rollbacks under 20 % injected DynamoDB errors: 20 in the full run, fewer in CI.
FAULTY_ROLLBACKS = int(os.environ.get("ROLLBACK_TEAM_FAULTY_ROLLBACKS", "8"))
LEASE_SECONDS = 3

# Planted in the webhook URLs: must never appear in output, journals or the table.
PLANTED_HOOK_TOKEN = "PLANTEDhookTOKEN0123456789xyz"

DEV = ("connect2-api-cluster-dev", "connect2-api-service-dev")
STAGING = ("connect2-api-cluster-staging", "connect2-api-service-staging")


def team_config(table, notify=""):
    return f"""app: connect2-api
region: us-east-1
team:
  table: {table}
  lease: {LEASE_SECONDS}s
{notify}environments:
  dev:     {{ branch: development }}
  staging: {{ branch: staging }}
  prod:    {{ branch: main, protected: true }}
"""


class Recorder(http.server.BaseHTTPRequestHandler):
    """A loopback webhook endpoint that keeps every POST (path, JSON body)."""

    received = None
    status = 200

    def do_POST(self):  # noqa: N802 (http.server's name)
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length).decode()
        type(self).received.append((self.path, body))
        self.send_response(type(self).status)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


class TeamTestCase(RollbackTestCase):
    task_start_delay = 0.3

    def setUp(self):
        super().setUp()
        self.sandbox = Sandbox(task_start_delay=self.task_start_delay)
        self.addCleanup(self.sandbox.stop)
        self.ddb = self.sandbox.client("dynamodb")
        self.ecs = self.sandbox.client("ecs")
        self.table = "rollback-team-" + uuid.uuid4().hex[:8]
        self.write_config(team_config(self.table, getattr(self, "notify_block", "")))

    # -- helpers --------------------------------------------------------------------------
    def create_table(self):
        r = self.rollback("team", "init", "--yes", sandbox=self.sandbox)
        self.assertExit(r, 0)

    def machine(self, name, **extra):
        """The environment of a process on machine `name`: its own state folder and user."""
        env = self.env(self.sandbox, **extra)
        env["XDG_STATE_HOME"] = os.path.join(self.work, "state-" + name)
        env["ROLLBACK_USER"] = name
        return env

    def on(self, name, *args, timeout=120, **extra):
        return self.rollback(*args, env=self.machine(name, **extra), timeout=timeout)

    def start_on(self, name, *args, **extra):
        return self.start_rollback(*args, env=self.machine(name, **extra))

    def lock_item(self, env):
        r = self.ddb.get_item(TableName=self.table, Key={"pk": {"S": f"LOCK#connect2-api#{env}"}, "sk": {"S": "LOCK"}},
                              ConsistentRead=True)
        return r.get("Item")

    def items(self):
        out, kwargs = [], {"TableName": self.table}
        while True:
            page = self.ddb.scan(**kwargs)
            out.extend(page["Items"])
            if "LastEvaluatedKey" not in page:
                return out
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def machine_journal(self, name):
        self.state = os.path.join(self.work, "state-" + name)
        return self.journal()

    def revision(self, which):
        svc = self.ecs.describe_services(cluster=which[0], services=[which[1]])["services"][0]
        primary = [d for d in svc["deployments"] if d["status"] == "PRIMARY"][0]
        return int(primary["taskDefinition"].rsplit(":", 1)[1])


class TeamInitTest(TeamTestCase):
    def test_init_shows_the_call_creates_the_table_and_is_idempotent(self):
        r = self.rollback("team", "init", "--dry-run", sandbox=self.sandbox)
        self.assertExit(r, 0)
        self.assertIn("CreateTable", r.stdout)
        self.assertIn("PAY_PER_REQUEST", r.stdout)
        self.assertNotIn(self.table, self.ddb.list_tables()["TableNames"])
        r = self.rollback("team", "init", sandbox=self.sandbox)  # no terminal, no --yes: refused
        self.assertExit(r, 3)
        self.assertNotIn(self.table, self.ddb.list_tables()["TableNames"])
        self.create_table()
        t = self.ddb.describe_table(TableName=self.table)["Table"]
        self.assertEqual(t["BillingModeSummary"]["BillingMode"], "PAY_PER_REQUEST")
        self.assertEqual({k["AttributeName"]: k["KeyType"] for k in t["KeySchema"]}, {"pk": "HASH", "sk": "RANGE"})
        r = self.rollback("team", "init", "--yes", sandbox=self.sandbox)
        self.assertExit(r, 0)
        self.assertIn("already exists", r.stdout)

    def test_bad_team_config_is_a_usage_error_naming_the_key(self):
        self.write_config(team_config(self.table).replace(f"lease: {LEASE_SECONDS}s", "lese: 3s"))
        r = self.rollback("status", "--env", "dev", sandbox=self.sandbox)
        self.assertExit(r, 2)
        self.assertIn("unknown key 'lese'", r.stderr)
        self.assertIn("did you mean 'lease'", r.stderr)
        self.write_config(team_config(self.table, "  notify:\n    - slack: { url: https://hooks.example/x }\n"))
        r = self.rollback("status", "--env", "dev", sandbox=self.sandbox)
        self.assertExit(r, 2)
        self.assertIn("environment variable", r.stderr)


class TeamLockTest(TeamTestCase):
    task_start_delay = 0.5

    def test_races_between_machines_let_exactly_one_in_and_name_the_holder(self):
        self.create_table()
        for i in range(RACES):
            target = "3" if i % 2 == 0 else "4"
            a = self.start_on("alice", "ecs", "--env", "dev", "--to-revision", target)
            b = self.start_on("bob", "ecs", "--env", "dev", "--to-revision", target)
            results = {}
            for name, p in (("alice", a), ("bob", b)):
                out, err = p.communicate(timeout=120)
                results[name] = (p.returncode, out, err)
            codes = sorted(c for c, _, _ in results.values())
            self.assertEqual(codes, [0, 4], f"race {i}: {results}")
            winner = [n for n, (c, _, _) in results.items() if c == 0][0]
            loser = [n for n, (c, _, _) in results.items() if c == 4][0]
            err = results[loser][2]
            self.assertIn("dev is locked", err)
            self.assertIn(f"by {winner}", err)  # who
            self.assertIn("since", err)  # since when
            self.assertIn(f"--to-revision {target}", err)  # doing what
            self.assertIn("last heartbeat", err)
            self.assertRegex(err, r"\(arn:aws:(sts|iam)::\d{12}:")  # as whom (STS, the environment's credentials)
            self.assertEqual(self.revision(DEV), int(target))
            self.assertIsNone(self.lock_item("dev"), "the winner released the lock")

    def test_killed_holder_is_breakable_after_its_lease_and_not_before(self):
        self.create_table()
        self.sandbox.control("config", {"task_start_delay": 60})  # the holder waits a long time
        holder = self.start_on("alice", "ecs", "--env", "staging", "--to-revision", "3")
        wait_for(lambda: self.lock_item("staging") and self.lock_item("staging").get("rollback_id", {}).get("S", "-") != "-",
                 timeout=60, message="alice's lock with its rollback id")
        rollback_id = self.lock_item("staging")["rollback_id"]["S"]
        holder.send_signal(signal.SIGKILL)
        holder.wait(10)
        # Not before: the lease has not been observed to run out.
        r = self.on("bob", "unlock", "--env", "staging", "--yes", "--no-wait")
        self.assertExit(r, 4)
        self.assertIn("alice", r.stderr)
        self.assertIn("can be broken", r.stderr)
        self.assertIsNotNone(self.lock_item("staging"))
        r = self.on("bob", "ecs", "--env", "staging", "--to-revision", "4", "--no-wait")
        self.assertExit(r, 4)
        self.assertIn("alice", r.stderr)
        time.sleep(LEASE_SECONDS + 0.5)
        # After: bob has seen it unchanged for a full lease on his own clock.
        r = self.on("bob", "unlock", "--env", "staging", "--yes", "--no-wait")
        self.assertExit(r, 0)
        self.assertIn("is broken", r.stdout)
        self.assertIsNone(self.lock_item("staging"))
        # Journaled on the team table: who broke whose lock, and alice's rollback is interrupted.
        items = self.items()
        lock_entries = [i for i in items if i["sk"]["S"] == "ENTRY" and i.get("layer", {}).get("S") == "lock"]
        self.assertEqual(len(lock_entries), 1)
        self.assertIn("alice", lock_entries[0]["from_ref"]["S"])
        self.assertIn("bob", lock_entries[0]["to_ref"]["S"])
        [alice_entry] = [i for i in items if i["pk"]["S"] == f"RB#{rollback_id}" and i["sk"]["S"] == "ENTRY"]
        self.assertEqual(alice_entry["outcome"]["S"], "interrupted")
        # And the next rollback proceeds.
        self.sandbox.control("config", {"task_start_delay": 0.3})
        r = self.on("bob", "ecs", "--env", "staging", "--to-revision", "4", "--no-wait")
        self.assertExit(r, 0)

    def test_live_holder_with_a_skewed_clock_is_never_broken(self):
        self.create_table()
        self.sandbox.control("config", {"task_start_delay": 60})
        # The holder's clock is an hour behind: its heartbeat timestamps look long expired.
        holder = self.start_on("alice", "ecs", "--env", "staging", "--to-revision", "3",
                               ROLLBACK_TEST_CLOCK_OFFSET="-3600s")
        self.addCleanup(lambda: holder.poll() is None and holder.kill())
        wait_for(lambda: self.lock_item("staging"), timeout=60, message="alice's lock")
        # A breaker whose clock runs an hour ahead watches, sees the heartbeat, and refuses.
        r = self.on("bob", "unlock", "--env", "staging", "--yes", ROLLBACK_TEST_CLOCK_OFFSET="3600s", timeout=60)
        self.assertExit(r, 4)
        self.assertIn("renewed while we watched", r.stderr)
        self.assertIsNotNone(self.lock_item("staging"))
        self.assertEqual(self.lock_item("staging")["user"]["S"], "alice")
        # A second operator with a skewed clock cannot take it either.
        r = self.on("carol", "ecs", "--env", "staging", "--to-revision", "4", "--no-wait",
                    ROLLBACK_TEST_CLOCK_OFFSET="7200s")
        self.assertExit(r, 4)
        holder.send_signal(signal.SIGINT)
        holder.wait(30)
        self.assertIsNone(self.lock_item("staging"), "Ctrl-C released the lock")

    def test_unreachable_table_refuses_to_start_and_local_lock_overrides_journaled(self):
        self.create_table()
        self.sandbox.control("calls/reset", {})
        dead = f"http://127.0.0.1:{free_port()}"
        r = self.on("alice", "ecs", "--env", "dev", "--to-revision", "3", "--no-wait",
                    AWS_ENDPOINT_URL_DYNAMODB=dead, AWS_MAX_ATTEMPTS="1")
        self.assertExit(r, 5)
        self.assertIn("--local-lock", r.stderr)
        self.assertEqual(self.sandbox.control("calls?operation=UpdateService")["calls"], [])
        self.assertEqual(self.revision(DEV), 6)
        r = self.on("alice", "ecs", "--env", "dev", "--to-revision", "3", "--no-wait", "--local-lock",
                    AWS_ENDPOINT_URL_DYNAMODB=dead, AWS_MAX_ATTEMPTS="1")
        self.assertExit(r, 0)
        self.assertIn("--local-lock", r.stderr)
        self.assertEqual(self.revision(DEV), 3)
        [entry] = self.machine_journal("alice")
        self.assertTrue(entry["details"]["local_lock_override"])
        self.assertTrue(any("--local-lock" in e for e in entry["events"]))
        # Not shared yet, and marked so; the next command that reaches the table pushes it.
        r = self.on("alice", "history", "--env", "dev", AWS_ENDPOINT_URL_DYNAMODB=dead, AWS_MAX_ATTEMPTS="1")
        self.assertExit(r, 0)
        self.assertIn("not yet shared", r.stdout)
        self.assertEqual([i for i in self.items() if i["sk"]["S"] == "ENTRY"], [])
        r = self.on("bob", "history", "--env", "dev")
        self.assertNotIn(entry["id"], r.stdout)
        r = self.on("alice", "history", "--env", "dev")
        self.assertExit(r, 0)
        self.assertNotIn("not yet shared", r.stdout)
        r = self.on("bob", "history", "--env", "dev")
        self.assertIn(entry["id"], r.stdout)


class TeamJournalTest(TeamTestCase):
    def test_machine_a_rollback_is_seen_by_machine_b_and_is_its_last_known_good(self):
        self.create_table()
        r = self.on("alice", "ecs", "--env", "staging", "--to-revision", "3", "--reason", "bad deploy")
        self.assertExit(r, 0)
        rollback_id = json.loads(self.on("alice", "history", "--env", "staging", "--output", "json").stdout)["rollbacks"][0]["id"]
        # Someone deploys the bad revision again.
        self.ecs.update_service(cluster=STAGING[0], service=STAGING[1],
                                taskDefinition="connect2-api-staging:6", forceNewDeployment=True)
        # Bob, on another machine with an empty journal, sees alice's rollback...
        r = self.on("bob", "history", "--env", "staging")
        self.assertExit(r, 0)
        self.assertIn(rollback_id, r.stdout)
        self.assertIn("alice", r.stdout)
        self.assertNotIn("not yet shared", r.stdout)
        r = self.on("bob", "history", "--id", rollback_id)
        self.assertExit(r, 0)
        self.assertIn("UpdateService sent", r.stdout)
        r = self.on("bob", "status", "--env", "staging")
        self.assertExit(r, 0)
        self.assertIn(rollback_id, r.stdout)
        self.assertIn("lock     free (team)", r.stdout)
        # ...and her target is his last known good: 3, not the nearest older ACTIVE revision 4.
        r = self.on("bob", "ecs", "--env", "staging", "--dry-run", "--output", "json")
        self.assertExit(r, 0)
        plan = json.loads(r.stdout)["plan"]
        self.assertEqual(plan["to"]["revision"], 3, plan)
        self.assertEqual(self.machine_journal("bob"), [])  # read from the table, not copied

    def test_injected_dynamodb_errors_lose_nothing_and_double_nothing(self):
        self.create_table()
        # 20 % of DynamoDB calls fail: half before the write, half after it took effect.
        self.sandbox.control("faults", {"rules": [
            {"operation": "*", "service": "dynamodb", "kind": "error500", "probability": 0.1, "seed": 7},
            {"operation": "*", "service": "dynamodb", "kind": "error500_after", "probability": 0.1, "seed": 11}]})
        codes = []
        for i in range(FAULTY_ROLLBACKS):
            target = "3" if i % 2 == 0 else "4"
            r = self.on("alice", "ecs", "--env", "dev", "--to-revision", target, "--no-wait", "--reason", f"drill {i}")
            codes.append(r.returncode)
        self.assertEqual(codes, [0] * FAULTY_ROLLBACKS)
        faults = [c for c in self.sandbox.control("calls")["calls"] if c["service"] == "dynamodb" and c["fault"]]
        self.assertGreater(len(faults), 0, "faults were injected")
        self.sandbox.control("faults", {}, method="DELETE")
        r = self.on("alice", "history", "--env", "dev", "--limit", "100")  # pushes whatever was left
        self.assertExit(r, 0)
        self.assertNotIn("not yet shared", r.stdout)
        local = self.machine_journal("alice")
        self.assertEqual(len(local), FAULTY_ROLLBACKS)
        items = self.items()
        env_items = [i for i in items if i["pk"]["S"] == "ENV#connect2-api#dev"]
        self.assertEqual(sorted(i["id"]["S"] for i in env_items), sorted(e["id"] for e in local))
        for e in local:
            [entry] = [i for i in items if i["pk"]["S"] == f"RB#{e['id']}" and i["sk"]["S"] == "ENTRY"]
            self.assertEqual(entry["outcome"]["S"], e["outcome"])
            events = sorted(i["message"]["S"] for i in items
                            if i["pk"]["S"] == f"RB#{e['id']}" and i["sk"]["S"].startswith("E#"))
            self.assertEqual(events, sorted(e["events"]), f"events of {e['id']}")


class TeamNotifyTest(TeamTestCase):
    notify_block = ("  notify:\n    - slack: { webhook_env: ROLLBACK_SLACK_WEBHOOK }\n"
                    "    - webhook: { url_env: ROLLBACK_HOOK_URL }\n")

    def setUp(self):
        super().setUp()
        Recorder.received = []
        Recorder.status = 200
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.addCleanup(self.server.server_close)
        self.addCleanup(self.server.shutdown)
        base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.hooks = {"ROLLBACK_SLACK_WEBHOOK": f"{base}/slack/{PLANTED_HOOK_TOKEN}",
                      "ROLLBACK_HOOK_URL": f"{base}/hook/{PLANTED_HOOK_TOKEN}"}

    def posts(self, prefix):
        return [json.loads(body) for path, body in Recorder.received if path.startswith(prefix)]

    def assertNoPlantedSecrets(self, *texts):
        secrets = (PLANTED_HOOK_TOKEN, PLANTED_SECRET_KEY, PLANTED_SESSION_TOKEN)
        for t in texts:
            for s in secrets:
                self.assertNotIn(s, t)
        table = json.dumps(self.items())
        for s in secrets:
            self.assertNotIn(s, table)
        for name in ("alice",):
            for root, _, files in os.walk(os.path.join(self.work, "state-" + name)):
                for f in files:
                    data = open(os.path.join(root, f), "rb").read()
                    for s in secrets:
                        self.assertNotIn(s.encode(), data, f)

    def test_slack_and_webhook_get_start_and_outcome_without_secrets(self):
        self.create_table()
        r = self.on("alice", "ecs", "--env", "dev", "--to-revision", "3", "--reason", "error rate 12%", **self.hooks)
        self.assertExit(r, 0)
        slack = self.posts("/slack/")
        self.assertEqual(len(slack), 2, Recorder.received)
        started, done = slack
        self.assertIn("started", started["text"])
        fields = " ".join(f["text"] for b in done["blocks"] if b["type"] == "section" for f in b["fields"])
        for want in ("*Environment*\ndev", "alice", "connect2-api-dev:6", "connect2-api-dev:3", "error rate 12%",
                     "succeeded", "*Duration*"):
            self.assertIn(want, fields)
        hooks = self.posts("/hook/")
        self.assertEqual([h["event"] for h in hooks], ["rollback.started", "rollback.succeeded"])
        self.assertEqual(hooks[1]["entry"]["env"], "dev")
        self.assertEqual(hooks[1]["entry"]["outcome"], "succeeded")
        self.assertEqual(hooks[1]["entry"]["reason"], "error rate 12%")
        self.assertGreaterEqual(hooks[1]["duration_seconds"], 0)
        # The results are journaled, by variable name only.
        [entry] = self.machine_journal("alice")
        delivered = [e for e in entry["events"] if e.startswith("notification")]
        self.assertEqual(len(delivered), 4, entry["events"])
        self.assertTrue(all("delivered" in e and "ROLLBACK_" in e for e in delivered))
        self.assertNoPlantedSecrets(r.stdout, r.stderr, json.dumps(entry))

    def test_failure_is_announced_with_its_signal_and_a_dead_webhook_only_warns(self):
        self.create_table()
        self.sandbox.control("images", {"bad": ["connect2-api:03fcf72"]})
        hooks = dict(self.hooks)
        hooks["ROLLBACK_SLACK_WEBHOOK"] = f"http://127.0.0.1:{free_port()}/slack/{PLANTED_HOOK_TOKEN}"  # nobody there
        r = self.on("alice", "ecs", "--env", "dev", "--to-revision", "3", **hooks)
        self.assertExit(r, 1)
        self.assertIn("NOT delivered", r.stderr)
        [failed] = [h for h in self.posts("/hook/") if h["event"] == "rollback.failed"]
        [entry] = self.machine_journal("alice")
        self.assertEqual(entry["outcome"], "failed")
        # The failing signal: what the waiter saw. ECS's circuit breaker stops the bad target and
        # rolls the service back; on a loaded machine the waiter may first see the rollback itself
        # (the service moved away from the target). Either is the signal, announced verbatim.
        self.assertTrue(failed["failure"])
        self.assertEqual(failed["failure"], entry["details"]["error"])
        self.assertRegex(failed["failure"], "circuit breaker|ECS moved the service away from the target")
        self.assertTrue(any("NOT delivered" in e and "ROLLBACK_SLACK_WEBHOOK" in e for e in entry["events"]))
        self.assertNoPlantedSecrets(r.stdout, r.stderr, json.dumps(entry))

    def test_notify_test_sends_a_test_message(self):
        r = self.on("alice", "notify", "test", "--env", "prod", **self.hooks)
        self.assertExit(r, 0)
        self.assertEqual(len(self.posts("/slack/")), 1)
        [hook] = self.posts("/hook/")
        self.assertEqual(hook["event"], "rollback.test")
        self.assertEqual(hook["entry"]["env"], "prod")
        self.assertNotIn(PLANTED_HOOK_TOKEN, r.stdout + r.stderr)
        Recorder.status = 500
        r = self.on("alice", "notify", "test", "--env", "prod", **self.hooks)
        self.assertExit(r, 1)
        self.assertIn("HTTP 500", r.stdout)
        self.assertNotIn(PLANTED_HOOK_TOKEN, r.stdout + r.stderr)


if __name__ == "__main__":
    unittest.main()
