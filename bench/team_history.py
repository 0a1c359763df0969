#!/usr/bin/env python3
"""Benchmark: `rollback history --env prod --since 30d` in team mode on a table of 10,000
rollbacks, against the sandbox's DynamoDB (moto).

Seeds N journal entries for connect2-api/prod (spread over the last 90 days, plus a few
hundred for staging) straight into the team table with BatchWriteItem, in the item layout of
docs/TEAM.md, then times several `rollback history` invocations from a machine whose local
journal is empty (everything comes from the table). Prints a Markdown table for
docs/PERFORMANCE.md.

Usage: bench/team_history.py [--entries 10000] [--runs 5] [--binary build/dev/rollback]
"""

import argparse
import datetime
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "e2e"))
from harness import Sandbox  # noqa: E402

TABLE = "rollback-team-bench"
CONFIG = f"""app: connect2-api
region: us-east-1
team:
  table: {TABLE}
environments:
  staging: {{ branch: staging }}
  prod:    {{ branch: main, protected: true }}
"""


def entry_items(env, i, started):
    rid = started.strftime("%Y%m%d-%H%M%S") + f"-{i:04x}"[-5:]
    iso = started.strftime("%Y-%m-%dT%H:%M:%SZ")
    base = {"id": {"S": rid}, "app": {"S": "connect2-api"}, "env": {"S": env}, "layer": {"S": "ecs"},
            "user": {"S": random.choice(["alice", "bob", "carol"])}, "host": {"S": "bench"},
            "from_ref": {"S": f"arn:aws:ecs:us-east-1:123456789012:task-definition/connect2-api-{env}:6"},
            "to_ref": {"S": f"arn:aws:ecs:us-east-1:123456789012:task-definition/connect2-api-{env}:4"},
            "reason": {"S": f"bench entry {i}"}, "started_at": {"S": iso}, "ended_at": {"S": iso},
            "outcome": {"S": random.choice(["succeeded", "succeeded", "failed"])},
            "details": {"S": json.dumps({"deployed_task_definition": "connect2-api-" + env + ":4"})}}
    a = dict(base, pk={"S": f"ENV#connect2-api#{env}"}, sk={"S": "R#" + rid})
    b = dict(base, pk={"S": "RB#" + rid}, sk={"S": "ENTRY"})
    return [a, b]


def seed(ddb, entries):
    now = datetime.datetime.now(datetime.timezone.utc)
    items = []
    for i in range(entries):
        started = now - datetime.timedelta(seconds=random.uniform(60, 90 * 86400))
        items.extend(entry_items("prod", i, started))
    for i in range(300):
        items.extend(entry_items("staging", entries + i, now - datetime.timedelta(days=random.uniform(0, 90))))
    for k in range(0, len(items), 25):
        batch = [{"PutRequest": {"Item": it}} for it in items[k:k + 25]]
        while batch:
            r = ddb.batch_write_item(RequestItems={TABLE: batch})
            batch = r.get("UnprocessedItems", {}).get(TABLE, [])
    return now


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--entries", type=int, default=10000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--binary", default=os.path.join(HERE, "..", "build", "dev", "rollback"))
    args = ap.parse_args()
    random.seed(42)

    sandbox = Sandbox(seed=False)
    work = tempfile.mkdtemp(prefix="rollback-bench-team-")
    try:
        with open(os.path.join(work, "rollback.yaml"), "w") as f:
            f.write(CONFIG)
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update({"HOME": work, "XDG_STATE_HOME": os.path.join(work, "state"), "AWS_ACCESS_KEY_ID": "testing",
                    "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": sandbox.url})
        subprocess.run([args.binary, "team", "init", "--yes"], cwd=work, env=env, check=True, capture_output=True)
        ddb = sandbox.client("dynamodb")
        t0 = time.monotonic()
        seed(ddb, args.entries)
        print(f"seeded {args.entries} prod + 300 staging entries in {time.monotonic() - t0:.1f} s", file=sys.stderr)

        cases = [("history --env prod --since 30d", ["history", "--env", "prod", "--since", "30d"]),
                 ("history --env prod --since 30d --limit 100",
                  ["history", "--env", "prod", "--since", "30d", "--limit", "100"])]
        print("| command | wall min | wall median | wall max | CPU of the process (median) | lines of output |")
        print("|---|---|---|---|---|---|", flush=True)
        for name, argv in cases:
            times, cpu, lines = [], [], 0
            subprocess.run([args.binary, *argv], cwd=work, env=env, check=True, capture_output=True)  # warm-up
            for _ in range(args.runs):
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                start = time.monotonic()
                r = subprocess.run([args.binary, *argv], cwd=work, env=env, check=True, capture_output=True, text=True)
                times.append(time.monotonic() - start)
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpu.append((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))
                lines = len(r.stdout.splitlines())
            print(f"| `rollback {name}` | {min(times) * 1000:.0f} ms | {statistics.median(times) * 1000:.0f} ms | "
                  f"{max(times) * 1000:.0f} ms | {statistics.median(cpu) * 1000:.0f} ms | {lines} |", flush=True)
        # The same first page read by boto3 in this (already running) Python: what the sandbox itself costs.
        since = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=30)).strftime("%Y%m%d-%H%M%S")
        times = []
        for _ in range(args.runs):
            start = time.monotonic()
            ddb.query(TableName=TABLE, KeyConditionExpression="pk = :pk AND sk >= :lo", ScanIndexForward=False,
                      Limit=20, ExpressionAttributeValues={":pk": {"S": "ENV#connect2-api#prod"}, ":lo": {"S": "R#" + since}})
            times.append(time.monotonic() - start)
        print(f"| boto3 `Query` of the same first page (the sandbox's own cost) | {min(times) * 1000:.0f} ms | "
              f"{statistics.median(times) * 1000:.0f} ms | {max(times) * 1000:.0f} ms | | |", flush=True)
    finally:
        sandbox.stop()
        subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    main()
