"""The seeded fleet: one description (``fleet_plan``) and the code that creates it (``seed``).

Per environment (dev, staging, prod): an ECS cluster and service running the newest task
definition revision, whose image is "unhealthy" (it deployed fine but the API answers 500s),
an older revision that was deregistered (INACTIVE), the Terraform state bucket (versioned) and,
shared, the Terraform lock table. Tests read the plan from ``GET /_sandbox/fleet``.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from datetime import datetime, timezone
from typing import Any, Iterator

import boto3
from botocore.config import Config

import ecs_sim

ACCOUNT = "123456789012"
ENVIRONMENTS = ("dev", "staging", "prod")
REVISIONS = 6
INACTIVE_REVISIONS = (5,)
UNHEALTHY_REVISIONS = (6,)
DESIRED_COUNT = 2
SUBNETS = ["subnet-0a1b2c3d"]
SECURITY_GROUPS = ["sg-0123abcd"]
CONTAINER_PORT = 8000
# Seeded services reached their steady state this long before the sandbox started.
STEADY_SINCE_SECONDS = 30 * 60


def short_sha(app: str, revision: int) -> str:
    """A deterministic git-like short SHA for the build behind a revision."""
    return hashlib.sha1(f"{app} build {revision}".encode()).hexdigest()[:7]


def fleet_plan(app: str, region: str, account: str = ACCOUNT) -> dict[str, Any]:
    registry = f"{account}.dkr.ecr.{region}.amazonaws.com/{app}"
    # One build per revision, promoted through every environment: same tags everywhere.
    revisions = []
    for rev in range(1, REVISIONS + 1):
        tag = short_sha(app, rev) + ("-unhealthy" if rev in UNHEALTHY_REVISIONS else "")
        revisions.append({
            "revision": rev,
            "tag": tag,
            "image": f"{registry}:{tag}",
            "status": "INACTIVE" if rev in INACTIVE_REVISIONS else "ACTIVE",
            "health": "unhealthy" if rev in UNHEALTHY_REVISIONS else "good",
        })
    current = REVISIONS
    rollback_target = max(
        r["revision"] for r in revisions if r["revision"] < current and r["status"] == "ACTIVE"
    )
    environments = {}
    for env in ENVIRONMENTS:
        family = f"{app}-{env}"
        environments[env] = {
            "cluster": f"{app}-cluster-{env}",
            "service": f"{app}-service-{env}",
            "family": family,
            "container": app,
            "containerPort": CONTAINER_PORT,
            "desiredCount": DESIRED_COUNT,
            "launchType": "FARGATE",
            "networkConfiguration": {"awsvpcConfiguration": {
                "subnets": list(SUBNETS), "securityGroups": list(SECURITY_GROUPS),
                "assignPublicIp": "DISABLED"}},
            "deploymentCircuitBreaker": {"enable": True, "rollback": True},
            "revisions": [
                dict(r, taskDefinitionArn=f"arn:aws:ecs:{region}:{account}:task-definition/{family}:{r['revision']}")
                for r in revisions
            ],
            "currentRevision": current,
            "expectedRollbackRevision": rollback_target,
            "stateBucket": f"{app}-terraform-state-{env}",
        }
    return {
        "app": app,
        "region": region,
        "account": account,
        "environments": environments,
        "lockTable": f"{app}-terraform-locks",
    }


@contextlib.contextmanager
def _fixed_id(module: Any, name: str, value: str) -> Iterator[None]:
    """Makes moto's id generator ``module.name`` return ``value`` once (ids the runbook uses)."""
    original = getattr(module, name)
    setattr(module, name, lambda *a, **k: value)
    try:
        yield
    finally:
        setattr(module, name, original)


def _seed_network(region: str, account: str) -> None:
    from moto.ec2 import ec2_backends
    from moto.ec2.models import security_groups as ec2_security_groups
    from moto.ec2.models import subnets as ec2_subnets

    ec2 = ec2_backends[account][region]
    vpc = ec2.create_vpc("10.0.0.0/16")
    with _fixed_id(ec2_subnets, "random_subnet_id", SUBNETS[0]):
        ec2.create_subnet(vpc_id=vpc.id, cidr_block="10.0.1.0/24", availability_zone=f"{region}a")
    with _fixed_id(ec2_security_groups, "random_security_group_id", SECURITY_GROUPS[0]):
        ec2.create_security_group(name="connect2-api-tasks", description="API tasks", vpc_id=vpc.id)


def seed(url: str, plan: dict[str, Any]) -> None:
    """Creates the fleet through the sandbox's own API, then settles the services in place."""
    region, account = plan["region"], plan["account"]
    with ecs_sim.LOCK:
        _seed_network(region, account)

    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=region
    )
    config = Config(retries={"mode": "standard", "max_attempts": 3})
    ecs = session.client("ecs", endpoint_url=url, config=config)
    s3 = session.client("s3", endpoint_url=url, config=config)
    dynamodb = session.client("dynamodb", endpoint_url=url, config=config)
    now = time.time()

    for env, e in plan["environments"].items():
        ecs.create_cluster(clusterName=e["cluster"])
        for r in e["revisions"]:
            ecs.register_task_definition(
                family=e["family"],
                requiresCompatibilities=["FARGATE"],
                networkMode="awsvpc",
                cpu="256",
                memory="512",
                executionRoleArn=f"arn:aws:iam::{account}:role/{plan['app']}-{env}-execution",
                containerDefinitions=[{
                    "name": e["container"],
                    "image": r["image"],
                    "essential": True,
                    "portMappings": [{"containerPort": e["containerPort"], "protocol": "tcp"}],
                    "environment": [{"name": "APP_ENV", "value": env}],
                }],
            )
        for r in e["revisions"]:
            if r["status"] == "INACTIVE":
                ecs.deregister_task_definition(taskDefinition=r["taskDefinitionArn"])
        ecs.create_service(
            cluster=e["cluster"],
            serviceName=e["service"],
            taskDefinition=f"{e['family']}:{e['currentRevision']}",
            desiredCount=e["desiredCount"],
            launchType=e["launchType"],
            networkConfiguration=e["networkConfiguration"],
            deploymentConfiguration={
                "deploymentCircuitBreaker": e["deploymentCircuitBreaker"],
                "maximumPercent": 200,
                "minimumHealthyPercent": 100,
            },
        )
        s3.create_bucket(Bucket=e["stateBucket"])
        s3.put_bucket_versioning(Bucket=e["stateBucket"], VersioningConfiguration={"Status": "Enabled"})

    dynamodb.create_table(
        TableName=plan["lockTable"],
        KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )

    from moto.ecs.models import ecs_backends

    with ecs_sim.LOCK:
        backend = ecs_backends[account][region]
        for env, e in plan["environments"].items():
            # One revision a day, the newest today (registeredAt in DescribeTaskDefinition).
            for r in e["revisions"]:
                td = backend.task_definitions[e["family"]][r["revision"]]
                td.registered_at = datetime.fromtimestamp(
                    now - (REVISIONS - r["revision"]) * 86400 - STEADY_SINCE_SECONDS - 600,
                    tz=timezone.utc,
                )
            service = backend.services[f"{e['cluster']}:{e['service']}"]
            service.created_at = datetime.fromtimestamp(now - REVISIONS * 86400 - STEADY_SINCE_SECONDS, tz=timezone.utc)
            ecs_sim.sim_of(backend, service).settle(since=now - STEADY_SINCE_SECONDS)
