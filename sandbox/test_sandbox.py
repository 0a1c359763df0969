"""Checks that the sandbox behaves like ECS where the rollback runbook looks.

Run from the repository root:  python3 -m unittest sandbox/test_sandbox.py -v
One server (seeded, task start delay 0.3 s) is started for the whole module and stopped at the
end. Tests that change ECS state use their own cluster/service, except the runbook tests, which
work on the seeded fleet like an operator would.
"""

from __future__ import annotations

import datetime
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request
import uuid

import boto3
import botocore.exceptions
from botocore.config import Config

HERE = os.path.dirname(os.path.abspath(__file__))
DELAY = 0.3
REGION = "us-east-1"
ACCOUNT = "123456789012"
IMAGE_REPO = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/connect2-api"
NETWORK = {"awsvpcConfiguration": {"subnets": ["subnet-0a1b2c3d"], "securityGroups": ["sg-0123abcd"]}}

_server: subprocess.Popen | None = None
_workdir: tempfile.TemporaryDirectory | None = None
URL = ""


def setUpModule() -> None:
    global _server, _workdir, URL
    _workdir = tempfile.TemporaryDirectory(prefix="sandbox-test-")
    port_file = os.path.join(_workdir.name, "port")
    log = open(os.path.join(_workdir.name, "server.log"), "wb")
    _server = subprocess.Popen(
        [sys.executable, os.path.join(HERE, "server.py"), "--port", "0", "--port-file", port_file,
         "--seed", "--task-start-delay", str(DELAY), "--quiet"],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
    )
    log.close()
    # Importing moto takes seconds; on a loaded shared machine, minutes.
    deadline = time.time() + 180
    while not os.path.exists(port_file):
        if _server.poll() is not None or time.time() > deadline:
            with open(os.path.join(_workdir.name, "server.log")) as f:
                output = f.read()
            tearDownModule()
            raise RuntimeError(f"sandbox did not start:\n{output}")
        time.sleep(0.05)
    with open(port_file) as f:
        URL = f"http://127.0.0.1:{f.read().strip()}"


def tearDownModule() -> None:
    global _server
    if _server is not None:
        if _server.poll() is None:
            _server.send_signal(signal.SIGTERM)
            try:
                _server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                _server.kill()
                _server.wait()
        _server = None
    if _workdir is not None:
        with open(os.path.join(_workdir.name, "server.log")) as f:
            log = f.read()
        _workdir.cleanup()
        if "Traceback" in log:
            raise AssertionError(f"the sandbox logged an exception:\n{log}")


# ---- helpers ---------------------------------------------------------------------------------


def client(service: str, retries: int = 1, **kwargs):
    config = Config(retries={"mode": "standard", "total_max_attempts": retries},
                    read_timeout=10, connect_timeout=5)
    return boto3.client(service, endpoint_url=URL, region_name=REGION,
                        aws_access_key_id="testing", aws_secret_access_key="testing",
                        config=config, **kwargs)


def control(method: str, path: str, body=None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(f"{URL}/_sandbox/{path}", data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def raw_ecs(operation: str, body: dict) -> tuple[int, dict, dict]:
    """An unsigned ECS JSON call, to see status, headers and body exactly."""
    req = urllib.request.Request(
        URL + "/", data=json.dumps(body).encode(), method="POST",
        headers={
            "X-Amz-Target": f"AmazonEC2ContainerServiceV20141113.{operation}",
            "Content-Type": "application/x-amz-json-1.1",
            "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20250101/us-east-1/ecs/aws4_request, "
                             "SignedHeaders=host, Signature=0",
        })
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, dict(r.headers), json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), json.loads(e.read())


def wait_until(predicate, timeout: float = 10.0, interval: float = 0.05, what: str = "condition"):
    deadline = time.time() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(interval)


def aws_cli(*args: str, endpoint: bool = True) -> subprocess.CompletedProcess:
    env = dict(os.environ, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
               AWS_DEFAULT_REGION=REGION, AWS_REGION=REGION, NO_PROXY="127.0.0.1,localhost")
    env.pop("AWS_PROFILE", None)
    prefix = ["--endpoint-url", URL] if endpoint else []
    if not endpoint:
        env["AWS_ENDPOINT_URL"] = URL
    return subprocess.run([sys.executable, "-m", "awscli", *prefix, *args],
                          capture_output=True, text=True, env=env, timeout=120)


class SandboxTest(unittest.TestCase):
    def setUp(self) -> None:
        control("DELETE", "faults")
        control("POST", "config", {"task_start_delay": DELAY})
        self.ecs = client("ecs")

    def make_service(self, tags: list[str], current: int | None = None, rollback: bool = True,
                     desired: int = 2) -> dict:
        """Own cluster, family and service running revision ``current`` (default: the last)."""
        name = f"t{uuid.uuid4().hex[:8]}"
        cluster, family, service = f"{name}-cluster", f"{name}-family", f"{name}-service"
        self.ecs.create_cluster(clusterName=cluster)
        arns = []
        for tag in tags:
            td = self.ecs.register_task_definition(
                family=family, requiresCompatibilities=["FARGATE"], networkMode="awsvpc",
                cpu="256", memory="512",
                containerDefinitions=[{"name": "app", "image": f"{IMAGE_REPO}:{tag}", "essential": True}],
            )["taskDefinition"]
            arns.append(td["taskDefinitionArn"])
        current = current or len(tags)
        self.ecs.create_service(
            cluster=cluster, serviceName=service, taskDefinition=f"{family}:{current}",
            desiredCount=desired, launchType="FARGATE", networkConfiguration=NETWORK,
            deploymentConfiguration={"deploymentCircuitBreaker": {"enable": True, "rollback": rollback}},
        )
        info = {"cluster": cluster, "family": family, "service": service, "arns": arns}
        self.wait_steady(info)
        return info

    def describe(self, info: dict) -> dict:
        return self.ecs.describe_services(cluster=info["cluster"], services=[info["service"]])["services"][0]

    def wait_steady(self, info: dict, timeout: float = 10.0) -> dict:
        def steady():
            s = self.describe(info)
            d = s["deployments"]
            if len(d) == 1 and d[0]["rolloutState"] == "COMPLETED" and s["runningCount"] == s["desiredCount"]:
                return s
            return None
        return wait_until(steady, timeout, what="steady state")


# ---- the seeded fleet --------------------------------------------------------------------------


class TestSeededFleet(SandboxTest):
    def test_fleet_plan_matches_ecs(self):
        status, plan = control("GET", "fleet")
        self.assertEqual(status, 200)
        self.assertTrue(plan["seeded"])
        prod = plan["environments"]["prod"]
        self.assertEqual(prod["cluster"], "connect2-api-cluster-prod")
        self.assertEqual(prod["service"], "connect2-api-service-prod")
        self.assertEqual(prod["currentRevision"], 6)
        self.assertEqual(prod["expectedRollbackRevision"], 4)
        statuses = {r["revision"]: r["status"] for r in prod["revisions"]}
        self.assertEqual(statuses[5], "INACTIVE")
        self.assertIn("unhealthy", prod["revisions"][5]["tag"])
        tags = [r["tag"] for r in prod["revisions"][:5]]
        self.assertEqual(len(set(tags)), 5)
        for tag in tags:
            self.assertRegex(tag, r"^[0-9a-f]{7}$")
        with open(os.path.join(HERE, "README.md")) as f:
            readme = f.read()
        for r in prod["revisions"]:  # the README's table of the fleet
            self.assertIn(f"| {r['revision']} | `{r['tag']}` |", readme)

        for env in ("dev", "staging", "prod"):
            e = plan["environments"][env]
            s = self.ecs.describe_services(cluster=e["cluster"], services=[e["service"]])["services"][0]
            self.assertEqual(s["desiredCount"], 2)
            self.assertEqual(s["runningCount"], 2)
            self.assertEqual(s["launchType"], "FARGATE")
            self.assertEqual(s["deploymentConfiguration"]["deploymentCircuitBreaker"],
                             {"enable": True, "rollback": True})
            self.assertEqual(s["networkConfiguration"]["awsvpcConfiguration"]["subnets"], ["subnet-0a1b2c3d"])
            self.assertEqual(len(s["deployments"]), 1)
            d = s["deployments"][0]
            self.assertEqual((d["status"], d["rolloutState"]), ("PRIMARY", "COMPLETED"))
            self.assertRegex(d["id"], r"^ecs-svc/\d{19}$")
            self.assertTrue(d["taskDefinition"].endswith(f":task-definition/connect2-api-{env}:6"))
            td = self.ecs.describe_task_definition(taskDefinition=f"connect2-api-{env}:5")["taskDefinition"]
            self.assertEqual(td["status"], "INACTIVE")
            td = self.ecs.describe_task_definition(taskDefinition=f"connect2-api-{env}")["taskDefinition"]
            self.assertEqual(td["revision"], 6)
            self.assertEqual(td["containerDefinitions"][0]["name"], "connect2-api")
            self.assertEqual(td["containerDefinitions"][0]["image"], e["revisions"][5]["image"])
            running = self.ecs.list_tasks(cluster=e["cluster"], serviceName=e["service"])["taskArns"]
            self.assertEqual(len(running), 2)

    def test_state_bucket_and_lock_table(self):
        s3 = client("s3")
        for env in ("dev", "staging", "prod"):
            bucket = f"connect2-api-terraform-state-{env}"
            self.assertEqual(s3.get_bucket_versioning(Bucket=bucket)["Status"], "Enabled")
            self.assertEqual(s3.list_objects_v2(Bucket=bucket)["KeyCount"], 0)
        table = client("dynamodb").describe_table(TableName="connect2-api-terraform-locks")["Table"]
        self.assertEqual(table["KeySchema"], [{"AttributeName": "LockID", "KeyType": "HASH"}])
        self.assertEqual(table["AttributeDefinitions"], [{"AttributeName": "LockID", "AttributeType": "S"}])

    def test_health_of_seeded_service_is_500(self):
        status, body = control("GET", "health/connect2-api-cluster-staging/connect2-api-service-staging")
        self.assertEqual(status, 500)
        self.assertTrue(body["taskDefinition"].endswith("connect2-api-staging:6"))
        status, _ = control("GET", "health/connect2-api-cluster-staging/nope")
        self.assertEqual(status, 404)

    def test_ping(self):
        self.assertEqual(control("GET", "ping"), (200, {"status": "ok"}))


# ---- ListTaskDefinitions -----------------------------------------------------------------------


class TestListTaskDefinitions(SandboxTest):
    @classmethod
    def setUpClass(cls):
        ecs = client("ecs")
        cls.family = f"list-{uuid.uuid4().hex[:6]}"
        for i in range(1, 13):
            ecs.register_task_definition(
                family=cls.family, containerDefinitions=[{"name": "c", "image": f"img:{i}", "memory": 128}])
        for rev in (3, 11):
            ecs.deregister_task_definition(taskDefinition=f"{cls.family}:{rev}")
        # Another family whose name extends this one must not be listed.
        ecs.register_task_definition(
            family=cls.family + "-worker", containerDefinitions=[{"name": "c", "image": "i", "memory": 128}])

    def revisions(self, **kwargs) -> list[int]:
        arns = self.ecs.list_task_definitions(familyPrefix=self.family, **kwargs)["taskDefinitionArns"]
        return [int(a.rsplit(":", 1)[1]) for a in arns]

    def test_default_is_active_ascending_by_number(self):
        self.assertEqual(self.revisions(), [1, 2, 4, 5, 6, 7, 8, 9, 10, 12])

    def test_desc(self):
        self.assertEqual(self.revisions(sort="DESC"), [12, 10, 9, 8, 7, 6, 5, 4, 2, 1])

    def test_status(self):
        self.assertEqual(self.revisions(status="INACTIVE"), [3, 11])
        self.assertEqual(self.revisions(status="ALL", sort="DESC"), list(range(12, 0, -1)))

    def test_paging(self):
        first = self.ecs.list_task_definitions(familyPrefix=self.family, sort="DESC", maxResults=4)
        self.assertEqual(len(first["taskDefinitionArns"]), 4)
        self.assertIn("nextToken", first)
        seen = list(first["taskDefinitionArns"])
        token = first["nextToken"]
        while token:
            page = self.ecs.list_task_definitions(familyPrefix=self.family, sort="DESC",
                                                  maxResults=4, nextToken=token)
            seen += page["taskDefinitionArns"]
            token = page.get("nextToken")
        self.assertEqual([int(a.rsplit(":", 1)[1]) for a in seen], [12, 10, 9, 8, 7, 6, 5, 4, 2, 1])
        paginator = self.ecs.get_paginator("list_task_definitions")
        pages = list(paginator.paginate(familyPrefix=self.family, PaginationConfig={"PageSize": 3}))
        self.assertEqual(len(pages), 4)
        self.assertEqual(sum(len(p["taskDefinitionArns"]) for p in pages), 10)

    def test_invalid_parameters(self):
        with self.assertRaises(botocore.exceptions.ClientError) as e:
            self.ecs.list_task_definitions(familyPrefix=self.family, maxResults=101)
        self.assertEqual(e.exception.response["Error"]["Code"], "InvalidParameterException")
        with self.assertRaises(botocore.exceptions.ClientError) as e:
            self.ecs.list_task_definitions(familyPrefix=self.family, nextToken="garbage")
        self.assertEqual(e.exception.response["Error"]["Code"], "InvalidParameterException")

    def test_runbook_cli_command(self):
        r = aws_cli("ecs", "list-task-definitions", "--family-prefix", "connect2-api-prod",
                    "--sort", "DESC", "--max-items", "5")
        self.assertEqual(r.returncode, 0, r.stderr)
        arns = json.loads(r.stdout)["taskDefinitionArns"]
        self.assertEqual([a.rsplit(":", 1)[1] for a in arns], ["6", "4", "3", "2", "1"])


# ---- UpdateService errors --------------------------------------------------------------------


class TestUpdateServiceErrors(SandboxTest):
    def test_inactive_task_definition_is_refused_and_changes_nothing(self):
        svc = self.make_service(["a000001", "a000002", "a000003"])
        self.ecs.deregister_task_definition(taskDefinition=f"{svc['family']}:2")
        before = self.describe(svc)
        control("POST", "calls/reset")
        status, headers, body = raw_ecs("UpdateService", {
            "cluster": svc["cluster"], "service": svc["service"],
            "taskDefinition": f"{svc['family']}:2", "forceNewDeployment": True})
        self.assertEqual(status, 400)
        self.assertEqual(body["__type"], "ClientException")
        self.assertEqual(body["message"], "TaskDefinition is inactive")
        self.assertIn("x-amzn-requestid", {k.lower() for k in headers})
        after = self.describe(svc)
        self.assertEqual(after["deployments"], before["deployments"])
        self.assertEqual(after["taskDefinition"], before["taskDefinition"])
        self.assertEqual(control("GET", "calls")[1]["counts"].get("UpdateService"), 1)

    def test_unknown_cluster_and_service(self):
        with self.assertRaises(botocore.exceptions.ClientError) as e:
            self.ecs.update_service(cluster="nope", service="nope", forceNewDeployment=True)
        self.assertEqual(e.exception.response["Error"]["Code"], "ClusterNotFoundException")
        with self.assertRaises(botocore.exceptions.ClientError) as e:
            self.ecs.update_service(cluster="connect2-api-cluster-dev", service="nope",
                                    forceNewDeployment=True)
        self.assertEqual(e.exception.response["Error"]["Code"], "ServiceNotFoundException")
        out = self.ecs.describe_services(cluster="connect2-api-cluster-dev", services=["nope"])
        self.assertEqual(out["services"], [])
        self.assertEqual(out["failures"][0]["reason"], "MISSING")

    def test_unknown_task_definition(self):
        svc = self.make_service(["a000001"])
        with self.assertRaises(botocore.exceptions.ClientError) as e:
            self.ecs.update_service(cluster=svc["cluster"], service=svc["service"],
                                    taskDefinition=f"{svc['family']}:99")
        self.assertEqual(e.exception.response["Error"]["Code"], "ClientException")


# ---- deployments ---------------------------------------------------------------------------------


class TestDeployments(SandboxTest):
    def test_rollout_progresses_in_time(self):
        svc = self.make_service(["b000001", "b000002", "b000003"])
        old_id = self.describe(svc)["deployments"][0]["id"]
        t0 = time.time()
        out = self.ecs.update_service(cluster=svc["cluster"], service=svc["service"],
                                      taskDefinition=f"{svc['family']}:2")["service"]
        primary, active = out["deployments"]
        self.assertEqual((primary["status"], primary["rolloutState"]), ("PRIMARY", "IN_PROGRESS"))
        self.assertEqual((primary["runningCount"], primary["pendingCount"]), (0, 2))
        self.assertTrue(primary["taskDefinition"].endswith(f"{svc['family']}:2"))
        self.assertRegex(primary["id"], r"^ecs-svc/\d{19}$")
        self.assertEqual(primary["failedTasks"], 0)
        self.assertEqual(primary["launchType"], "FARGATE")
        self.assertEqual((active["id"], active["status"], active["runningCount"]), (old_id, "ACTIVE", 2))
        self.assertTrue(out["taskDefinition"].endswith(f"{svc['family']}:2"))

        # After one delay: the new tasks run next to the old ones.
        time.sleep(max(0, t0 + DELAY * 1.4 - time.time()))
        s = self.describe(svc)
        if time.time() < t0 + 2 * DELAY:  # not too slow to observe the middle state
            self.assertEqual(len(s["deployments"]), 2)
            self.assertEqual(s["deployments"][0]["runningCount"], 2)
            self.assertEqual(s["deployments"][0]["rolloutState"], "IN_PROGRESS")
            self.assertEqual(s["runningCount"], 4)

        s = self.wait_steady(svc)
        d = s["deployments"][0]
        self.assertEqual(d["id"], primary["id"])
        self.assertEqual(d["rolloutStateReason"], f"ECS deployment {d['id']} completed.")
        self.assertGreaterEqual(time.time() - t0, 2 * DELAY)

        messages = [e["message"] for e in s["events"]]
        name = svc["service"]
        self.assertEqual(messages[0], f"(service {name}) has reached a steady state.")
        self.assertEqual(messages[1], f"(service {name}) deployment {d['id']} deployment completed.")
        self.assertRegex(messages[2], rf"^\(service {name}\) has stopped 2 running tasks: "
                                      r"\(task [0-9a-f]{32}\) \(task [0-9a-f]{32}\)\.$")
        self.assertRegex(messages[3], rf"^\(service {name}\) has started 2 tasks: "
                                      r"\(task [0-9a-f]{32}\) \(task [0-9a-f]{32}\)\.$")
        created = [e["createdAt"].timestamp() for e in s["events"]]
        self.assertEqual(created, sorted(created, reverse=True))

        running = self.ecs.list_tasks(cluster=svc["cluster"], serviceName=name)["taskArns"]
        tasks = self.ecs.describe_tasks(cluster=svc["cluster"], tasks=running)["tasks"]
        self.assertEqual(len(tasks), 2)
        for t in tasks:
            self.assertEqual(t["lastStatus"], "RUNNING")
            self.assertTrue(t["taskDefinitionArn"].endswith(f"{svc['family']}:2"))
            self.assertEqual(t["startedBy"], d["id"])
            self.assertEqual(t["group"], f"service:{name}")
        stopped = self.ecs.list_tasks(cluster=svc["cluster"], serviceName=name,
                                      desiredStatus="STOPPED")["taskArns"]
        old = self.ecs.describe_tasks(cluster=svc["cluster"], tasks=stopped)["tasks"]
        self.assertEqual(len(old), 2)
        self.assertEqual({t["stopCode"] for t in old}, {"ServiceSchedulerInitiated"})

    def test_force_new_deployment_redeploys_same_revision(self):
        svc = self.make_service(["c000001"])
        before = self.describe(svc)["deployments"][0]
        out = self.ecs.update_service(cluster=svc["cluster"], service=svc["service"],
                                      forceNewDeployment=True)["service"]
        self.assertEqual(len(out["deployments"]), 2)
        self.assertNotEqual(out["deployments"][0]["id"], before["id"])
        self.assertEqual(out["deployments"][0]["taskDefinition"], before["taskDefinition"])
        s = self.wait_steady(svc)
        self.assertEqual(s["deployments"][0]["id"], out["deployments"][0]["id"])

    def test_same_task_definition_without_force_is_no_deployment(self):
        svc = self.make_service(["c000001"])
        before = self.describe(svc)["deployments"]
        out = self.ecs.update_service(cluster=svc["cluster"], service=svc["service"],
                                      taskDefinition=f"{svc['family']}:1")["service"]
        self.assertEqual(out["deployments"], before)

    def test_bad_image_trips_circuit_breaker_and_rolls_back(self):
        svc = self.make_service(["d000001", "bad-d000002"], current=1)
        good_arn, bad_arn = svc["arns"]
        old_id = self.describe(svc)["deployments"][0]["id"]
        out = self.ecs.update_service(cluster=svc["cluster"], service=svc["service"],
                                      taskDefinition=bad_arn)["service"]
        bad_id = out["deployments"][0]["id"]

        def failed():
            s = self.describe(svc)
            return s if any(d["rolloutState"] == "FAILED" for d in s["deployments"]) else None
        s = wait_until(failed, what="FAILED deployment")
        failed_dep = next(d for d in s["deployments"] if d["id"] == bad_id)
        self.assertEqual(failed_dep["rolloutStateReason"], "ECS deployment circuit breaker: tasks failed to start.")
        self.assertGreaterEqual(failed_dep["failedTasks"], 3)
        self.assertEqual(failed_dep["runningCount"], 0)
        primary = s["deployments"][0]
        self.assertEqual(primary["status"], "PRIMARY")
        self.assertEqual(primary["taskDefinition"], good_arn)
        self.assertNotIn(primary["id"], (old_id, bad_id))

        s = self.wait_steady(svc)
        self.assertEqual(s["deployments"][0]["taskDefinition"], good_arn)
        self.assertEqual(s["taskDefinition"], good_arn)
        messages = [e["message"] for e in s["events"]]
        name = svc["service"]
        self.assertIn(f"(service {name}) deployment {bad_id} deployment failed: tasks failed to start.", messages)
        self.assertIn(f"(service {name}) (deployment {bad_id}) deployment circuit breaker: "
                      f"rolling back to deployment {primary['id']}.", messages)
        # Newest first: the failure is written before the rollback.
        self.assertGreater(messages.index(f"(service {name}) deployment {bad_id} deployment failed: "
                                          f"tasks failed to start."),
                        messages.index(f"(service {name}) (deployment {bad_id}) deployment circuit "
                                       f"breaker: rolling back to deployment {primary['id']}."))

        # The crashed tasks are there to diagnose, by service and by family.
        stopped = self.ecs.list_tasks(cluster=svc["cluster"], serviceName=name, desiredStatus="STOPPED")["taskArns"]
        by_family = self.ecs.list_tasks(cluster=svc["cluster"], family=svc["family"], desiredStatus="STOPPED")["taskArns"]
        self.assertEqual(set(stopped), set(by_family))
        tasks = self.ecs.describe_tasks(cluster=svc["cluster"], tasks=stopped)["tasks"]
        crashed = [t for t in tasks if t["taskDefinitionArn"] == bad_arn]
        self.assertEqual(len(crashed), failed_dep["failedTasks"])
        for t in crashed:
            self.assertEqual(t["lastStatus"], "STOPPED")
            self.assertEqual(t["stopCode"], "EssentialContainerExited")
            self.assertEqual(t["stoppedReason"], "Essential container in task exited")
            self.assertEqual(t["startedBy"], bad_id)
            self.assertEqual(t["group"], f"service:{name}")
            self.assertEqual(t["containers"][0]["name"], "app")
            self.assertEqual(t["containers"][0]["exitCode"], 1)
            self.assertTrue(t["containers"][0]["reason"])

    def test_bad_image_without_rollback_stays_failed(self):
        svc = self.make_service(["e000001", "e000002"], current=1, rollback=False)
        control("POST", "images", {"bad": [f"connect2-api:e000002"]})
        out = self.ecs.update_service(cluster=svc["cluster"], service=svc["service"],
                                      taskDefinition=svc["arns"][1])["service"]
        bad_id = out["deployments"][0]["id"]
        s = wait_until(lambda: (lambda s: s if s["deployments"][0]["rolloutState"] == "FAILED" else None)(
            self.describe(svc)), what="FAILED")
        time.sleep(DELAY * 3)
        s = self.describe(svc)
        self.assertEqual([d["status"] for d in s["deployments"]], ["PRIMARY", "ACTIVE"])
        self.assertEqual(s["deployments"][0]["id"], bad_id)
        self.assertEqual(s["deployments"][0]["rolloutState"], "FAILED")
        self.assertEqual(s["deployments"][1]["runningCount"], 2)  # the old tasks keep serving
        status, body = control("GET", f"health/{svc['cluster']}/{svc['service']}")
        self.assertEqual(status, 200)
        self.assertEqual(body["taskDefinition"], svc["arns"][0])

    def test_unhealthy_image_deploys_but_health_fails(self):
        svc = self.make_service(["f000001", "f000002-unhealthy", "f000003"], current=1)
        path = f"health/{svc['cluster']}/{svc['service']}"
        self.assertEqual(control("GET", path)[0], 200)
        self.ecs.update_service(cluster=svc["cluster"], service=svc["service"], taskDefinition=svc["arns"][1])
        s = self.wait_steady(svc)
        self.assertEqual(s["deployments"][0]["taskDefinition"], svc["arns"][1])
        status, body = control("GET", path)
        self.assertEqual(status, 500)
        self.assertEqual(body["status"], "error")
        # Marked via the control API instead of by tag.
        control("POST", "images", {"unhealthy": [f"{IMAGE_REPO}:f000003"]})
        self.ecs.update_service(cluster=svc["cluster"], service=svc["service"], taskDefinition=svc["arns"][2])
        self.wait_steady(svc)
        self.assertEqual(control("GET", path)[0], 500)
        control("POST", "images", {"good": [f"{IMAGE_REPO}:f000003"]})
        self.assertEqual(control("GET", path)[0], 200)

    def test_health_503_while_nothing_runs(self):
        ecs = self.ecs
        name = f"h{uuid.uuid4().hex[:8]}"
        ecs.create_cluster(clusterName=name)
        ecs.register_task_definition(family=name, requiresCompatibilities=["FARGATE"], networkMode="awsvpc",
                                     cpu="256", memory="512",
                                     containerDefinitions=[{"name": "app", "image": f"{IMAGE_REPO}:ok"}])
        control("POST", "config", {"task_start_delay": 5})
        ecs.create_service(cluster=name, serviceName=name, taskDefinition=name, desiredCount=1,
                           launchType="FARGATE", networkConfiguration=NETWORK)
        self.assertEqual(control("GET", f"health/{name}/{name}")[0], 503)
        control("POST", "config", {"task_start_delay": 0.01})
        wait_until(lambda: control("GET", f"health/{name}/{name}")[0] == 200, what="health 200")

    def test_target_groups_follow_the_services_tasks(self):
        ecs, ec2, elbv2 = self.ecs, client("ec2"), client("elbv2")
        name = f"t{uuid.uuid4().hex[:8]}"
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        tg = elbv2.create_target_group(Name=name, Protocol="HTTP", Port=8080, VpcId=vpc,
                                       TargetType="ip")["TargetGroups"][0]["TargetGroupArn"]
        ecs.create_cluster(clusterName=name)
        arns = [ecs.register_task_definition(family=name, requiresCompatibilities=["FARGATE"], networkMode="awsvpc",
                                             cpu="256", memory="512",
                                             containerDefinitions=[{"name": "app", "image": f"{IMAGE_REPO}:{tag}"}]
                                             )["taskDefinition"]["taskDefinitionArn"] for tag in ("a000001", "a000002")]
        ecs.create_service(cluster=name, serviceName=name, taskDefinition=arns[0], desiredCount=2,
                           launchType="FARGATE", networkConfiguration=NETWORK,
                           loadBalancers=[{"targetGroupArn": tg, "containerName": "app", "containerPort": 8080}])

        def task_ips():
            task_arns = ecs.list_tasks(cluster=name, serviceName=name)["taskArns"]
            tasks = ecs.describe_tasks(cluster=name, tasks=task_arns)["tasks"] if task_arns else []
            return {d["value"] for t in tasks if t["lastStatus"] == "RUNNING" for a in t["attachments"]
                    for d in a["details"] if d["name"] == "privateIPv4Address"}

        def targets():
            return {h["Target"]["Id"]: h["TargetHealth"]["State"]
                    for h in elbv2.describe_target_health(TargetGroupArn=tg)["TargetHealthDescriptions"]}

        wait_until(lambda: len(task_ips()) == 2 and set(targets()) == task_ips(), what="2 tasks registered")
        first = task_ips()
        self.assertEqual(set(targets().values()), {"healthy"})
        ecs.update_service(cluster=name, service=name, taskDefinition=arns[1])
        wait_until(lambda: len(task_ips()) == 2 and not (task_ips() & first) and set(targets()) == task_ips(),
                   what="the new tasks registered and the old ones gone")
        self.assertEqual(set(targets().values()), {"healthy"})
        # Tasks of an unhealthy image fail the load balancer's health checks, as ELBv2 says it.
        sick = ecs.register_task_definition(family=name, requiresCompatibilities=["FARGATE"], networkMode="awsvpc",
                                            cpu="256", memory="512",
                                            containerDefinitions=[{"name": "app",
                                                                   "image": f"{IMAGE_REPO}:unhealthy-a3"}]
                                            )["taskDefinition"]["taskDefinitionArn"]
        second = task_ips()
        ecs.update_service(cluster=name, service=name, taskDefinition=sick)
        wait_until(lambda: len(task_ips()) == 2 and not (task_ips() & second) and set(targets()) == task_ips(),
                   what="the unhealthy tasks registered")
        self.assertEqual(set(targets().values()), {"unhealthy"})
        [one] = [h for h in elbv2.describe_target_health(TargetGroupArn=tg)["TargetHealthDescriptions"]][:1]
        self.assertEqual(one["TargetHealth"]["Reason"], "Target.ResponseCodeMismatch")


# ---- RunTask -------------------------------------------------------------------------------------


class TestServiceDeployments(SandboxTest):
    """ListServiceDeployments, DescribeServiceDeployments/Revisions, StopServiceDeployment."""

    def history(self, svc: dict) -> list[dict]:
        briefs, token = [], None
        while True:
            kwargs = {"cluster": svc["cluster"], "service": svc["service"], "maxResults": 1}
            if token:
                kwargs["nextToken"] = token
            page = self.ecs.list_service_deployments(**kwargs)
            briefs += page["serviceDeployments"]
            token = page.get("nextToken")
            if not token:
                break
        arns = [b["serviceDeploymentArn"] for b in briefs]
        full = self.ecs.describe_service_deployments(serviceDeploymentArns=arns)["serviceDeployments"]
        return sorted(full, key=lambda d: d["createdAt"])

    def task_definition_of(self, revision_arn: str) -> str:
        [rev] = self.ecs.describe_service_revisions(serviceRevisionArns=[revision_arn])["serviceRevisions"]
        return rev["taskDefinition"]

    def wait_status(self, arn: str, *statuses: str, timeout: float = 10.0) -> dict:
        def done():
            [d] = self.ecs.describe_service_deployments(serviceDeploymentArns=[arn])["serviceDeployments"]
            return d if d["status"] in statuses else None
        return wait_until(done, timeout, what=f"service deployment {' or '.join(statuses)}")

    def test_history_records_success_and_circuit_breaker_rollback(self):
        svc = self.make_service(["h000001", "bad-h2", "h000003-unhealthy"], current=1)
        self.ecs.update_service(cluster=svc["cluster"], service=svc["service"], taskDefinition=f"{svc['family']}:2")
        wait_until(lambda: [d["status"] for d in self.history(svc)] == ["SUCCESSFUL", "ROLLBACK_SUCCESSFUL"],
                   15, what="the circuit breaker's rollback to finish")
        self.ecs.update_service(cluster=svc["cluster"], service=svc["service"], taskDefinition=f"{svc['family']}:3")
        self.wait_steady(svc)
        first, failed, last = self.history(svc)
        self.assertEqual([first["status"], failed["status"], last["status"]],
                         ["SUCCESSFUL", "ROLLBACK_SUCCESSFUL", "SUCCESSFUL"])
        self.assertEqual(self.task_definition_of(first["targetServiceRevision"]["arn"]), svc["arns"][0])
        self.assertEqual(self.task_definition_of(failed["targetServiceRevision"]["arn"]), svc["arns"][1])
        self.assertEqual(failed["deploymentCircuitBreaker"]["status"], "TRIGGERED")
        self.assertGreaterEqual(failed["deploymentCircuitBreaker"]["failureCount"], 3)
        self.assertEqual(self.task_definition_of(failed["rollback"]["serviceRevisionArn"]), svc["arns"][0])
        self.assertEqual(self.task_definition_of(last["sourceServiceRevisions"][0]["arn"]), svc["arns"][0])
        self.assertIn("finishedAt", last)
        # Filters: status and createdAt.
        only = self.ecs.list_service_deployments(cluster=svc["cluster"], service=svc["service"],
                                                 status=["ROLLBACK_SUCCESSFUL"])["serviceDeployments"]
        self.assertEqual([b["serviceDeploymentArn"] for b in only], [failed["serviceDeploymentArn"]])
        # (botocore sends whole seconds: compare with a margin.)
        future = last["createdAt"] + datetime.timedelta(seconds=5)
        after = self.ecs.list_service_deployments(cluster=svc["cluster"], service=svc["service"],
                                                  createdAt={"after": future})["serviceDeployments"]
        self.assertEqual(after, [])
        before = self.ecs.list_service_deployments(cluster=svc["cluster"], service=svc["service"],
                                                   createdAt={"before": future})["serviceDeployments"]
        self.assertEqual(len(before), 3)
        with self.assertRaises(botocore.exceptions.ClientError):
            self.ecs.describe_service_deployments(serviceDeploymentArns=["x"] * 21)

    def test_stop_with_rollback_keeps_the_old_tasks(self):
        svc = self.make_service(["s000001", "s000002-unhealthy"], current=1)
        control("POST", "config", {"task_start_delay": 1.0})
        old_tasks = set(self.ecs.list_tasks(cluster=svc["cluster"], serviceName=svc["service"])["taskArns"])
        self.ecs.update_service(cluster=svc["cluster"], service=svc["service"], taskDefinition=f"{svc['family']}:2")
        in_flight = self.history(svc)[-1]
        self.assertEqual(in_flight["status"], "IN_PROGRESS")
        arn = self.ecs.stop_service_deployment(serviceDeploymentArn=in_flight["serviceDeploymentArn"],
                                               stopType="ROLLBACK")["serviceDeploymentArn"]
        self.assertEqual(arn, in_flight["serviceDeploymentArn"])
        d = self.ecs.describe_service_deployments(serviceDeploymentArns=[arn])["serviceDeployments"][0]
        self.assertEqual(d["status"], "ROLLBACK_IN_PROGRESS")
        self.assertEqual(self.task_definition_of(d["rollback"]["serviceRevisionArn"]), svc["arns"][0])
        done = self.wait_status(arn, "ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED")
        self.assertEqual(done["status"], "ROLLBACK_SUCCESSFUL")
        s = self.wait_steady(svc)
        self.assertEqual(s["deployments"][0]["taskDefinition"], svc["arns"][0])
        running = set(self.ecs.list_tasks(cluster=svc["cluster"], serviceName=svc["service"])["taskArns"])
        self.assertEqual(running, old_tasks)  # the old tasks kept serving: none was replaced
        # A finished deployment cannot be stopped.
        with self.assertRaises(botocore.exceptions.ClientError) as e:
            self.ecs.stop_service_deployment(serviceDeploymentArn=arn, stopType="ROLLBACK")
        self.assertEqual(e.exception.response["Error"]["Code"], "ClientException")


class TestStrategies(SandboxTest):
    """BLUE_GREEN (also LINEAR, CANARY): lifecycle stages, bake time and PAUSE hooks."""

    def blue_green(self, hooks: list[dict] | None = None, bake: int = 1) -> dict:
        svc = self.make_service(["g000001", "g000002-unhealthy"], current=1)
        config = {"strategy": "BLUE_GREEN", "bakeTimeInMinutes": bake,
                  "deploymentCircuitBreaker": {"enable": True, "rollback": True}}
        if hooks:
            config["lifecycleHooks"] = hooks
        self.ecs.update_service(cluster=svc["cluster"], service=svc["service"], deploymentConfiguration=config)
        return svc

    def latest(self, svc: dict) -> dict:
        briefs = self.ecs.list_service_deployments(cluster=svc["cluster"], service=svc["service"])["serviceDeployments"]
        arn = max(briefs, key=lambda b: b["createdAt"])["serviceDeploymentArn"]
        return self.ecs.describe_service_deployments(serviceDeploymentArns=[arn])["serviceDeployments"][0]

    def test_stages_and_bake_time_then_successful(self):
        control("POST", "config", {"bake_minute_seconds": 0.5})
        svc = self.blue_green(bake=2)
        self.ecs.update_service(cluster=svc["cluster"], service=svc["service"], taskDefinition=f"{svc['family']}:2")
        seen = []

        def stages():
            d = self.latest(svc)
            if not seen or seen[-1] != d["lifecycleStage"]:
                seen.append(d["lifecycleStage"])
            return d if d["status"] == "SUCCESSFUL" else None
        wait_until(stages, 30, interval=0.02, what="the blue/green deployment")
        self.assertIn("BAKE_TIME", seen)
        self.assertIn("PRODUCTION_TRAFFIC_SHIFT", seen)
        self.assertEqual(seen[-1], "CLEAN_UP")
        self.assertTrue(self.describe(svc)["deployments"][0]["taskDefinition"].endswith(":2"))

    def test_pause_hook_waits_and_continue_rollback_returns(self):
        svc = self.blue_green(hooks=[{"targetType": "PAUSE", "lifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"]}])
        self.ecs.update_service(cluster=svc["cluster"], service=svc["service"], taskDefinition=f"{svc['family']}:2")
        paused = wait_until(lambda: (lambda d: d if d.get("lifecycleHookDetails") else None)(self.latest(svc)),
                            15, what="the PAUSE hook")
        [hook] = paused["lifecycleHookDetails"]
        self.assertEqual((hook["status"], hook["targetType"]), ("AWAITING_ACTION", "PAUSE"))
        self.assertEqual(paused["lifecycleStage"], "POST_TEST_TRAFFIC_SHIFT")
        time.sleep(3 * DELAY)
        self.assertEqual(self.latest(svc)["status"], "IN_PROGRESS")  # it really waits
        with self.assertRaises(botocore.exceptions.ClientError):
            self.ecs.continue_service_deployment(serviceDeploymentArn=paused["serviceDeploymentArn"],
                                                 hookId="not-the-hook", action="ROLLBACK")
        self.ecs.continue_service_deployment(serviceDeploymentArn=paused["serviceDeploymentArn"],
                                             hookId=hook["hookId"], action="ROLLBACK")
        done = wait_until(lambda: (lambda d: d if d["status"].startswith("ROLLBACK_") and d["status"] != "ROLLBACK_IN_PROGRESS" else None)(self.latest(svc)), 15, what="the rollback")
        self.assertEqual(done["status"], "ROLLBACK_SUCCESSFUL")
        self.assertTrue(self.wait_steady(svc)["deployments"][0]["taskDefinition"].endswith(":1"))


class TestCacheClusterNetwork(SandboxTest):
    """network_sim.py: DescribeCacheClusters has the cluster's VPC security groups and its node
    endpoint, under botocore's member names (boto3 drops members its model does not know)."""

    def test_security_groups_and_endpoint(self):
        ec2 = client("ec2")
        vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
        sg = ec2.create_security_group(GroupName=f"redis-{uuid.uuid4().hex[:8]}", Description="r", VpcId=vpc)["GroupId"]
        name = f"redis-{uuid.uuid4().hex[:8]}"
        cache = client("elasticache")
        cache.create_cache_cluster(CacheClusterId=name, Engine="redis", CacheNodeType="cache.t3.micro",
                                   NumCacheNodes=1, SecurityGroupIds=[sg], Port=6380)
        c = cache.describe_cache_clusters(CacheClusterId=name, ShowCacheNodeInfo=True)["CacheClusters"][0]
        self.assertEqual(c["SecurityGroups"], [{"SecurityGroupId": sg, "Status": "active"}])
        self.assertEqual(len(c["CacheNodes"]), 1)
        node = c["CacheNodes"][0]
        self.assertEqual(node["CacheNodeStatus"], "available")
        self.assertEqual(node["Endpoint"]["Port"], 6380)
        self.assertTrue(node["Endpoint"]["Address"].startswith(name + ".0001."), node)


class TestShapesMatchBotocore(SandboxTest):
    """The sandbox's new responses validate against botocore's ECS model, member by member."""

    def validate(self, shape, value, path="$"):
        kind = shape.type_name
        if kind == "structure":
            self.assertIsInstance(value, dict, path)
            for key, item in value.items():
                self.assertIn(key, shape.members, f"{path}.{key} is not in {shape.name}")
                self.validate(shape.members[key], item, f"{path}.{key}")
            for key in shape.required_members:
                self.assertIn(key, value, f"{path}: required {key} missing")
        elif kind == "list":
            self.assertIsInstance(value, list, path)
            for i, item in enumerate(value):
                self.validate(shape.member, item, f"{path}[{i}]")
        elif kind == "map":
            self.assertIsInstance(value, dict, path)
            for key, item in value.items():
                self.validate(shape.value, item, f"{path}.{key}")
        elif kind == "string":
            self.assertIsInstance(value, str, path)
            if shape.enum:
                self.assertIn(value, shape.enum, path)
        elif kind in ("integer", "long"):
            self.assertTrue(isinstance(value, int) and not isinstance(value, bool), f"{path}: {value!r}")
        elif kind in ("double", "float"):
            self.assertTrue(isinstance(value, (int, float)) and not isinstance(value, bool), path)
        elif kind == "boolean":
            self.assertIsInstance(value, bool, path)
        elif kind == "timestamp":
            self.assertTrue(isinstance(value, (int, float)) and value > 1e9, f"{path}: {value!r}")
        else:
            self.fail(f"{path}: unexpected shape type {kind}")

    def call(self, operation: str, body: dict) -> dict:
        status, _headers, out = raw_ecs(operation, body)
        self.assertEqual(status, 200, out)
        model = self.ecs.meta.service_model.operation_model(operation)
        self.validate(model.output_shape, out, operation)
        return out

    def test_service_deployment_responses(self):
        svc = self.make_service(["v000001", "bad-v2", "v000003"], current=1)
        self.ecs.update_service(cluster=svc["cluster"], service=svc["service"], taskDefinition=f"{svc['family']}:2")
        wait_until(lambda: any(b["status"] == "ROLLBACK_SUCCESSFUL" for b in self.ecs.list_service_deployments(
            cluster=svc["cluster"], service=svc["service"])["serviceDeployments"]), 15, what="the rollback")
        control("POST", "config", {"task_start_delay": 1.0})
        self.ecs.update_service(cluster=svc["cluster"], service=svc["service"], taskDefinition=f"{svc['family']}:3")
        briefs = self.call("ListServiceDeployments", {"cluster": svc["cluster"], "service": svc["service"]})
        arns = [b["serviceDeploymentArn"] for b in briefs["serviceDeployments"]]
        self.assertEqual(len(arns), 3)
        full = self.call("DescribeServiceDeployments", {"serviceDeploymentArns": arns + ["arn:missing"]})
        self.assertEqual(len(full["failures"]), 1)
        self.assertTrue(any("rollback" in d for d in full["serviceDeployments"]))
        revisions = {d["targetServiceRevision"]["arn"] for d in full["serviceDeployments"]}
        self.call("DescribeServiceRevisions", {"serviceRevisionArns": sorted(revisions)})
        in_flight = [d for d in full["serviceDeployments"] if d["status"] == "IN_PROGRESS"][0]
        self.call("StopServiceDeployment", {"serviceDeploymentArn": in_flight["serviceDeploymentArn"],
                                            "stopType": "ROLLBACK"})
        # A blue/green deployment paused at a PAUSE hook: lifecycleHookDetails and Continue.
        self.ecs.update_service(cluster=svc["cluster"], service=svc["service"], deploymentConfiguration={
            "strategy": "BLUE_GREEN", "bakeTimeInMinutes": 0,
            "lifecycleHooks": [{"targetType": "PAUSE", "lifecycleStages": ["POST_SCALE_UP"]}]})
        self.wait_steady(svc)
        self.ecs.update_service(cluster=svc["cluster"], service=svc["service"], taskDefinition=f"{svc['family']}:3")

        def paused():
            briefs = self.call("ListServiceDeployments", {"cluster": svc["cluster"], "service": svc["service"]})
            newest = max(briefs["serviceDeployments"], key=lambda b: b["createdAt"])["serviceDeploymentArn"]
            d = self.call("DescribeServiceDeployments", {"serviceDeploymentArns": [newest]})["serviceDeployments"][0]
            return d if d.get("lifecycleHookDetails") else None
        d = wait_until(paused, 15, what="the PAUSE hook")
        self.call("ContinueServiceDeployment", {"serviceDeploymentArn": d["serviceDeploymentArn"],
                                                "hookId": d["lifecycleHookDetails"][0]["hookId"], "action": "CONTINUE"})
        self.call("DescribeServiceDeployments", {"serviceDeploymentArns": [in_flight["serviceDeploymentArn"]]})


class TestRunTask(SandboxTest):
    def setUp(self):
        super().setUp()
        self.dir = tempfile.TemporaryDirectory(prefix="sandbox-exec-")
        self.addCleanup(self.dir.cleanup)
        self.addCleanup(control, "DELETE", "exec_dirs")

    def run_task(self, family: str, container: str, command: list[str], env=None) -> dict:
        overrides = {"containerOverrides": [{"name": container, "command": command,
                                             "environment": env or []}]}
        out = self.ecs.run_task(cluster="connect2-api-cluster-staging", taskDefinition=family,
                                launchType="FARGATE", networkConfiguration=NETWORK,
                                overrides=overrides, startedBy="rollback-cli")
        self.assertEqual(out["failures"], [])
        return out["tasks"][0]

    def wait_stopped(self, task_arn: str) -> dict:
        def stopped():
            t = self.ecs.describe_tasks(cluster="connect2-api-cluster-staging", tasks=[task_arn])["tasks"][0]
            return t if t["lastStatus"] == "STOPPED" else None
        return wait_until(stopped, timeout=20, what="STOPPED task")

    def test_local_execution_with_exit_code_and_logs(self):
        control("POST", "exec_dirs", {"connect2-api": self.dir.name})
        script = ("import os, sys; open('ran.txt', 'w').write(os.getcwd()); "
                  "print('db', os.environ['DB_URL']); print('oops', file=sys.stderr); sys.exit(3)")
        task = self.run_task("connect2-api-staging", "connect2-api", [sys.executable, "-c", script],
                             [{"name": "DB_URL", "value": "postgresql://x"}])
        self.assertIn(task["lastStatus"], ("PROVISIONING", "PENDING"))
        self.assertEqual(task["startedBy"], "rollback-cli")
        t = self.wait_stopped(task["taskArn"])
        self.assertEqual(t["containers"][0]["exitCode"], 3)
        self.assertEqual(t["stopCode"], "EssentialContainerExited")
        self.assertEqual(t["stoppedReason"], "Essential container in task exited")
        with open(os.path.join(self.dir.name, "ran.txt")) as f:
            self.assertEqual(os.path.realpath(f.read()), os.path.realpath(self.dir.name))
        status, logs = control("GET", f"tasks/{task['taskArn'].split('/')[-1]}/logs")
        self.assertEqual(status, 200)
        self.assertEqual(logs["stdout"], "db postgresql://x\n")
        self.assertEqual(logs["stderr"], "oops\n")
        self.assertEqual(logs["exitCode"], 3)
        listed = self.ecs.list_tasks(cluster="connect2-api-cluster-staging", startedBy="rollback-cli",
                                     desiredStatus="STOPPED")["taskArns"]
        self.assertIn(task["taskArn"], listed)

    def test_success_and_missing_command(self):
        control("POST", "exec_dirs", {"connect2-api": self.dir.name})
        t = self.wait_stopped(self.run_task("connect2-api-staging", "connect2-api",
                                            [sys.executable, "-c", "print('ok')"])["taskArn"])
        self.assertEqual(t["containers"][0]["exitCode"], 0)
        t = self.wait_stopped(self.run_task("connect2-api-staging", "connect2-api",
                                            ["/nonexistent/alembic", "downgrade", "-1"])["taskArn"])
        self.assertEqual(t["containers"][0]["exitCode"], 127)

    def test_without_mapping_stops_with_zero_after_delay(self):
        t0 = time.time()
        task = self.run_task("connect2-api-staging", "connect2-api", ["alembic", "downgrade", "-1"])
        t = self.wait_stopped(task["taskArn"])
        self.assertGreaterEqual(time.time() - t0, DELAY)
        self.assertEqual(t["containers"][0]["exitCode"], 0)
        self.assertEqual(control("GET", f"tasks/{task['taskArn'].split('/')[-1]}/logs")[1]["stdout"], "")

    def test_inactive_task_definition_cannot_run(self):
        with self.assertRaises(botocore.exceptions.ClientError) as e:
            self.run_task("connect2-api-staging:5", "connect2-api", ["true"])
        self.assertEqual(e.exception.response["Error"]["Message"], "TaskDefinition is inactive")

    def test_describe_tasks_reports_missing(self):
        out = self.ecs.describe_tasks(cluster="connect2-api-cluster-staging", tasks=["0" * 32])
        self.assertEqual(out["tasks"], [])
        self.assertEqual(out["failures"][0]["reason"], "MISSING")


# ---- faults and the call log -----------------------------------------------------------------------


class TestFaults(SandboxTest):
    def tearDown(self):
        control("DELETE", "faults")

    def test_throttle_count(self):
        control("POST", "faults", {"rules": [{"operation": "ListClusters", "kind": "throttle", "count": 2}]})
        for _ in range(2):
            with self.assertRaises(botocore.exceptions.ClientError) as e:
                self.ecs.list_clusters()
            err = e.exception.response
            self.assertEqual(err["Error"]["Code"], "ThrottlingException")
            self.assertEqual(err["Error"]["Message"], "Rate exceeded")
            self.assertEqual(err["ResponseMetadata"]["HTTPStatusCode"], 400)
            self.assertTrue(err["ResponseMetadata"]["RequestId"])
        self.ecs.list_clusters()
        self.assertEqual(control("GET", "faults")[1]["rules"], [])

    def test_expired_token(self):
        control("POST", "faults", {"rules": [{"operation": "ListClusters", "kind": "expired_token", "count": 1}]})
        with self.assertRaises(botocore.exceptions.ClientError) as e:
            self.ecs.list_clusters()
        self.assertEqual(e.exception.response["Error"]["Code"], "ExpiredTokenException")
        self.assertEqual(e.exception.response["ResponseMetadata"]["HTTPStatusCode"], 400)
        self.ecs.list_clusters()

    def test_retrying_client_gets_through_throttling(self):
        control("POST", "calls/reset")
        control("POST", "faults", {"rules": [{"operation": "ListClusters", "kind": "throttle", "count": 2}]})
        client("ecs", retries=5).list_clusters()
        calls = control("GET", "calls?operation=ListClusters")[1]
        self.assertEqual([c["status"] for c in calls["calls"]], [400, 400, 200])
        self.assertEqual([c["fault"] for c in calls["calls"]], ["throttle", "throttle", None])

    def test_error500_and_error503_and_wildcard(self):
        control("POST", "faults", {"rules": [{"operation": "*", "kind": "error500", "count": 1},
                                             {"operation": "ListClusters", "kind": "error503", "count": 1}]})
        with self.assertRaises(botocore.exceptions.ClientError) as e:
            self.ecs.list_services(cluster="connect2-api-cluster-dev")
        self.assertEqual(e.exception.response["ResponseMetadata"]["HTTPStatusCode"], 500)
        self.assertEqual(e.exception.response["Error"]["Code"], "InternalFailure")
        with self.assertRaises(botocore.exceptions.ClientError) as e:
            self.ecs.list_clusters()
        self.assertEqual(e.exception.response["ResponseMetadata"]["HTTPStatusCode"], 503)
        self.assertEqual(e.exception.response["Error"]["Code"], "ServiceUnavailable")
        self.ecs.list_clusters()

    def test_latency(self):
        control("POST", "faults", {"rules": [{"operation": "ListClusters", "kind": "latency", "ms": 300, "count": 1}]})
        t0 = time.time()
        self.ecs.list_clusters()
        self.assertGreaterEqual(time.time() - t0, 0.3)
        t0 = time.time()
        self.ecs.list_clusters()
        self.assertLess(time.time() - t0, 0.3)

    def test_latency_range(self):
        control("POST", "faults", {"rules": [{"operation": "ListClusters", "kind": "latency", "ms": 100,
                                              "ms_max": 200, "count": 1, "seed": 3}], "replace": True})
        t0 = time.time()
        self.ecs.list_clusters()
        self.assertGreaterEqual(time.time() - t0, 0.1)
        status, body = control("POST", "faults", {"rules": [{"kind": "latency", "ms": 100, "ms_max": 50}]})
        self.assertEqual(status, 400)
        self.assertIn("ms_max", body["error"])

    def test_drop(self):
        control("POST", "faults", {"rules": [{"operation": "ListClusters", "kind": "drop", "count": 1}]})
        with self.assertRaises((botocore.exceptions.ConnectionClosedError,
                                botocore.exceptions.EndpointConnectionError,
                                botocore.exceptions.ConnectionError)):
            self.ecs.list_clusters()
        self.ecs.list_clusters()
        # curl sees no answer at all.
        control("POST", "faults", {"rules": [{"operation": "ListClusters", "kind": "drop", "count": 1}]})
        r = subprocess.run(
            ["curl", "-sS", "-X", "POST", URL + "/", "-H",
             "X-Amz-Target: AmazonEC2ContainerServiceV20141113.ListClusters",
             "-H", "Content-Type: application/x-amz-json-1.1", "-d", "{}"],
            capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 52, r.stderr)  # curl: (52) Empty reply from server
        self.assertIn("Empty reply from server", r.stderr)

    def test_error500_after_applies_the_change(self):
        svc = self.make_service(["g000001", "g000002"], current=1)
        control("POST", "faults", {"rules": [{"operation": "UpdateService", "kind": "error500_after", "count": 1}]})
        with self.assertRaises(botocore.exceptions.ClientError) as e:
            self.ecs.update_service(cluster=svc["cluster"], service=svc["service"],
                                    taskDefinition=svc["arns"][1])
        self.assertEqual(e.exception.response["ResponseMetadata"]["HTTPStatusCode"], 500)
        s = self.describe(svc)
        self.assertEqual(s["deployments"][0]["taskDefinition"], svc["arns"][1])
        self.assertEqual(s["deployments"][0]["status"], "PRIMARY")

    def test_probability_hits_a_share_of_one_services_calls(self):
        ddb = client("dynamodb")
        control("POST", "calls/reset")
        control("POST", "faults", {"rules": [{"operation": "*", "service": "dynamodb", "kind": "error500",
                                              "probability": 0.2, "seed": 3}]})
        failed = 0
        for _ in range(200):
            try:
                ddb.list_tables()
            except botocore.exceptions.ClientError:
                failed += 1
        self.assertTrue(20 <= failed <= 60, failed)  # about 40 of 200
        self.ecs.list_clusters()  # another service: never hit
        calls = control("GET", "calls")[1]["calls"]
        self.assertEqual(sum(1 for c in calls if c["fault"] == "error500"), failed)
        self.assertEqual([r.get("probability") for r in control("GET", "faults")[1]["rules"]], [0.2])
        status, body = control("POST", "faults", {"rules": [{"kind": "error500", "probability": 1.5}]})
        self.assertEqual(status, 400)

    def test_s3_throttle_is_slowdown(self):
        s3 = client("s3")
        control("POST", "faults", {"rules": [{"operation": "GET /connect2-api-terraform-state-dev*",
                                              "kind": "throttle", "count": 1}]})
        with self.assertRaises(botocore.exceptions.ClientError) as e:
            s3.list_object_versions(Bucket="connect2-api-terraform-state-dev", Prefix="api/terraform.tfstate")
        self.assertEqual(e.exception.response["Error"]["Code"], "SlowDown")
        self.assertEqual(e.exception.response["ResponseMetadata"]["HTTPStatusCode"], 503)
        s3.list_object_versions(Bucket="connect2-api-terraform-state-dev", Prefix="api/terraform.tfstate")

    def test_bad_rule_is_rejected(self):
        status, body = control("POST", "faults", {"rules": [{"operation": "X", "kind": "explode"}]})
        self.assertEqual(status, 400)
        self.assertIn("kind", body["error"])

    def test_call_counter(self):
        svc = self.make_service(["h000001"])
        control("POST", "calls/reset")
        for _ in range(3):
            self.ecs.update_service(cluster=svc["cluster"], service=svc["service"], desiredCount=2)
        self.ecs.describe_services(cluster=svc["cluster"], services=[svc["service"]])
        calls = control("GET", "calls")[1]
        self.assertEqual(calls["counts"], {"UpdateService": 3, "DescribeServices": 1})
        self.assertEqual([c["operation"] for c in calls["calls"]],
                         ["UpdateService"] * 3 + ["DescribeServices"])
        self.assertTrue(all(isinstance(c["time"], float) for c in calls["calls"]))
        control("POST", "calls/reset")
        self.assertEqual(control("GET", "calls")[1]["counts"], {})


# ---- the runbook as written, with the AWS CLI --------------------------------------------------------


class TestShapeChecks(unittest.TestCase):
    """shapes.py: the check the e2e harness relies on finds what it must, and runs on answers."""

    def test_walker_flags_invented_members_types_and_enum_values(self):
        sys.path.insert(0, HERE)
        import shapes
        import botocore.session

        op = botocore.session.get_session().get_service_model("ecs").operation_model("DescribeServices")
        problems: list[str] = []
        shapes.walk(op.output_shape, {"services": [{"serviceName": "a", "runningCount": 2,
                                                    "deployments": [{"rolloutState": "COMPLETED"}]}]},
                    "DescribeServices", problems, raw_json=True)
        self.assertEqual(problems, [])
        shapes.walk(op.output_shape, {"services": [{"inventedField": 1, "runningCount": "2",
                                                    "deployments": [{"rolloutState": "DONE"}]}]},
                    "DescribeServices", problems, raw_json=True)
        self.assertEqual(problems, [
            "DescribeServices.services[0].inventedField: not a member of Service",
            "DescribeServices.services[0].runningCount: str where the model says integer",
            "DescribeServices.services[0].deployments[0].rolloutState: 'DONE' is not one of "
            "DeploymentRolloutState's values"])

    def test_answers_are_checked_when_enabled(self):
        self.assertEqual(control("POST", "shapes", {"enabled": True})[0], 200)
        self.addCleanup(control, "POST", "shapes", {"enabled": False})
        control("DELETE", "shapes")
        client("ecs").list_clusters()
        client("sts").get_caller_identity()
        status, found = control("GET", "shapes")
        self.assertEqual(status, 200)
        self.assertGreaterEqual(found["checked"], 2)
        self.assertEqual(found["violations"], [])


class TestRdsPointInTime(unittest.TestCase):
    """rds_sim.py: restores check their time, take a moment, and can point at a local server."""

    def test_restore_window_creation_and_endpoint(self):
        rds = client("rds")
        name = "pitr-src-" + uuid.uuid4().hex[:8]
        rds.create_db_instance(DBInstanceIdentifier=name, Engine="postgres", DBInstanceClass="db.t3.micro",
                               AllocatedStorage=20, MasterUsername="app", MasterUserPassword="x-password-1",
                               BackupRetentionPeriod=1, Port=6543)
        self.assertEqual(control("POST", "rds", {"restore_delay": 0.5, "endpoint_address": "127.0.0.1"})[0], 200)
        self.addCleanup(control, "POST", "rds", {"restore_delay": 2.0, "endpoint_address": None})
        self.assertEqual(control("POST", "rds", {"restore_delay": -1})[0], 400)
        old = datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc)
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            rds.restore_db_instance_to_point_in_time(SourceDBInstanceIdentifier=name,
                                                     TargetDBInstanceIdentifier=name + "-old", RestoreTime=old)
        self.assertEqual(cm.exception.response["Error"]["Code"], "InvalidRestoreFault")
        time.sleep(1.1)
        when = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=1)
        made = rds.restore_db_instance_to_point_in_time(SourceDBInstanceIdentifier=name,
                                                        TargetDBInstanceIdentifier=name + "-r", RestoreTime=when)
        self.assertEqual(made["DBInstance"]["DBInstanceStatus"], "creating")
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            rds.restore_db_instance_to_point_in_time(SourceDBInstanceIdentifier=name,
                                                     TargetDBInstanceIdentifier=name + "-r", RestoreTime=when)
        self.assertEqual(cm.exception.response["Error"]["Code"], "DBInstanceAlreadyExists")
        wait_until(lambda: rds.describe_db_instances(DBInstanceIdentifier=name + "-r")["DBInstances"][0]
                   ["DBInstanceStatus"] == "available", what="the restored instance available")
        endpoint = rds.describe_db_instances(DBInstanceIdentifier=name + "-r")["DBInstances"][0]["Endpoint"]
        self.assertEqual(endpoint, {"Address": "127.0.0.1", "Port": 6543})

    def test_cluster_restore_window_creation_instance_and_endpoint(self):
        rds = client("rds")
        name = "pitr-cl-" + uuid.uuid4().hex[:8]
        rds.create_db_cluster(DBClusterIdentifier=name, Engine="aurora-postgresql", MasterUsername="app",
                              MasterUserPassword="x-password-1", BackupRetentionPeriod=1, Port=6544)
        self.assertEqual(control("POST", "rds", {"restore_delay": 0.5, "endpoint_address": "127.0.0.1"})[0], 200)
        self.addCleanup(control, "POST", "rds", {"restore_delay": 2.0, "endpoint_address": None})
        old = datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc)
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            rds.restore_db_cluster_to_point_in_time(SourceDBClusterIdentifier=name, DBClusterIdentifier=name + "-old",
                                                    RestoreToTime=old)
        self.assertEqual(cm.exception.response["Error"]["Code"], "InvalidRestoreFault")
        time.sleep(1.1)
        when = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=0.5)
        made = rds.restore_db_cluster_to_point_in_time(SourceDBClusterIdentifier=name, DBClusterIdentifier=name + "-r",
                                                       RestoreToTime=when)
        self.assertEqual(made["DBCluster"]["Status"], "creating")
        self.assertEqual(made["DBCluster"]["DBClusterMembers"], [])
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            rds.restore_db_cluster_to_point_in_time(SourceDBClusterIdentifier=name, DBClusterIdentifier=name + "-r",
                                                    RestoreToTime=when)
        self.assertEqual(cm.exception.response["Error"]["Code"], "DBClusterAlreadyExistsFault")
        instance = dict(DBInstanceIdentifier=name + "-r-1", DBClusterIdentifier=name + "-r",
                        Engine="aurora-postgresql", DBInstanceClass="db.r6g.large")
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            rds.create_db_instance(**instance)
        self.assertEqual(cm.exception.response["Error"]["Code"], "InvalidDBClusterStateFault")
        wait_until(lambda: rds.describe_db_clusters(DBClusterIdentifier=name + "-r")["DBClusters"][0]["Status"]
                   == "available", what="the restored cluster available")
        self.assertEqual(rds.create_db_instance(**instance)["DBInstance"]["DBInstanceStatus"], "creating")
        wait_until(lambda: rds.describe_db_instances(DBInstanceIdentifier=name + "-r-1")["DBInstances"][0]
                   ["DBInstanceStatus"] == "available", what="the restored cluster's instance available")
        cluster = rds.describe_db_clusters(DBClusterIdentifier=name + "-r")["DBClusters"][0]
        self.assertEqual((cluster["Endpoint"], cluster["Port"]), ("127.0.0.1", 6544))


class TestRunbookWithAwsCli(SandboxTest):
    def restore_prod(self):
        prod = {"cluster": "connect2-api-cluster-prod", "service": "connect2-api-service-prod"}
        self.ecs.update_service(**prod, taskDefinition="connect2-api-prod:6")
        self.wait_steady(prod)
        control("POST", "config", {"task_start_delay": DELAY})

    def test_emergency_rollback_prod(self):
        control("POST", "config", {"task_start_delay": 0.05})
        self.addCleanup(self.restore_prod)  # other tests expect the fleet as seeded
        health = "health/connect2-api-cluster-prod/connect2-api-service-prod"
        self.assertEqual(control("GET", health)[0], 500)
        r = aws_cli("ecs", "update-service", "--cluster", "connect2-api-cluster-prod",
                    "--service", "connect2-api-service-prod", "--task-definition", "connect2-api-prod:4",
                    "--force-new-deployment")
        self.assertEqual(r.returncode, 0, r.stderr)
        t0 = time.time()
        r = aws_cli("ecs", "wait", "services-stable", "--cluster", "connect2-api-cluster-prod",
                    "--services", "connect2-api-service-prod", endpoint=False)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertLess(time.time() - t0, 40)
        r = aws_cli("ecs", "describe-services", "--cluster", "connect2-api-cluster-prod",
                    "--services", "connect2-api-service-prod", "--query", "services[0].deployments")
        self.assertEqual(r.returncode, 0, r.stderr)
        deployments = json.loads(r.stdout)
        self.assertEqual(len(deployments), 1)
        self.assertTrue(deployments[0]["taskDefinition"].endswith("connect2-api-prod:4"))
        self.assertEqual(deployments[0]["rolloutState"], "COMPLETED")
        self.assertEqual(control("GET", health)[0], 200)


if __name__ == "__main__":
    unittest.main()
