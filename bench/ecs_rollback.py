#!/usr/bin/env python3
"""Benchmark: the runbook's emergency ECS rollback done by hand with the AWS CLI, side by side
with `rollback ecs`, against the same sandbox with the same task start delay.

The runbook's procedure (Method 2) is four commands:
  aws ecs list-task-definitions --family-prefix F --sort DESC --max-items 5
  aws ecs update-service --cluster C --service S --task-definition F:N --force-new-deployment
  aws ecs wait services-stable --cluster C --services S
  aws ecs describe-services --cluster C --services S --query 'services[0].deployments'

For each run this measures the wall time, the peak memory (max RSS) of the processes, and how
long after ECS reached its steady state the procedure noticed (the sandbox's "has reached a
steady state" event time). Prints a Markdown table (paste into docs/PERFORMANCE.md).

Needs GNU time (/usr/bin/time, Debian package `time`).

--in-flight measures the other emergency: a bad deployment still in flight (its tasks already
run next to the old ones). `rollback ecs --method stop-deployment` (ECS's own rollback:
StopServiceDeployment, the old tasks keep serving) against `--method update-service` (a new
deployment of the old revision), each from the same state: the time until every running task of
the service runs the old revision again (all traffic back on it), and the command's wall time.

Usage: bench/ecs_rollback.py [--runs 3] [--delay 5] [--binary build/release/rollback] [--in-flight]
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "e2e"))
from harness import RUNBOOK_CONFIG, Sandbox  # noqa: E402

ENV = "staging"
CLUSTER = f"connect2-api-cluster-{ENV}"
SERVICE = f"connect2-api-service-{ENV}"
FAMILY = f"connect2-api-{ENV}"


def run_measured(argv, env, cwd=None):
    """Runs a command under GNU time; returns (seconds, max RSS in MiB).

    The peak memory comes from GNU time, not from this process's wait4(): a child's ru_maxrss
    includes the forking parent's size (this Python with boto3 loaded) from before exec."""
    with tempfile.NamedTemporaryFile("r") as rss_file:
        start = time.monotonic()
        proc = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", rss_file.name, *argv], env=env, cwd=cwd,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        elapsed = time.monotonic() - start
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} failed ({proc.returncode}): {proc.stderr}")
        kib = int(rss_file.read().split()[-1])
    return elapsed, kib / 1024.0


def steady_time(ecs):
    events = ecs.describe_services(cluster=CLUSTER, services=[SERVICE])["services"][0]["events"]
    steady = [e for e in events if "has reached a steady state" in e["message"]]
    return max(e["createdAt"].timestamp() for e in steady)


def running_revisions(ecs):
    arns = ecs.list_tasks(cluster=CLUSTER, serviceName=SERVICE)["taskArns"]
    if not arns:
        return set()
    tasks = ecs.describe_tasks(cluster=CLUSTER, tasks=arns)["tasks"]
    return {int(t["taskDefinitionArn"].rsplit(":", 1)[1]) for t in tasks if t["lastStatus"] == "RUNNING"}


def wait_until(predicate, timeout=300, interval=0.05):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return time.time()
        time.sleep(interval)
    raise RuntimeError("timed out")


def in_flight(args):
    """StopServiceDeployment vs UpdateService for a bad deployment that is still in flight."""
    import threading

    sandbox = Sandbox(task_start_delay=args.delay)
    work = tempfile.mkdtemp(prefix="rollback-bench-")
    with open(os.path.join(work, "rollback.yaml"), "w") as f:
        f.write(RUNBOOK_CONFIG)
    env = dict(os.environ, AWS_ENDPOINT_URL=sandbox.url, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
               AWS_REGION="us-east-1", AWS_DEFAULT_REGION="us-east-1", XDG_STATE_HOME=os.path.join(work, "state"))
    ecs = sandbox.client("ecs")
    good = 4
    td = ecs.describe_task_definition(taskDefinition=f"{FAMILY}:{good}")["taskDefinition"]
    container = dict(td["containerDefinitions"][0], image=td["containerDefinitions"][0]["image"].rsplit(":", 1)[0]
                     + ":0c0ffee-unhealthy")
    bad = ecs.register_task_definition(family=FAMILY, containerDefinitions=[container], networkMode="awsvpc",
                                       requiresCompatibilities=["FARGATE"], cpu="256", memory="512"
                                       )["taskDefinition"]["revision"]
    results = {"stop-deployment": [], "update-service": []}
    try:
        for i in range(args.runs):
            for method in results:
                ecs.update_service(cluster=CLUSTER, service=SERVICE, taskDefinition=f"{FAMILY}:{good}")
                wait_until(lambda: running_revisions(ecs) == {good} and len(ecs.describe_services(
                    cluster=CLUSTER, services=[SERVICE])["services"][0]["deployments"]) == 1)
                ecs.update_service(cluster=CLUSTER, service=SERVICE, taskDefinition=f"{FAMILY}:{bad}")
                wait_until(lambda: bad in running_revisions(ecs))  # the bad tasks serve next to the old ones
                start = time.time()
                back = {}

                def watch():
                    back["at"] = wait_until(lambda: running_revisions(ecs) == {good}, interval=0.05)

                watcher = threading.Thread(target=watch)
                watcher.start()
                total, _ = run_measured([args.binary, "ecs", "--env", ENV, "--method", method], env, cwd=work)
                watcher.join()
                traffic = back["at"] - start
                results[method].append((traffic, total))
                print(f"run {i + 1} {method:15} all traffic on :{good} after {traffic:5.2f}s, command {total:5.2f}s",
                      file=sys.stderr)
    finally:
        sandbox.stop()
    med = {m: (statistics.median(r[0] for r in v), statistics.median(r[1] for r in v)) for m, v in results.items()}
    print(f"\nSandbox task start delay {args.delay:g} s; a bad deployment in flight (its tasks run next to the old "
          f"ones); median of {args.runs} runs.\n")
    print("| method | all traffic back on the old revision | `rollback ecs` wall time |")
    print("|---|---|---|")
    for m, (traffic, total) in med.items():
        print(f"| `--method {m}` | {traffic:.1f} s | {total:.1f} s |")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--delay", type=float, default=5.0, help="sandbox task start delay (s)")
    p.add_argument("--binary", default=os.path.join(HERE, "..", "build", "release", "rollback"))
    p.add_argument("--in-flight", action="store_true",
                   help="StopServiceDeployment vs UpdateService for a bad deployment still in flight")
    args = p.parse_args()
    if args.in_flight:
        return in_flight(args)

    sandbox = Sandbox(task_start_delay=args.delay)
    work = tempfile.mkdtemp(prefix="rollback-bench-")
    with open(os.path.join(work, "rollback.yaml"), "w") as f:
        f.write(RUNBOOK_CONFIG)
    env = dict(os.environ, AWS_ENDPOINT_URL=sandbox.url, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
               AWS_REGION="us-east-1", AWS_DEFAULT_REGION="us-east-1", XDG_STATE_HOME=os.path.join(work, "state"))
    ecs = sandbox.client("ecs")
    aws = ["aws", "--endpoint-url", sandbox.url]
    results = {"cli": [], "rollback": []}
    try:
        revision = 4
        for i in range(args.runs):
            for tool in ("cli", "rollback"):
                revision = 3 if revision == 4 else 4  # alternate, so every run is a real change
                wall_start = time.time()
                if tool == "cli":
                    steps = [
                        aws + ["ecs", "list-task-definitions", "--family-prefix", FAMILY, "--sort", "DESC", "--max-items", "5"],
                        aws + ["ecs", "update-service", "--cluster", CLUSTER, "--service", SERVICE, "--task-definition",
                               f"{FAMILY}:{revision}", "--force-new-deployment"],
                        aws + ["ecs", "wait", "services-stable", "--cluster", CLUSTER, "--services", SERVICE],
                        aws + ["ecs", "describe-services", "--cluster", CLUSTER, "--services", SERVICE,
                               "--query", "services[0].deployments"],
                    ]
                    total, peak = 0.0, 0.0
                    for argv in steps:
                        t, rss = run_measured(argv, env)
                        total += t
                        peak = max(peak, rss)
                else:
                    total, peak = run_measured([args.binary, "ecs", "--env", ENV, "--to-revision", str(revision)], env,
                                               cwd=work)
                lag = (wall_start + total) - steady_time(ecs)
                results[tool].append((total, peak, lag))
                print(f"run {i + 1} {tool:8} {total:6.2f}s  rss {peak:6.1f} MiB  after steady state {lag:5.2f}s",
                      file=sys.stderr)
    finally:
        sandbox.stop()

    def med(tool, k):
        return statistics.median(r[k] for r in results[tool])

    print(f"\nSandbox task start delay {args.delay:g} s (a good deployment reaches steady state after "
          f"{2 * args.delay:g} s); median of {args.runs} runs.\n")
    print("| procedure | wall time | peak memory (max RSS) | noticed after steady state |")
    print("|---|---|---|---|")
    print(f"| runbook: 4 `aws ecs` commands | {med('cli', 0):.1f} s | {med('cli', 1):.0f} MiB | {med('cli', 2):.1f} s |")
    print(f"| `rollback ecs` | {med('rollback', 0):.1f} s | {med('rollback', 1):.0f} MiB | {med('rollback', 2):.1f} s |")
    print(f"| ratio (runbook / rollback) | {med('cli', 0) / med('rollback', 0):.2f}x | "
          f"{med('cli', 1) / med('rollback', 1):.1f}x | |")


if __name__ == "__main__":
    main()
