#!/usr/bin/env python3
"""The reliability figures of issue 8, measured against the real binary and real substitutes.

  R1 faults       rollbacks through the sandbox's fault injection (30 % throttling, 5 % 5xx,
                  3 % dropped connections, 5 % processed-then-failed, 0-300 ms latency)
  R2 kills        SIGKILL at a random moment of rollbacks of each layer (ecs, app, db, state)
  R3 concurrency  races of two operators for one environment
  R4 state        state restores under S3 and DynamoDB faults
  R6 secrets      planted secrets searched for in everything the e2e suite captured
  R7 bad inputs   the hostile-input tables of the e2e suite

(R5, fuzzing, is scripts/fuzz.sh.) Every figure is "N of M", counted here, never typed by hand.

  reliability.py run [--size short|full] [--only R1,R3] [--json OUT] [--seed S]
  reliability.py secrets --capture DIR [--json OUT]
  reliability.py hostile [--json OUT]

A run that did not end correctly is either an honest failure (the tool said it failed, the
journal agrees, nothing was done twice: counted in the notes) or a violation (a wrong report, a
second deployment, a lost version, a lock nobody can clear, a leaked secret).
Exit status: 0 when no figure has a violation (what CI gates on), 1 otherwise, 2 on a usage
error. The figures themselves are printed and, with --json, written for docs/RELIABILITY.md.
"""

import argparse
import collections
import hashlib
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))

import harness  # noqa: E402
from harness import BINARY, GitRepos, Sandbox, git  # noqa: E402

# How many runs each figure makes. "short" runs in CI (scripts/test.sh); "full" is
# scripts/reliability.sh, whose output goes into docs/RELIABILITY.md.
SIZES = {
    "short": {"R1": 8, "R2": 2, "R3": 8, "R4": 4},
    "medium": {"R1": 30, "R2": 10, "R3": 30, "R4": 15},
    "full": {"R1": 100, "R2": 50, "R3": 100, "R4": 40},
}

# The fault mix of R1, as overall shares of requests (issue 8). The sandbox applies the first
# matching rule that hits, so each rule's probability is conditional on the earlier ones missing.
R1_FAULTS = [("throttle", 0.30), ("error500", 0.05), ("drop", 0.03), ("error500_after", 0.05)]
R1_LATENCY_MS = (0, 300)
# R4's mix for S3 and DynamoDB.
R4_FAULTS = [("throttle", 0.20), ("error500", 0.05), ("drop", 0.03), ("error500_after", 0.03)]

TASK_START_DELAY = 0.2   # sandbox seconds per task start: short, the wait logic is what is measured
RUN_TIMEOUT = 300        # seconds one rollback may take before the driver calls it hung
SETTLE_TIMEOUT = 60      # seconds for ECS to settle after a rollback, read without faults

RUNBOOK_CONFIG = harness.RUNBOOK_CONFIG


def conditional_rules(mix, seed, service=None, operation="*"):
    """Sandbox fault rules giving each kind its overall share; each rule has its own seed, so the
    same seed replays the same faults."""
    rules, left = [], 1.0
    for k, (kind, share) in enumerate(mix):
        rule = {"operation": operation, "kind": kind, "probability": min(1.0, share / left),
                "seed": seed * 100 + k}
        if service:
            rule["service"] = service
        rules.append(rule)
        left -= share
    return rules


class Figure:
    def __init__(self, key, title):
        self.key, self.title = key, title
        self.passed = 0
        self.total = 0
        self.misses = []
        self.violations = 0
        self.skipped = ""  # why the figure could not be measured here
        self.notes = collections.Counter()

    def record(self, ok, what="", violation=None):
        """`violation`: the miss broke a safety promise (default: every miss does)."""
        self.total += 1
        if ok:
            self.passed += 1
            return
        self.misses.append(what)
        if violation is None or violation:
            self.violations += 1

    def as_dict(self):
        return {"key": self.key, "title": self.title, "passed": self.passed, "total": self.total,
                "violations": self.violations, "skipped": self.skipped, "misses": self.misses[:20], "notes": dict(self.notes)}

    def line(self):
        if self.skipped:
            return f"{self.key} {self.title}: skipped ({self.skipped})"
        extra = f" ({self.violations} violation(s))" if self.violations else ""
        return f"{self.key} {self.title}: {self.passed} of {self.total}{extra}"


class Workspace:
    """A folder with rollback.yaml, its own HOME and state dir, like the e2e tests' cases."""

    def __init__(self, config_text=RUNBOOK_CONFIG):
        self.work = tempfile.mkdtemp(prefix="rollback-rel-")
        self.home = os.path.join(self.work, "home")
        self.state = os.path.join(self.work, "state")
        os.makedirs(self.home)
        self.write_config(config_text)

    def write_config(self, text):
        with open(os.path.join(self.work, "rollback.yaml"), "w") as f:
            f.write(text)

    def env(self, sandbox=None, **extra):
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update({"HOME": self.home, "XDG_STATE_HOME": self.state, "ROLLBACK_USER": "reliability",
                    "AWS_ACCESS_KEY_ID": "AKIARELIABILITY00001", "AWS_SECRET_ACCESS_KEY": harness.PLANTED_SECRET_KEY,
                    "AWS_SESSION_TOKEN": harness.PLANTED_SESSION_TOKEN, "AWS_REGION": "us-east-1",
                    "AWS_EC2_METADATA_DISABLED": "true"})
        if sandbox is not None:
            env["AWS_ENDPOINT_URL"] = sandbox.url
        env.update({k: str(v) for k, v in extra.items()})
        return env

    def run(self, *args, sandbox=None, env=None, timeout=RUN_TIMEOUT):
        try:
            return subprocess.run([BINARY, *args], cwd=self.work, env=env or self.env(sandbox),
                                  stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired as e:
            return subprocess.CompletedProcess(e.cmd, -999, e.stdout or "", "driver: timed out")

    def start(self, *args, sandbox=None, env=None):
        return subprocess.Popen([BINARY, *args], cwd=self.work, env=env or self.env(sandbox),
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                text=True, start_new_session=True)

    def journal(self):
        path = os.path.join(self.state, "rollback", "journal.db")
        if not os.path.exists(path):
            return []
        con = sqlite3.connect(path, timeout=10)  # not read-only: a killed writer may leave a hot journal to recover
        con.row_factory = sqlite3.Row
        try:
            # Killed between creating the file and its tables (one transaction): nothing recorded.
            if not con.execute("SELECT count(*) FROM sqlite_master WHERE name = 'events'").fetchone()[0]:
                return []
            rows = [dict(r) for r in con.execute("SELECT * FROM rollbacks ORDER BY started_at, rowid")]
            for r in rows:
                r["events"] = [e[0] for e in con.execute(
                    "SELECT message FROM events WHERE rollback_id = ? ORDER BY seq", (r["id"],))]
        finally:
            con.close()
        return rows

    def cleanup(self):
        shutil.rmtree(self.work, ignore_errors=True)


def kill_group(proc):
    """SIGKILL the tool (its own session); its children are left as a real kill would leave them."""
    try:
        os.kill(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


# ---- ECS helpers -----------------------------------------------------------------------------

def ecs_names(env):
    return f"connect2-api-cluster-{env}", f"connect2-api-service-{env}"


def describe(ecs, env):
    cluster, service = ecs_names(env)
    return ecs.describe_services(cluster=cluster, services=[service])["services"][0]


def settle(ecs, env, timeout=SETTLE_TIMEOUT):
    """Waits (no faults) until ECS has one deployment whose rollout is done; returns its revision."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        svc = describe(ecs, env)
        deps = svc["deployments"]
        if len(deps) == 1 and deps[0].get("rolloutState") in ("COMPLETED", "FAILED"):
            return int(deps[0]["taskDefinition"].rsplit(":", 1)[1])
        time.sleep(0.2)
    return None


def other_good_revision(ecs, env):
    """Revision 3 or 4 of the seeded fleet (both good and ACTIVE), whichever is not running now."""
    return 3 if settle(ecs, env) == 4 else 4


def processed_updates(sandbox):
    calls = sandbox.control("calls?operation=UpdateService")["calls"]
    return [c for c in calls if c["fault"] in (None, "latency", "error500_after")]


def reset_calls(sandbox):
    sandbox.control("calls/reset", {})


# ---- R1: faults ------------------------------------------------------------------------------

def error_line(stderr):
    """The tool's error message (not its hint), for a figure's notes."""
    lines = stderr.strip().splitlines()
    for line in lines:
        if line.startswith("rollback: error:"):
            return line[:300]
    return lines[-1][:300] if lines else ""


def r1_faults(n, seed):
    fig = Figure("R1", "rollbacks under random faults that end correctly (target running, exactly one "
                       "deployment, one journal entry with the true outcome)")
    sandbox = Sandbox(task_start_delay=TASK_START_DELAY)
    ws = Workspace()
    ecs = sandbox.client("ecs")
    latency = {"operation": "*", "kind": "latency", "ms": R1_LATENCY_MS[0], "ms_max": R1_LATENCY_MS[1],
               "probability": 1.0}
    try:
        for i in range(n):
            running_before = settle(ecs, "dev")
            target = 3 if running_before == 4 else 4
            before = {e["id"] for e in ws.journal()}
            reset_calls(sandbox)
            sandbox.control("faults", {"replace": True,
                                       "rules": conditional_rules(R1_FAULTS, seed + i) + [dict(latency, seed=seed + i)]})
            r = ws.run("ecs", "--env", "dev", "--to-revision", str(target), "--yes", "--timeout", "4m",
                       "--reason", f"reliability R1 #{i}", sandbox=sandbox)
            sandbox.control("faults", method="DELETE")
            updates = len(processed_updates(sandbox))
            final = settle(ecs, "dev")
            entries = [e for e in ws.journal() if e["id"] not in before]
            outcome = entries[0]["outcome"] if len(entries) == 1 else None
            fig.notes[f"exit {r.returncode}"] += 1
            ok = (r.returncode == 0 and final == target and updates == 1 and outcome == "succeeded")
            # Failed before anything changed (no deployment, the service as it was), or failed
            # after starting with the journal saying so and no second deployment.
            honest = not ok and r.returncode not in (0, -999) and (
                (len(entries) == 1 and outcome in ("failed", "interrupted") and updates <= 1)
                or (not entries and updates == 0 and final == running_before))
            if honest:
                # The tool said it failed, the journal agrees, and it did not start a second
                # deployment: not a correct end, but not a broken promise either.
                fig.notes["honest failures"] += 1
            fig.record(ok, f"#{i}: exit {r.returncode}, running :{final}, target :{target}, "
                           f"{updates} UpdateService processed, journal {outcome or len(entries)}; "
                           f"{error_line(r.stderr)}",
                       violation=not honest)
    finally:
        sandbox.stop()
        ws.cleanup()
    return fig


# ---- R3: concurrency -------------------------------------------------------------------------

def r3_races(n):
    fig = Figure("R3", "races of two operators for one environment where exactly one proceeds")
    sandbox = Sandbox(task_start_delay=TASK_START_DELAY)
    ws = Workspace()
    ecs = sandbox.client("ecs")
    try:
        for i in range(n):
            target = other_good_revision(ecs, "dev")
            reset_calls(sandbox)
            args = ("ecs", "--env", "dev", "--to-revision", str(target), "--yes", "--reason", f"race {i}")
            a = ws.start(*args, sandbox=sandbox, env=ws.env(sandbox, ROLLBACK_USER="alice"))
            b = ws.start(*args, sandbox=sandbox, env=ws.env(sandbox, ROLLBACK_USER="bob"))
            codes = []
            errs = []
            for p in (a, b):
                try:
                    _, err = p.communicate(timeout=RUN_TIMEOUT)
                except subprocess.TimeoutExpired:
                    kill_group(p)
                    err = "hung"
                codes.append(p.returncode)
                errs.append(err)
            updates = len(processed_updates(sandbox))
            settle(ecs, "dev")
            loser = errs[codes.index(4)] if 4 in codes else ""
            names_holder = ("alice" in loser or "bob" in loser)
            ok = sorted(codes) == [0, 4] and updates == 1 and names_holder
            # Two that proceeded, or a second deployment, breaks the lock's promise; anything else
            # (say, the winner failing for another reason) is a miss but not a violation.
            fig.record(ok, f"race {i}: exits {codes}, {updates} UpdateService; loser said: "
                           f"{loser.strip().splitlines()[0] if loser.strip() else ''}",
                       violation=codes.count(0) > 1 or updates > 1 or (4 in codes and not names_holder))
    finally:
        sandbox.stop()
        ws.cleanup()
    return fig


# ---- Terraform states written here (the project's own fixtures, in the real v4 format) --------

LINEAGE = "5d0c8f3e-7a41-4b8e-9a1c-reliability0"


def tf_state(serial, resources):
    return {"version": 4, "terraform_version": "1.9.5", "serial": serial, "lineage": LINEAGE, "outputs": {},
            "resources": [{"mode": "managed", "type": "aws_security_group", "name": name,
                           "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
                           "instances": [{"schema_version": 1, "attributes": {"id": f"sg-{name}", "name": name}}]}
                          for name in resources],
            "check_results": None}


def state_bytes(doc):
    return (json.dumps(doc, indent=2) + "\n").encode()


class StateBucket:
    """The dev environment's state bucket and lock table in the sandbox, read with boto3."""

    TABLE = "connect2-api-terraform-locks"

    def __init__(self, sandbox, key):
        self.s3 = sandbox.client("s3")
        self.ddb = sandbox.client("dynamodb")
        self.bucket = "connect2-api-terraform-state-dev"
        self.key = key

    def config(self):
        return f"""app: connect2-api
region: us-east-1
environments:
  dev:  {{ branch: development, terraform: {{ state: {{ key: {self.key}, dynamodb_table: {self.TABLE} }} }} }}
"""

    def put(self, docs):
        ids, body = [], b""
        for doc in docs:
            body = state_bytes(doc)
            ids.append(self.s3.put_object(Bucket=self.bucket, Key=self.key, Body=body)["VersionId"])
        self.ddb.put_item(TableName=self.TABLE, Item={"LockID": {"S": f"{self.bucket}/{self.key}-md5"},
                                                      "Digest": {"S": hashlib.md5(body).hexdigest()}})
        return ids

    def versions(self):
        out = []
        for page in self.s3.get_paginator("list_object_versions").paginate(Bucket=self.bucket, Prefix=self.key):
            out += [v["VersionId"] for v in page.get("Versions", []) if v["Key"] == self.key]
        return out

    def current(self):
        return self.s3.get_object(Bucket=self.bucket, Key=self.key)["Body"].read()

    def version(self, vid):
        return self.s3.get_object(Bucket=self.bucket, Key=self.key, VersionId=vid)["Body"].read()

    def digest(self):
        item = self.ddb.get_item(TableName=self.TABLE, Key={"LockID": {"S": f"{self.bucket}/{self.key}-md5"}},
                                 ConsistentRead=True).get("Item")
        return item["Digest"]["S"] if item else None

    def lock(self):
        item = self.ddb.get_item(TableName=self.TABLE, Key={"LockID": {"S": f"{self.bucket}/{self.key}"}},
                                 ConsistentRead=True).get("Item")
        return json.loads(item["Info"]["S"]) if item else None


def check_state(bucket, known_versions, changed_expected=None):
    """What Terraform would find: no version lost, digest of the current object, one lineage.
    Returns a list of problems (empty: fine)."""
    problems = []
    now = bucket.versions()
    lost = [v for v in known_versions if v not in now]
    if lost:
        problems.append(f"{len(lost)} version(s) lost")
    body = bucket.current()
    if bucket.digest() != hashlib.md5(body).hexdigest():
        problems.append("digest does not match the current state object")
    try:
        doc = json.loads(body)
        if doc.get("lineage") != LINEAGE:
            problems.append(f"lineage changed to {doc.get('lineage')}")
    except ValueError:
        problems.append("current state is not JSON")
    return problems


# ---- R4: state restore under faults ------------------------------------------------------------

def r4_state(n, seed):
    fig = Figure("R4", "state restores under S3/DynamoDB faults with no version lost and digest, "
                       "lineage and serial right")
    sandbox = Sandbox(task_start_delay=TASK_START_DELAY)
    bucket = StateBucket(sandbox, "api/reliability-r4.tfstate")
    ws = Workspace(bucket.config())
    rng = random.Random(seed)
    try:
        docs = [tf_state(1, ["a"]), tf_state(2, ["a", "b"]), tf_state(3, ["a", "b", "c"])]
        bucket.put(docs)
        for i in range(n):
            known = bucket.versions()
            current = json.loads(bucket.current())
            candidates = [v for v in known[1:] if json.loads(bucket.version(v))["resources"] != current["resources"]]
            target = rng.choice(candidates)
            target_doc = json.loads(bucket.version(target))
            sandbox.control("faults", {"replace": True,
                                       "rules": conditional_rules(R4_FAULTS, seed + i, service="s3")
                                       + conditional_rules(R4_FAULTS, seed + i + 7919, service="dynamodb")})
            r = ws.run("state", "restore", "--env", "dev", "--version-id", target, "--yes", sandbox=sandbox)
            sandbox.control("faults", method="DELETE")
            problems = check_state(bucket, known)
            after = json.loads(bucket.current())
            changed = after != current
            if r.returncode == 0:
                if after["resources"] != target_doc["resources"]:
                    problems.append("exit 0 but the current state is not the target's content")
                if after["serial"] <= max(json.loads(bucket.version(v))["serial"] for v in known):
                    problems.append(f"serial {after['serial']} not above every earlier one")
            elif changed and r.returncode != 0:
                fig.notes["failed after the write (reported)"] += 1
            if bucket.lock() is not None:
                problems.append("Terraform's lock item left behind")
            fig.notes[f"exit {r.returncode}"] += 1
            fig.record(not problems, f"#{i}: exit {r.returncode}: {'; '.join(problems)}")
    finally:
        sandbox.stop()
        ws.cleanup()
    return fig


# ---- R2: kills -------------------------------------------------------------------------------

def calibrate(run_once):
    t0 = time.time()
    run_once()
    return time.time() - t0


def after_kill_common(ws, sandbox, env_name, entries_before, problems):
    """`unlock` must clear whatever the kill left, and then no entry of the killed run may be left
    `running` without naming its last step."""
    u = ws.run("unlock", "--env", env_name, "--yes", sandbox=sandbox)
    if u.returncode != 0:
        problems.append(f"unlock exit {u.returncode}: {u.stderr.strip()[:200]}")
    new = [e for e in ws.journal() if e["id"] not in entries_before]
    for e in new:
        if e["outcome"] == "running":
            problems.append(f"journal entry {e['id']} still `running` after unlock")
        if not e["events"] and not json.loads(e.get("details") or "{}").get("steps_done"):
            problems.append(f"journal entry {e['id']} names no step")
    return new


def r2_ecs(n, rng):
    fig = Figure("R2.ecs", "killed emergency rollbacks that leave nothing unreported")
    sandbox = Sandbox(task_start_delay=TASK_START_DELAY)
    ws = Workspace()
    ecs = sandbox.client("ecs")
    try:
        duration = calibrate(lambda: ws.run("ecs", "--env", "dev", "--to-revision", "4", "--yes", sandbox=sandbox))
        settle(ecs, "dev")
        for i in range(n):
            target = other_good_revision(ecs, "dev")
            before = {e["id"] for e in ws.journal()}
            p = ws.start("ecs", "--env", "dev", "--to-revision", str(target), "--yes", sandbox=sandbox)
            time.sleep(rng.uniform(0.01, duration))
            kill_group(p)
            problems = []
            after_kill_common(ws, sandbox, "dev", before, problems)
            # The next operator can roll back at once.
            nxt = ws.run("ecs", "--env", "dev", "--to-revision", str(other_good_revision(ecs, "dev")), "--yes",
                         sandbox=sandbox)
            if nxt.returncode != 0:
                problems.append(f"next rollback exit {nxt.returncode}: {nxt.stderr.strip()[:200]}")
            settle(ecs, "dev")
            fig.record(not problems, f"#{i}: " + "; ".join(problems))
    finally:
        sandbox.stop()
        ws.cleanup()
    return fig


def r2_app(n, rng):
    fig = Figure("R2.app", "killed application reverts that leave nothing unreported")
    ws = Workspace()
    repos = GitRepos(ws.work)
    ws.write_config(RUNBOOK_CONFIG + "repo: clone\n")
    try:
        def one_pr(i):
            number, _ = repos.squash_pr({f"app/feature_{i}.py": f"X = {i}\n"}, f"Feature {i}", base="development")
            return number
        number = one_pr(-1)
        duration = calibrate(lambda: ws.run("app", "--env", "dev", "--pr", str(number), "--yes"))
        for i in range(n):
            number = one_pr(i)
            before = {e["id"] for e in ws.journal()}
            p = ws.start("app", "--env", "dev", "--pr", str(number), "--yes")
            time.sleep(rng.uniform(0.01, duration))
            kill_group(p)
            problems = []
            new = after_kill_common(ws, None, "dev", before, problems)
            ids = {e["id"] for e in new}
            # Whatever reached origin is in the journal: a pushed revert names a journal entry.
            message = git(repos.origin, "log", "-1", "--format=%B", "development")
            for line in message.splitlines():
                if line.startswith("Rollback-Id:") and line.split(":", 1)[1].strip() not in ids | before:
                    problems.append(f"origin has a revert whose {line.strip()} is not in the journal")
            # The next command that opens the repository (here a dry run of the same revert)
            # leaves no scratch worktree behind. Each run counts only what is left after it, then
            # clears it, so one leftover is one miss, not a miss in every later run.
            ws.run("app", "--env", "dev", "--pr", str(number), "--dry-run")
            extra = [w[9:] for w in git(repos.clone, "worktree", "list", "--porcelain").splitlines()
                     if w.startswith("worktree ") and os.path.realpath(w[9:]) != os.path.realpath(repos.clone)]
            for w in extra:
                git(repos.clone, "worktree", "remove", "--force", w, check=False)
                if os.path.basename(os.path.dirname(w)).startswith("rollback-revert-"):
                    shutil.rmtree(os.path.dirname(w), ignore_errors=True)
            git(repos.clone, "worktree", "prune")
            if extra:
                problems.append(f"{len(extra)} scratch worktree(s) left: {extra[0]}")
            fig.record(not problems, f"#{i}: " + "; ".join(problems))
    finally:
        ws.cleanup()
    return fig


def r2_state(n, rng):
    fig = Figure("R2.state", "killed state restores that leave no version lost and nothing unreported")
    sandbox = Sandbox(task_start_delay=TASK_START_DELAY)
    bucket = StateBucket(sandbox, "api/reliability-r2.tfstate")
    ws = Workspace(bucket.config())
    try:
        bucket.put([tf_state(1, ["a"]), tf_state(2, ["a", "b"]), tf_state(3, ["a", "b", "c"])])

        def restore_to_other():
            known = bucket.versions()
            current = json.loads(bucket.current())
            target = next(v for v in known[1:] if json.loads(bucket.version(v))["resources"] != current["resources"])
            return known, ("state", "restore", "--env", "dev", "--version-id", target, "--yes")

        known, args = restore_to_other()
        duration = calibrate(lambda: ws.run(*args, sandbox=sandbox))
        for i in range(n):
            known, args = restore_to_other()
            before = {e["id"] for e in ws.journal()}
            p = ws.start(*args, sandbox=sandbox)
            time.sleep(rng.uniform(0.01, duration))
            kill_group(p)
            problems = []
            new = after_kill_common(ws, sandbox, "dev", before, problems)
            lock = bucket.lock()
            if lock is not None:
                # Terraform's lock left by our killed run: the next restore must name it and the
                # command that releases it; then it is released the way it says.
                nxt = ws.run(*args, sandbox=sandbox)
                if lock.get("ID", "") not in nxt.stderr + nxt.stdout:
                    problems.append("a left Terraform lock is not named with its ID by the next run")
                bucket.ddb.delete_item(TableName=StateBucket.TABLE,
                                       Key={"LockID": {"S": f"{bucket.bucket}/{bucket.key}"}})
                fig.notes["Terraform lock left and named"] += 1
            problems += [p_ for p_ in check_state(bucket, known) if "digest" not in p_]
            body = bucket.current()
            if bucket.digest() != hashlib.md5(body).hexdigest():
                # The write landed but the digest did not: only acceptable when the journal says
                # which step was reached, so the operator can finish it.
                steps = [json.loads(e.get("details") or "{}").get("steps_done") for e in new]
                if not any(steps):
                    problems.append("digest stale and the journal does not say where the restore stopped")
                else:
                    fig.notes["digest stale, journal names the step"] += 1
                bucket.ddb.put_item(TableName=StateBucket.TABLE,
                                    Item={"LockID": {"S": f"{bucket.bucket}/{bucket.key}-md5"},
                                          "Digest": {"S": hashlib.md5(body).hexdigest()}})
            fig.record(not problems, f"#{i}: " + "; ".join(problems))
    finally:
        sandbox.stop()
        ws.cleanup()
    return fig


def r2_db(n, rng):
    fig = Figure("R2.db", "killed database downgrades that leave the database at a known revision")
    import test_db  # noqa: E402  (PostgreSQL helpers of the e2e suite)
    if not test_db.have_postgres():
        fig.skipped = "PostgreSQL 15 or /usr/bin/alembic missing"
        return fig
    server = test_db.PostgresServer()
    ws = Workspace(test_db.CONFIG)
    project = os.path.join(ws.work, "project")
    shutil.copytree(test_db.FIXTURE, project, ignore=shutil.ignore_patterns("__pycache__"))
    target = test_db.IRREVERSIBLE  # from the head: two downgrades, one drops a table (backup first)

    def fresh(name):
        server.create_database(name)
        url = server.url(name)
        env = dict(os.environ, DATABASE_URL=url, PYTHONDONTWRITEBYTECODE="1")
        subprocess.run([test_db.ALEMBIC, "upgrade", "heads"], cwd=project, env=env, check=True,
                       capture_output=True, timeout=120)
        server.psql(name, "INSERT INTO settings (key, value) VALUES ('theme', 'dark')")
        return url

    def rows(name):
        return sorted(server.psql(name, "SELECT version_num FROM alembic_version").split())

    try:
        url = fresh("rel_calibrate")
        start_rows = rows("rel_calibrate")
        env = ws.env(DATABASE_URL=url, PYTHONDONTWRITEBYTECODE="1")
        t0 = time.time()
        r = ws.run("db", "--env", "dev", "--to", target, "--yes", env=env)
        duration = time.time() - t0
        if r.returncode != 0:
            fig.record(False, f"calibration run failed: {r.stderr.strip()[:300]}")
            return fig
        target_rows = rows("rel_calibrate")
        for i in range(n):
            name = f"rel_kill_{i}"
            url = fresh(name)
            env = ws.env(DATABASE_URL=url, PYTHONDONTWRITEBYTECODE="1")
            before = {e["id"] for e in ws.journal()}
            p = ws.start("db", "--env", "dev", "--to", target, "--yes", env=env)
            time.sleep(rng.uniform(0.01, duration))
            kill_group(p)
            time.sleep(1.0)  # an Alembic child the kill orphaned finishes or fails in this time
            problems = []
            after_kill_common(ws, None, "dev", before, problems)
            now = rows(name)
            tables = server.psql(name, "SELECT tablename FROM pg_tables WHERE schemaname='public'").split()
            if now == start_rows:
                if "settings" not in tables:
                    problems.append("version rows at the start but the table is gone")
                fig.notes["left at the start revision"] += 1
            elif now == target_rows:
                if "settings" in tables:
                    problems.append("version rows at the target but the table is still there")
                fig.notes["reached the target"] += 1
            else:
                problems.append(f"version rows {now}: neither the start nor the target")
            fig.record(not problems, f"#{i}: " + "; ".join(problems))
    finally:
        server.stop()
        ws.cleanup()
    return fig


# ---- R6: secrets -----------------------------------------------------------------------------

def r6_secrets(capture):
    fig = Figure("R6", "files captured from the e2e suite (outputs, logs, journals, backups, reports) "
                       "free of every planted secret")
    secrets = set()
    files = []
    for root, _, names in os.walk(capture):
        for name in names:
            path = os.path.join(root, name)
            if name.startswith("planted-") and name.endswith(".json"):
                with open(path) as f:
                    secrets.update(json.load(f))
            else:
                files.append(path)
    variants = set()
    for s in secrets:
        variants |= {s, urllib.parse.quote(s, safe=""), urllib.parse.quote_plus(s)}
    variants = {v.encode() for v in variants if len(v) >= 8}
    fig.notes["planted secrets"] = len(secrets)
    for path in files:
        with open(path, "rb") as f:
            data = f.read()
        found = [v.decode() for v in variants if v in data]
        fig.record(not found, f"{os.path.relpath(path, capture)}: contains a planted secret "
                              f"({len(found)} form(s))")
        fig.notes["bytes scanned"] += len(data)
    if not secrets:
        fig.record(False, "no planted secrets were recorded: was ROLLBACK_E2E_CAPTURE set for the e2e run?")
    return fig


# ---- R7: hostile inputs ----------------------------------------------------------------------

class _CountingResult(unittest.TextTestResult):
    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.rows_passed = 0
        self.rows_total = 0
        self.failed_rows = []
        self._with_subtests = set()

    def addSubTest(self, test, subtest, outcome):
        super().addSubTest(test, subtest, outcome)
        self._with_subtests.add(test.id())
        self.rows_total += 1
        if outcome is None:
            self.rows_passed += 1
        else:
            self.failed_rows.append(str(subtest))

    def addSuccess(self, test):
        super().addSuccess(test)
        if test.id() not in self._with_subtests:
            self.rows_total += 1
            self.rows_passed += 1

    def _fail(self, test):
        if test.id() not in self._with_subtests:
            self.rows_total += 1
            self.failed_rows.append(test.id())

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._fail(test)

    def addError(self, test, err):
        super().addError(test, err)
        self._fail(test)


HOSTILE_MODULES = ("test_hostile_inputs", "test_hostile_ops")


def r7_hostile():
    fig = Figure("R7", "hostile inputs answered with a clear error, a non-zero exit and nothing changed")
    loader = unittest.TestLoader()
    suite = unittest.TestSuite()
    for name in HOSTILE_MODULES:
        path = os.path.join(HERE, "..", "e2e", name + ".py")
        if os.path.exists(path):
            suite.addTests(loader.loadTestsFromName(name))
            fig.notes[f"module {name}"] += 1
    runner = unittest.TextTestRunner(resultclass=_CountingResult, verbosity=0, stream=open(os.devnull, "w"))
    result = runner.run(suite)
    fig.passed, fig.total, fig.misses = result.rows_passed, result.rows_total, result.failed_rows
    return fig


# ---- main ------------------------------------------------------------------------------------

SIZE_USED = ["-"]


def write_json(figures, out, complete):
    """The figures so far; written after each one, so a run of hours stopped part-way still
    gives what it finished (render.py keeps the other rows)."""
    if not out:
        return
    with open(out + ".part", "w") as fh:
        json.dump({"figures": [f.as_dict() for f in figures], "binary": BINARY, "size": SIZE_USED[0],
                   "complete": complete, "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}, fh, indent=2)
    os.replace(out + ".part", out)


def report(figures, out):
    for f in figures:
        print(f.line(), flush=True)
        for m in f.misses[:5]:
            print(f"    miss: {m}")
    write_json(figures, out, True)
    return 0 if all(f.violations == 0 and (f.total > 0 or f.skipped) for f in figures) else 1


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    run = sub.add_parser("run")
    run.add_argument("--size", choices=sorted(SIZES), default="short")
    run.add_argument("--only", default="R1,R2,R3,R4", help="comma-separated figures")
    run.add_argument("--seed", type=int, default=20261130)
    run.add_argument("--json")
    sec = sub.add_parser("secrets")
    sec.add_argument("--capture", required=True)
    sec.add_argument("--json")
    hos = sub.add_parser("hostile")
    hos.add_argument("--json")
    args = ap.parse_args(argv)

    if not os.access(BINARY, os.X_OK):
        print(f"reliability: no rollback binary at {BINARY} (set ROLLBACK_BIN)", file=sys.stderr)
        return 2
    if args.cmd == "secrets":
        return report([r6_secrets(args.capture)], args.json)
    if args.cmd == "hostile":
        return report([r7_hostile()], args.json)

    sizes = SIZES[args.size]
    SIZE_USED[0] = args.size
    only = {s.strip().upper() for s in args.only.split(",") if s.strip()}
    rng = random.Random(args.seed)
    figures = []

    def measured(figure):
        figures.append(figure)
        print(figure.line(), flush=True)
        write_json(figures, args.json, False)

    if "R1" in only:
        measured(r1_faults(sizes["R1"], args.seed))
    if "R2" in only:
        for fn in (r2_ecs, r2_app, r2_db, r2_state):
            measured(fn(sizes["R2"], rng))
    if "R3" in only:
        measured(r3_races(sizes["R3"]))
    if "R4" in only:
        measured(r4_state(sizes["R4"], args.seed))
    print("--")
    return report(figures, args.json)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
