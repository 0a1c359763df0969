"""ECS behaviour that moto 5.x lacks, patched onto moto's ECS backend at startup.

moto's ECS services never progress (runningCount stays 0, UpdateService rewrites the one
deployment in place), ListTaskDefinitions ignores sort/maxResults/nextToken, UpdateService accepts
INACTIVE task definitions and RunTask tasks never run anything. This module replaces those parts
of ``moto.ecs.models.EC2ContainerServiceBackend`` and ``moto.ecs.responses`` (by assigning
methods on the classes, never by editing site-packages) so that the sandbox behaves like real ECS
as far as the rollback runbook can observe:

* deployments (PRIMARY/ACTIVE, rolloutState, counts) progress with wall-clock time,
* service events are written in ECS wording,
* images whose tag contains ``bad`` crash on start and trip the deployment circuit breaker
  (which rolls back when configured to), images whose tag contains ``unhealthy`` run but
  answer 500 on the sandbox health endpoint,
* RunTask can run the overridden command as a local process (``exec_dirs``).

Time is simulated lazily: nothing runs in the background. Whenever a service or task is read,
``ServiceSim.advance`` replays every simulated event whose time has come (under ``LOCK``), so
the state only depends on the wall clock and the configured delay.

Timeline of a deployment created at t0, with d = task start delay:
  t0       new PRIMARY deployment, desiredCount tasks launched (PROVISIONING/PENDING),
           event "has started N tasks"; the previous PRIMARY becomes ACTIVE and keeps running.
  t0+d     good/unhealthy image: the tasks are RUNNING (runningCount = desiredCount).
           bad image: the tasks stop (exit code 1), failedTasks grows, replacements are
           launched; once failedTasks >= threshold the deployment is FAILED and, with
           circuit breaker rollback, a new PRIMARY deployment of the last COMPLETED task
           definition starts at that moment.
  t0+2d    (one delay after all tasks run) the tasks of the older deployments are stopped and
           those deployments removed; the PRIMARY becomes COMPLETED; events "has stopped",
           "deployment completed", "has reached a steady state".
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import os
import random
import signal
import subprocess
import threading
import time
import uuid
from datetime import datetime, timezone
from typing import Any

from moto.core.responses import ActionResult
from moto.ecs import responses as ecs_responses
from moto.ecs.exceptions import (
    EcsClientException,
    InvalidParameterException,
    TaskDefinitionNotFoundException,
)
from moto.ecs.models import EC2ContainerServiceBackend, Task, TaskDefinition
from moto.moto_api._internal.managed_state_model import ManagedState

Backend = EC2ContainerServiceBackend

# One lock for all simulated state and for every request that reaches moto (moto itself is not
# thread-safe and the server is threaded). Re-entrant: patched backend methods take it again.
LOCK = threading.RLock()

# ECS lists at most this many service events.
MAX_EVENTS = 100
# Stopped tasks kept per service (ECS itself forgets stopped tasks after about an hour).
MAX_STOPPED_TASKS_PER_SERVICE = 100
# Lower bound of the simulated delay so that a delay of 0 cannot loop forever.
MIN_DELAY = 0.01
# Safety net for one advance() call.
MAX_STEPS_PER_ADVANCE = 10_000

STOP_CODE_EXITED = "EssentialContainerExited"
STOP_REASON_EXITED = "Essential container in task exited"


class SimConfig:
    """Settings that the control API can change at runtime."""

    def __init__(self) -> None:
        self.task_start_delay = 2.0
        # Seconds that one minute of bakeTimeInMinutes lasts in the sandbox.
        self.bake_minute_seconds = 1.0
        self.exec_dirs: dict[str, str] = {}

    @property
    def delay(self) -> float:
        return max(float(self.task_start_delay), MIN_DELAY)


CONFIG = SimConfig()


# --------------------------------------------------------------------------------------------
# Image classification
# --------------------------------------------------------------------------------------------


# (target group ARN, target IP) of tasks whose image is unhealthy: their health checks fail.
UNHEALTHY_TARGETS: set[tuple[str, str]] = set()


def _target_health_for(original):
    """moto's FakeTargetGroup.health_for, with the targets of unhealthy tasks failing their
    checks as ELBv2 reports it (state unhealthy, Target.ResponseCodeMismatch)."""

    def health_for(self, target, ec2_backend):
        status = original(self, target, ec2_backend)
        if status.status == "healthy" and (self.arn, target["Id"]) in UNHEALTHY_TARGETS:
            from moto.elbv2.models import FakeHealthStatus

            return FakeHealthStatus(target["Id"], status.port, self.health_check_port, "unhealthy",
                                    "Target.ResponseCodeMismatch", "Health checks failed with these codes: [500]")
        return status

    return health_for


class ImageMarks:
    """Images marked good/bad/unhealthy through the control API; otherwise the tag decides."""

    KINDS = ("good", "bad", "unhealthy")

    def __init__(self) -> None:
        self.marks: dict[str, str] = {}  # image reference as given -> kind

    def mark(self, kind: str, images: list[str]) -> None:
        if kind not in self.KINDS:
            raise ValueError(f"unknown image kind {kind!r}")
        for image in images:
            self.marks[str(image)] = kind

    @staticmethod
    def _matches(mark: str, image: str) -> bool:
        # "repo:tag" matches ".../repo:tag"; a full reference matches itself.
        return image == mark or image.endswith("/" + mark)

    @staticmethod
    def tag_of(image: str) -> str:
        last = image.rsplit("/", 1)[-1].split("@", 1)[0]
        return last.rsplit(":", 1)[1] if ":" in last else "latest"

    def classify(self, image: str | None) -> str:
        if not image:
            return "good"
        for mark, kind in self.marks.items():
            if self._matches(mark, image):
                return kind
        tag = self.tag_of(image)
        if "bad" in tag:
            return "bad"
        if "unhealthy" in tag:
            return "unhealthy"
        return "good"

    def classify_task_definition(self, td: TaskDefinition) -> str:
        """The worst classification among the essential containers' images."""
        kinds = [
            self.classify(c.get("image"))
            for c in td.container_definitions
            if c.get("essential", True)
        ] or ["good"]
        for kind in ("bad", "unhealthy"):
            if kind in kinds:
                return kind
        return "good"


IMAGES = ImageMarks()


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def to_dt(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=timezone.utc)


def new_deployment_id() -> str:
    return f"ecs-svc/{random.randint(10**18, 10**19 - 1)}"


def circuit_breaker_threshold(desired: int) -> int:
    # ECS: max(3, min(200, ceil(0.5 * desiredCount))) failed tasks.
    return max(3, min(200, math.ceil(0.5 * desired)))


def resolve_task_definition(backend: Backend, ref: str) -> TaskDefinition:
    """family (latest ACTIVE revision, like ECS), family:revision or ARN (any status)."""
    name = str(ref).split("/")[-1]
    if ":" in name:
        family, rev = name.rsplit(":", 1)
        try:
            revision = int(rev)
        except ValueError:
            raise InvalidParameterException("Invalid revision number. Number: " + rev)
        td = backend.task_definitions.get(family, {}).get(revision)
        if td is None:
            raise TaskDefinitionNotFoundException()
        return td
    active = [
        td for td in backend.task_definitions.get(name, {}).values() if td.status == "ACTIVE"
    ]
    if not active:
        raise TaskDefinitionNotFoundException()
    return max(active, key=lambda td: td.revision)


def encode_token(key: Any) -> str:
    raw = json.dumps({"after": key}, separators=(",", ":")).encode()
    return "sbx1." + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str) -> Any:
    try:
        if not token.startswith("sbx1."):
            raise ValueError
        body = token[5:]
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        after = json.loads(raw)["after"]
        return tuple(after) if isinstance(after, list) else after
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise InvalidParameterException("Invalid token")


def paginate(items: list, key, max_results: Any, next_token: str | None, descending=False):
    """Sorts items by key and returns (page, nextToken) like ECS list operations."""
    if max_results is None:
        limit = 100
    else:
        try:
            limit = int(max_results)
        except (TypeError, ValueError):
            raise InvalidParameterException("maxResults must be an integer between 1 and 100.")
        if not 1 <= limit <= 100:
            raise InvalidParameterException("maxResults must be between 1 and 100.")
    ordered = sorted(items, key=key, reverse=descending)
    start = 0
    if next_token:
        after = decode_token(next_token)
        start = len(ordered)
        for i, item in enumerate(ordered):
            k = key(item)
            if (k < after) if descending else (k > after):
                start = i
                break
    page = ordered[start : start + limit]
    more = start + limit < len(ordered)
    token = None
    if page and more:
        last = key(page[-1])
        token = encode_token(list(last) if isinstance(last, tuple) else last)
    return page, token


# --------------------------------------------------------------------------------------------
# Tasks
# --------------------------------------------------------------------------------------------


class SimContainer:
    """A task's container as DescribeTasks shows it (attribute names follow the API model)."""

    def __init__(self, task: "SimTask", definition: dict[str, Any], td: TaskDefinition):
        self.container_arn = (
            f"arn:aws:ecs:{task.region_name}:{task._account_id}:container/"
            f"{task.cluster_name}/{task.id}/{uuid.uuid4()}"
        )
        self.task_arn = task.task_arn
        self.name = definition.get("name")
        self.image = definition.get("image")
        self.last_status = "PENDING"
        self.exit_code: int | None = None
        self.reason: str | None = None
        self.health_status = "UNKNOWN"
        self.cpu = str(definition.get("cpu", 0))
        self.memory = str(definition["memory"]) if definition.get("memory") else None
        self.network_interfaces: list[dict[str, str]] = []
        self.runtime_id: str | None = None


class SimTask(Task):
    """A task whose life cycle the simulation drives (moto's Task advances on every describe).

    ``kind`` is "service" (started by a deployment) or "oneoff" (RunTask).
    """

    # moto's model metaclass files every model class under the second part of its module name.
    __module__ = "sandbox.ecs_sim"

    def __init__(
        self,
        backend: Backend,
        cluster: Any,
        td: TaskDefinition,
        created: float,
        *,
        kind: str,
        group: str,
        started_by: str = "",
        launch_type: str | None = None,
        network_configuration: dict[str, Any] | None = None,
        overrides: dict[str, Any] | None = None,
        tags: list[dict[str, str]] | None = None,
        platform_version: str | None = None,
    ):
        # Only the bookkeeping of ManagedState; Task.__init__ is skipped on purpose (it creates
        # real EC2 network interfaces for every task and requires the subnets to exist).
        ManagedState.__init__(self, "ecs::task", [("PROVISIONING", "STOPPED")])
        self.kind = kind
        self.id = uuid.uuid4().hex
        self._backend = backend
        self._account_id = backend.account_id
        self.region_name = cluster.region_name
        self.cluster_name = cluster.name
        self.cluster_arn = cluster.arn
        self.container_instance_arn = None
        self.resource_requirements = None
        self.task_definition_arn = td.arn
        self._td = td
        self.group = group
        self.started_by = started_by or ""
        self.launch_type = launch_type or (
            "FARGATE" if "FARGATE" in (td.requires_compatibilities or []) else "EC2"
        )
        self.platform_version = platform_version or ("1.4.0" if self.launch_type == "FARGATE" else None)
        self.platform_family = "Linux" if self.launch_type == "FARGATE" else None
        self.overrides = overrides or {}
        self.tags = tags or []
        self.cpu = td.cpu
        self.memory = td.memory
        self.availability_zone = f"{self.region_name}a"
        self.connectivity = "CONNECTED"
        self.enable_execute_command = False
        self.health_status = "UNKNOWN"
        self.version = 1
        self.desired_status = "RUNNING"
        self._state = "PROVISIONING"
        self.stop_code: str | None = None
        self.stopped_reason: str | None = None
        self.created_ts = created
        self.created_at = to_dt(created)
        self.connectivity_at = to_dt(created)
        self.pull_started_at = None
        self.pull_stopped_at = None
        self.started_at = None
        self.stopping_at = None
        self.stopped_at = None
        self.execution_stopped_at = None
        self.attachments: list[dict[str, Any]] = []
        self.exec: dict[str, Any] | None = None  # local process of a oneoff task
        self.containers = [SimContainer(self, c, td) for c in td.container_definitions]
        awsvpc = (network_configuration or {}).get("awsvpcConfiguration")
        if awsvpc:
            eni = "eni-" + uuid.uuid4().hex[:17]
            ip = f"10.0.{random.randint(1, 254)}.{random.randint(2, 254)}"
            attachment_id = str(uuid.uuid4())
            self.attachments.append(
                {
                    "id": attachment_id,
                    "type": "ElasticNetworkInterface",
                    "status": "ATTACHED",
                    "details": [
                        {"name": "subnetId", "value": (awsvpc.get("subnets") or [""])[0]},
                        {"name": "networkInterfaceId", "value": eni},
                        {"name": "privateIPv4Address", "value": ip},
                    ],
                }
            )
            for c in self.containers:
                c.network_interfaces = [{"attachmentId": attachment_id, "privateIpv4Address": ip}]

    # moto's Task keeps the status in ManagedState, which advances on every DescribeTasks.
    @property
    def last_status(self) -> str:
        if self._state == "PROVISIONING" and time.time() >= self.created_ts + CONFIG.delay / 2:
            return "PENDING"
        return self._state

    @last_status.setter
    def last_status(self, value: str) -> None:
        # moto's own stop_task assigns "STOPPED"; keep the simulation consistent.
        if value == "STOPPED" and self._state != "STOPPED":
            self.stop(time.time(), "UserInitiated", self.stopped_reason or "Task stopped by user", 143)
        else:
            self._state = value

    def advance(self) -> None:  # ManagedState hook used by moto; the simulation drives state.
        pass

    @property
    def live(self) -> bool:
        return self.desired_status == "RUNNING" and self._state != "STOPPED"

    @property
    def pending(self) -> bool:
        return self._state == "PROVISIONING"

    def start(self, t: float) -> None:
        self._state = "RUNNING"
        self.pull_started_at = to_dt(max(self.created_ts, t - 0.5 * CONFIG.delay))
        self.pull_stopped_at = to_dt(t)
        self.started_at = to_dt(t)
        self.version += 1
        for c in self.containers:
            c.last_status = "RUNNING"
            c.runtime_id = f"{self.id}-{random.randint(10**9, 10**10 - 1)}"

    def stop(self, t: float, stop_code: str, reason: str, exit_code: int | None,
             container_reason: str | None = None) -> None:
        if self._state == "STOPPED":
            return
        if self.started_at is None and self.pull_started_at is None:
            self.pull_started_at = to_dt(self.created_ts)
        self._state = "STOPPED"
        self.desired_status = "STOPPED"
        self.stop_code = stop_code
        self.stopped_reason = reason
        self.stopping_at = to_dt(t)
        self.execution_stopped_at = to_dt(t)
        self.stopped_at = to_dt(t)
        self.version += 1
        for a in self.attachments:
            a["status"] = "DELETED"
        for c in self.containers:
            c.last_status = "STOPPED"
            c.exit_code = exit_code
            c.reason = container_reason
        if self.exec and self.exec.get("proc") is not None and self.exec.get("exit_code") is None:
            _kill_process(self.exec["proc"])


def _kill_process(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError, OSError):
        pass


def _tasks_of_cluster(backend: Backend, cluster_name: str) -> dict[str, Any]:
    return backend.tasks.setdefault(cluster_name, {})


# --------------------------------------------------------------------------------------------
# Deployments and services
# --------------------------------------------------------------------------------------------


class SimDeployment:
    """One entry of services[].deployments[] (attribute names follow the API model)."""

    def __init__(self, service: Any, td: TaskDefinition, t: float, is_rollback: bool):
        self.id = new_deployment_id()
        self.status = "PRIMARY"
        self.task_definition = td.arn
        self.desired_count = service.desired_count
        self.pending_count = 0
        self.running_count = 0
        self.failed_tasks = 0
        self.created_at = to_dt(t)
        self.updated_at = to_dt(t)
        self.launch_type = service.launch_type
        self.platform_version = "1.4.0" if service.launch_type == "FARGATE" else None
        self.platform_family = "Linux" if service.launch_type == "FARGATE" else None
        self.network_configuration = service.network_configuration or None
        self.rollout_state = "IN_PROGRESS"
        self.rollout_state_reason = f"ECS deployment {self.id} in progress."
        # simulation only (not serialized: the API model has no such members)
        self._td = td
        self._created_ts = t
        self._tasks: list[SimTask] = []
        self._running_since: float | None = None
        self._steady = False
        self._is_rollback = is_rollback
        self._service_deployment: "SimServiceDeployment | None" = None


# --------------------------------------------------------------------------------------------
# Service deployments and service revisions (ECS, late 2024 / 2025)
# --------------------------------------------------------------------------------------------

# Statuses after which a service deployment never changes again.
SD_FINAL = ("SUCCESSFUL", "STOPPED", "ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED")
# ECS's DescribeServiceDeployments / DescribeServiceRevisions take at most this many ARNs.
MAX_DESCRIBE_ARNS = 20
# Strategies that go through lifecycle stages after the new tasks run (ECS, 2025).
STAGED_STRATEGIES = ("BLUE_GREEN", "LINEAR", "CANARY")
# The stages a staged deployment goes through once its tasks run (botocore's
# ServiceDeploymentLifecycleStage, in ECS's order). Each lasts one task start delay, except
# BAKE_TIME: bakeTimeInMinutes x CONFIG.bake_minute_seconds.
STAGES_AFTER_SCALE_UP = ("POST_SCALE_UP", "TEST_TRAFFIC_SHIFT", "POST_TEST_TRAFFIC_SHIFT",
                         "PRODUCTION_TRAFFIC_SHIFT", "POST_PRODUCTION_TRAFFIC_SHIFT", "BAKE_TIME", "CLEAN_UP")


class SimServiceRevision:
    """What DescribeServiceRevisions returns for one revision (a snapshot of the service)."""

    def __init__(self, sim: "ServiceSim", td: TaskDefinition, t: float):
        svc = sim.service
        self.arn = (f"arn:aws:ecs:{sim.backend.region_name}:{sim.backend.account_id}:service-revision/"
                    f"{svc.cluster_name}/{svc.name}/{random.randint(10**18, 10**19 - 1)}")
        self.service_arn = svc.arn
        self.cluster_arn = sim.backend.clusters[svc.cluster_name].arn
        self.task_definition = td.arn
        self.launch_type = svc.launch_type
        self.network_configuration = svc.network_configuration or None
        self.load_balancers = list(getattr(svc, "load_balancers", None) or [])
        self.container_images = [
            {"containerName": c.get("name"), "image": c.get("image"),
             "imageDigest": "sha256:" + uuid.uuid5(uuid.NAMESPACE_URL, str(c.get("image"))).hex * 2}
            for c in td.container_definitions
        ]
        self.created_at = to_dt(t)

    def to_api(self) -> dict[str, Any]:
        out = {
            "serviceRevisionArn": self.arn, "serviceArn": self.service_arn, "clusterArn": self.cluster_arn,
            "taskDefinition": self.task_definition, "containerImages": self.container_images,
            "createdAt": self.created_at, "loadBalancers": self.load_balancers,
        }
        if self.launch_type:
            out["launchType"] = self.launch_type
        if self.network_configuration:
            out["networkConfiguration"] = self.network_configuration
        return out


class SimServiceDeployment:
    """One service deployment: ECS's record of a change from source revisions to a target.

    A circuit-breaker rollback does not create another service deployment: the failed one goes
    ROLLBACK_IN_PROGRESS and ends ROLLBACK_SUCCESSFUL (or ROLLBACK_FAILED) with the rollback.
    """

    def __init__(self, sim: "ServiceSim", d: SimDeployment, t: float,
                 sources: list[tuple[SimServiceRevision, SimDeployment]]):
        svc = sim.service
        self.sim = sim
        self.id = uuid.uuid4().hex[:22]
        self.arn = (f"arn:aws:ecs:{sim.backend.region_name}:{sim.backend.account_id}:service-deployment/"
                    f"{svc.cluster_name}/{svc.name}/{self.id}")
        self.created_ts = t
        self.started_at = to_dt(t)
        self.finished_at = None
        self.stopped_at = None
        self.updated_at = to_dt(t)
        self.status = "IN_PROGRESS"
        self.status_reason: str | None = None
        self.target = sim.new_revision(d._td, t)
        self.sources = sources
        self.deployment = d
        self.rollback: dict[str, Any] | None = None
        self.rollback_deployment: SimDeployment | None = None
        self.configuration = json.loads(json.dumps(svc.deployment_configuration or {}, default=str))
        breaker = self.configuration.get("deploymentCircuitBreaker") or {}
        self.cb_status = "MONITORING" if breaker.get("enable") else "DISABLED"
        alarms = self.configuration.get("alarms") or {}
        self.alarm_names = list(alarms.get("alarmNames") or [])
        self.alarms_status = "MONITORING" if alarms.get("enable") and self.alarm_names else "DISABLED"
        self.triggered_alarms: list[str] = []
        self.lifecycle_stage = "SCALE_UP"
        self.hooks: list[dict[str, Any]] = []
        self.strategy = self.configuration.get("strategy") or "ROLLING"
        self.staged = self.strategy in STAGED_STRATEGIES
        self.stage_index = -1  # index in STAGES_AFTER_SCALE_UP; -1 until the new tasks run
        self.stage_since = 0.0
        self.paused_hook: dict[str, Any] | None = None
        # PAUSE hooks of the configuration, by stage (lifecycleHooks[].lifecycleStages).
        self.pause_stages: dict[str, dict[str, Any]] = {}
        for hook in self.configuration.get("lifecycleHooks") or []:
            if hook.get("targetType") == "PAUSE":
                for stage in hook.get("lifecycleStages") or []:
                    self.pause_stages[stage] = hook
        d._service_deployment = self

    def stage_due(self, running_since: float | None) -> float | None:
        """When the next stage starts (None: not staged, not yet, or paused at a hook)."""
        if not self.staged or self.status != "IN_PROGRESS" or running_since is None or self.paused_hook:
            return None
        if self.stage_index < 0:
            return running_since
        stage = STAGES_AFTER_SCALE_UP[self.stage_index]
        minutes = int(self.configuration.get("bakeTimeInMinutes") or 0)
        length = minutes * CONFIG.bake_minute_seconds if stage == "BAKE_TIME" else CONFIG.delay
        return self.stage_since + length

    def next_stage(self, t: float) -> bool:
        """Enters the next stage at t; True when CLEAN_UP is over (the deployment completes)."""
        if self.stage_index + 1 >= len(STAGES_AFTER_SCALE_UP):
            return True
        self.stage_index += 1
        self.stage_since = t
        self.lifecycle_stage = STAGES_AFTER_SCALE_UP[self.stage_index]
        self.touch(t)
        hook = self.pause_stages.get(self.lifecycle_stage)
        if hook is not None:
            detail = {"hookId": uuid.uuid4().hex[:16], "targetType": "PAUSE", "status": "AWAITING_ACTION",
                      "timeoutAction": "ROLLBACK"}
            self.hooks.append(detail)
            self.paused_hook = detail
        return False

    def touch(self, t: float) -> None:
        self.updated_at = to_dt(t)

    def finish(self, status: str, t: float, reason: str | None = None) -> None:
        if self.status in SD_FINAL:
            return
        self.status = status
        if reason:
            self.status_reason = reason
        self.finished_at = to_dt(t)
        if status == "STOPPED":
            self.stopped_at = to_dt(t)
        self.lifecycle_stage = "CLEAN_UP"
        self.touch(t)

    @staticmethod
    def _summary(rev: SimServiceRevision, d: SimDeployment | None) -> dict[str, Any]:
        return {"arn": rev.arn,
                "requestedTaskCount": d.desired_count if d is not None else 0,
                "runningTaskCount": d.running_count if d is not None else 0,
                "pendingTaskCount": d.pending_count if d is not None else 0}

    def brief(self) -> dict[str, Any]:
        out = {"serviceDeploymentArn": self.arn, "serviceArn": self.sim.service.arn,
               "clusterArn": self.target.cluster_arn, "startedAt": self.started_at,
               "createdAt": self.started_at, "targetServiceRevisionArn": self.target.arn,
               "status": self.status}
        if self.finished_at is not None:
            out["finishedAt"] = self.finished_at
        if self.status_reason:
            out["statusReason"] = self.status_reason
        return out

    def to_api(self) -> dict[str, Any]:
        live = self.deployment if self.deployment in self.sim.deployments else None
        out = {
            "serviceDeploymentArn": self.arn, "serviceArn": self.sim.service.arn,
            "clusterArn": self.target.cluster_arn, "createdAt": self.started_at,
            "startedAt": self.started_at, "updatedAt": self.updated_at,
            "sourceServiceRevisions": [
                self._summary(rev, d if d in self.sim.deployments else None) for rev, d in self.sources
            ],
            "targetServiceRevision": self._summary(self.target, live),
            "status": self.status,
            "lifecycleStage": self.lifecycle_stage,
            "deploymentConfiguration": self.configuration,
            "deploymentCircuitBreaker": {
                "status": self.cb_status, "failureCount": self.deployment.failed_tasks,
                "threshold": circuit_breaker_threshold(self.deployment.desired_count),
            },
            "alarms": {"status": self.alarms_status, "alarmNames": self.alarm_names,
                       "triggeredAlarmNames": self.triggered_alarms},
        }
        if self.status_reason:
            out["statusReason"] = self.status_reason
        if self.finished_at is not None:
            out["finishedAt"] = self.finished_at
        if self.stopped_at is not None:
            out["stoppedAt"] = self.stopped_at
        if self.rollback is not None:
            out["rollback"] = self.rollback
        if self.hooks:
            out["lifecycleHookDetails"] = [dict(h) for h in self.hooks]
        return out


# Every service deployment and revision, by ARN (ARNs carry cluster and service).
SERVICE_DEPLOYMENTS: dict[str, SimServiceDeployment] = {}
SERVICE_REVISIONS: dict[str, SimServiceRevision] = {}


DEFAULT_DEPLOYMENT_CONFIGURATION = {
    "deploymentCircuitBreaker": {"enable": False, "rollback": False},
    "maximumPercent": 200,
    "minimumHealthyPercent": 100,
}


class ServiceSim:
    def __init__(self, backend: Backend, service: Any):
        self.backend = backend
        self.service = service
        self.last_completed_td: str | None = None
        self.service_deployments: list[SimServiceDeployment] = []
        self._last_event_ts = 0.0
        service.deployments = []
        service.events = []
        if not getattr(service, "deployment_configuration", None):
            service.deployment_configuration = json.loads(json.dumps(DEFAULT_DEPLOYMENT_CONFIGURATION))

    # ---- small helpers ----------------------------------------------------------------------

    def new_revision(self, td: TaskDefinition, t: float) -> SimServiceRevision:
        rev = SimServiceRevision(self, td, t)
        SERVICE_REVISIONS[rev.arn] = rev
        return rev

    def new_service_deployment(self, d: SimDeployment, t: float) -> SimServiceDeployment:
        sources = []
        for other in self.deployments:
            if other is d:
                continue
            sd = other._service_deployment
            rev = sd.target if sd is not None else self.new_revision(other._td, t)
            sources.append((rev, other))
        for sd in self.service_deployments:
            if sd.status not in SD_FINAL:
                sd.finish("STOPPED", t, "Stopped by a newer service deployment.")
        sd = SimServiceDeployment(self, d, t, sources)
        self.service_deployments.append(sd)
        SERVICE_DEPLOYMENTS[sd.arn] = sd
        return sd

    @property
    def name(self) -> str:
        return self.service.name

    @property
    def deployments(self) -> list[SimDeployment]:
        return self.service.deployments

    @property
    def primary(self) -> SimDeployment | None:
        for d in self.deployments:
            if d.status == "PRIMARY":
                return d
        return None

    def _circuit_breaker(self) -> dict[str, Any]:
        cfg = getattr(self.service, "deployment_configuration", None) or {}
        return cfg.get("deploymentCircuitBreaker") or {}

    def event(self, t: float, message: str) -> None:
        # Strictly increasing createdAt (ms resolution on the wire) keeps newest-first stable.
        ts = max(t, self._last_event_ts + 0.001)
        self._last_event_ts = ts
        self.service.events.insert(0, {"id": str(uuid.uuid4()), "createdAt": to_dt(ts), "message": message})
        del self.service.events[MAX_EVENTS:]

    @staticmethod
    def _task_list(tasks: list[SimTask]) -> str:
        return " ".join(f"(task {task.id})" for task in tasks)

    def _recount(self, d: SimDeployment, t: float) -> None:
        pending = sum(1 for task in d._tasks if task.live and task.pending)
        running = sum(1 for task in d._tasks if task.live and task._state == "RUNNING")
        if (pending, running) != (d.pending_count, d.running_count):
            d.pending_count, d.running_count = pending, running
            d.updated_at = to_dt(t)
        self.service.pending_count = sum(x.pending_count for x in self.deployments)
        self.service.running_count = sum(x.running_count for x in self.deployments)

    def _launch(self, d: SimDeployment, n: int, t: float) -> None:
        cluster = self.backend.clusters[self.service.cluster_name]
        launched = []
        for _ in range(n):
            task = SimTask(
                self.backend, cluster, d._td, t,
                kind="service",
                group=f"service:{self.name}",
                started_by=d.id,
                launch_type=self.service.launch_type,
                network_configuration=self.service.network_configuration,
                platform_version=d.platform_version,
            )
            d._tasks.append(task)
            _tasks_of_cluster(self.backend, cluster.name)[task.task_arn] = task
            launched.append(task)
        if launched:
            self.event(t, f"(service {self.name}) has started {n} tasks: {self._task_list(launched)}.")

    def _stop_tasks(self, tasks: list[SimTask], t: float, by: SimDeployment | None) -> None:
        reason = f"Scaling activity initiated by (deployment {by.id})" if by else "Scaling activity initiated by service"
        were_running = [task for task in tasks if task._state == "RUNNING"]
        for task in tasks:
            task.stop(t, "ServiceSchedulerInitiated", reason, 0 if task._state == "RUNNING" else None)
        if were_running:
            self.event(
                t,
                f"(service {self.name}) has stopped {len(were_running)} running tasks: "
                f"{self._task_list(were_running)}.",
            )

    def _prune_stopped(self) -> None:
        """Forgets the oldest stopped tasks of the service beyond MAX_STOPPED_TASKS_PER_SERVICE."""
        cluster_tasks = _tasks_of_cluster(self.backend, self.service.cluster_name)
        group = f"service:{self.name}"
        stopped = [
            task for task in cluster_tasks.values()
            if isinstance(task, SimTask) and task.group == group and task._state == "STOPPED"
        ]
        if len(stopped) <= MAX_STOPPED_TASKS_PER_SERVICE:
            return
        stopped.sort(key=lambda task: task.created_ts)
        forget = stopped[: len(stopped) - MAX_STOPPED_TASKS_PER_SERVICE]
        for task in forget:
            cluster_tasks.pop(task.task_arn, None)
        forget_ids = {id(task) for task in forget}
        for d in self.deployments:
            d._tasks = [task for task in d._tasks if id(task) not in forget_ids]

    # ---- scheduler ----------------------------------------------------------------------------

    def _reconcile(self, d: SimDeployment, t: float) -> None:
        """Launch or stop tasks so that the deployment has desiredCount live tasks."""
        if d.rollout_state != "FAILED":
            live = [task for task in d._tasks if task.live]
            if len(live) < d.desired_count:
                self._launch(d, d.desired_count - len(live), t)
            elif len(live) > d.desired_count:
                extra = sorted(live, key=lambda task: (not task.pending, -task.created_ts))
                self._stop_tasks(extra[: len(live) - d.desired_count], t, d)
        self._recount(d, t)
        if d.pending_count == 0 and d.running_count == d.desired_count and d.rollout_state != "FAILED":
            if d._running_since is None:
                d._running_since = t
            if d.rollout_state == "COMPLETED" and len(self.deployments) == 1 and not d._steady:
                d._steady = True
                self.event(t, f"(service {self.name}) has reached a steady state.")

    def start_deployment(self, td: TaskDefinition, t: float, is_rollback: bool = False,
                         announce=None) -> SimDeployment:
        """New PRIMARY deployment at time t; ``announce(new)`` gives an event to write first."""
        new = SimDeployment(self.service, td, t, is_rollback)
        old = self.primary
        if old is not None:
            old.status = "ACTIVE"
            old.updated_at = to_dt(t)
            # Tasks that have not started yet are abandoned; running ones keep serving.
            self._stop_tasks([task for task in old._tasks if task.live and task.pending], t, new)
            self._recount(old, t)
        self.deployments.insert(0, new)
        self.service.task_definition = td.arn
        if not is_rollback:
            self.new_service_deployment(new, t)
        if announce is not None:
            self.event(t, announce(new))
        self._reconcile(new, t)
        return new

    def set_desired(self, desired: int, t: float) -> None:
        self.service.desired_count = desired
        d = self.primary
        if d is None:
            return
        d.desired_count = desired
        d.updated_at = to_dt(t)
        d._running_since = None
        d._steady = False
        self._reconcile(d, t)

    def _due(self) -> float | None:
        d = self.primary
        if d is None:
            return None
        delay = CONFIG.delay
        dues = [task.created_ts + delay for task in d._tasks if task.live and task.pending]
        sd = d._service_deployment
        if sd is not None and sd.staged and sd.status == "IN_PROGRESS":
            stage = sd.stage_due(d._running_since)
            if stage is not None:
                dues.append(stage)
        elif d._running_since is not None and self._needs_completion(d):
            dues.append(d._running_since + delay)
        return min(dues) if dues else None

    def _needs_completion(self, d: SimDeployment) -> bool:
        return d.rollout_state == "IN_PROGRESS" or len(self.deployments) > 1

    def advance(self, now: float | None = None) -> None:
        now = time.time() if now is None else now
        for _ in range(MAX_STEPS_PER_ADVANCE):
            t = self._due()
            if t is None or t > now:
                break
            self._step(t)
        self._prune_stopped()
        self._sync_targets()

    def _sync_targets(self) -> None:
        """Target groups follow the tasks, as ECS keeps them: a RUNNING task of the service is
        registered (by its private IP, awsvpc) in each target group of its loadBalancers, a task
        that stopped is deregistered. Health follows the image: a task of an ``unhealthy`` image
        fails the load balancer's health checks (UNHEALTHY_TARGETS, read by the patched
        ``health_for``), like the health URL; other registered targets are healthy."""
        lbs = [lb for lb in (self.service.load_balancers or []) if lb.get("targetGroupArn")]
        if not lbs:
            return
        from moto.elbv2.models import elbv2_backends
        elb = elbv2_backends[self.backend.account_id][self.backend.region_name]
        running = {}
        unhealthy = set()
        for d in self.deployments:
            bad_image = IMAGES.classify_task_definition(d._td) == "unhealthy"
            for task in d._tasks:
                if task.live and task._state == "RUNNING":
                    for a in task.attachments:
                        for detail in a.get("details", []):
                            if detail.get("name") == "privateIPv4Address":
                                running[detail["value"]] = task
                                if bad_image:
                                    unhealthy.add(detail["value"])
        for lb in lbs:
            group = elb.target_groups.get(lb["targetGroupArn"])
            if group is None:
                continue
            port = lb.get("containerPort") or group.port
            mine = self.__dict__.setdefault("_registered_targets", {}).setdefault(group.arn, set())
            for ip in running:
                if ip not in group.targets:
                    group.register([{"Id": ip, "Port": port}])
                    mine.add(ip)
            gone = [ip for ip in mine if ip not in running]
            for ip in gone:
                mine.discard(ip)
                if ip in group.targets:
                    group.deregister([{"Id": ip}])
            for ip in mine:
                if ip in unhealthy:
                    UNHEALTHY_TARGETS.add((group.arn, ip))
                else:
                    UNHEALTHY_TARGETS.discard((group.arn, ip))

    def _step(self, t: float) -> None:
        d = self.primary
        assert d is not None
        delay = CONFIG.delay
        due = [task for task in d._tasks if task.live and task.pending and task.created_ts + delay <= t]
        if due:
            health = IMAGES.classify_task_definition(d._td)
            for task in due:
                if health == "bad":
                    image = task.containers[0].image if task.containers else ""
                    task.stop(
                        t, STOP_CODE_EXITED, STOP_REASON_EXITED, 1,
                        f"Essential container exited with code 1 during startup "
                        f"(sandbox: image {image} is bad)",
                    )
                    d.failed_tasks += 1
                else:
                    task.start(t)
            self._recount(d, t)
            if health == "bad" and self._trip_circuit_breaker(d, t):
                return
        sd = d._service_deployment
        if sd is not None and sd.staged and sd.status == "IN_PROGRESS":
            stage = sd.stage_due(d._running_since)
            if stage is not None and stage <= t:
                if sd.next_stage(t):
                    self._complete(d, t)
                    return
                self.event(t, f"(service {self.name}) service deployment {sd.id} entered {sd.lifecycle_stage}"
                              + (" and waits for ContinueServiceDeployment" if sd.paused_hook else "") + ".")
        elif (
            d._running_since is not None
            and d._running_since + delay <= t
            and self._needs_completion(d)
        ):
            self._complete(d, t)
            return
        self._reconcile(d, t)

    def _trip_circuit_breaker(self, d: SimDeployment, t: float) -> bool:
        breaker = self._circuit_breaker()
        if not breaker.get("enable") or d.rollout_state != "IN_PROGRESS":
            return False
        if d.failed_tasks < circuit_breaker_threshold(d.desired_count):
            return False
        d.rollout_state = "FAILED"
        d.rollout_state_reason = "ECS deployment circuit breaker: tasks failed to start."
        d.updated_at = to_dt(t)
        sd = d._service_deployment
        if sd is not None:
            sd.cb_status = "TRIGGERED"
            sd.touch(t)
        for owner in self.service_deployments:
            if owner.rollback_deployment is d:
                # The rollback itself failed: ECS does not roll a rollback back.
                owner.finish("ROLLBACK_FAILED", t, "The rollback deployment failed: tasks failed to start.")
        self._stop_tasks([task for task in d._tasks if task.live], t, None)
        self._recount(d, t)
        self.event(t, f"(service {self.name}) deployment {d.id} deployment failed: tasks failed to start.")
        if breaker.get("rollback") and self.last_completed_td and not d._is_rollback:
            # ECS returns to the last deployment that completed (a failed rollback is not
            # rolled back again).
            back = self.start_deployment(
                resolve_task_definition(self.backend, self.last_completed_td), t, is_rollback=True,
                announce=lambda new: (
                    f"(service {self.name}) (deployment {d.id}) deployment circuit breaker: "
                    f"rolling back to deployment {new.id}."
                ),
            )
            if sd is not None:
                self.begin_rollback(sd, back, t, "Circuit breaker triggered: tasks failed to start.")
        elif sd is not None:
            sd.finish("STOPPED", t, "ECS deployment circuit breaker: tasks failed to start.")
        return True

    def begin_rollback(self, sd: SimServiceDeployment, back: SimDeployment, t: float, reason: str) -> None:
        sd.status = "ROLLBACK_IN_PROGRESS"
        sd.status_reason = reason
        source = next((rev for rev, dep in sd.sources if dep._td.arn == back._td.arn), None)
        if source is None:
            source = self.new_revision(back._td, t)
        sd.rollback = {"reason": reason, "startedAt": to_dt(t), "serviceRevisionArn": source.arn}
        sd.rollback_deployment = back
        sd.touch(t)

    def stop_service_deployment(self, sd: SimServiceDeployment, stop_type: str, t: float) -> None:
        """StopServiceDeployment: ROLLBACK returns to the source revision, keeping its tasks."""
        if stop_type == "ABORT":
            sd.status = "STOP_REQUESTED"
            sd.finish("STOPPED", t, "Stopped by user (ABORT).")
            return
        d = sd.deployment
        source = None
        if self.last_completed_td is not None:
            source = next((x for x in self.deployments if x is not d and x._td.arn == self.last_completed_td
                           and any(task.live for task in x._tasks)), None)
        if source is not None:
            # The old tasks keep serving; the new deployment's tasks go away.
            self.deployments.remove(d)
            self._stop_tasks([task for task in d._tasks if task.live], t, None)
            d.status = "INACTIVE"
            self.deployments.remove(source)
            self.deployments.insert(0, source)
            source.status = "PRIMARY"
            source.rollout_state = "IN_PROGRESS"
            source.rollout_state_reason = f"ECS deployment {source.id} in progress."
            source.updated_at = to_dt(t)
            source._steady = False
            source._running_since = None
            self.service.task_definition = source.task_definition
            self.event(t, f"(service {self.name}) (deployment {d.id}) rollback requested by user: "
                          f"returning to deployment {source.id}.")
            self._reconcile(source, t)
            back = source
        else:
            back = self.start_deployment(
                resolve_task_definition(self.backend, self.last_completed_td), t, is_rollback=True,
                announce=lambda new: f"(service {self.name}) (deployment {d.id}) rollback requested by user: "
                                     f"rolling back to deployment {new.id}.",
            )
        self.begin_rollback(sd, back, t, "Rollback requested by user (StopServiceDeployment).")

    def _complete(self, d: SimDeployment, t: float) -> None:
        others = [x for x in self.deployments if x is not d]
        self._stop_tasks([task for x in others for task in x._tasks if task.live], t, d)
        # Stopped tasks stay listable (ListTasks desiredStatus=STOPPED) via the cluster's tasks.
        self.service.deployments[:] = [d]
        if d.rollout_state == "IN_PROGRESS":
            d.rollout_state = "COMPLETED"
            d.rollout_state_reason = f"ECS deployment {d.id} completed."
            d.updated_at = to_dt(t)
            self.event(t, f"(service {self.name}) deployment {d.id} deployment completed.")
        if d.rollout_state == "COMPLETED":
            self.last_completed_td = d.task_definition
        sd = d._service_deployment
        if sd is not None and sd.status == "IN_PROGRESS":
            sd.finish("SUCCESSFUL", t)
        for owner in self.service_deployments:
            if owner.rollback_deployment is d and owner.status == "ROLLBACK_IN_PROGRESS":
                owner.finish("ROLLBACK_SUCCESSFUL", t)
        self._recount(d, t)
        d._steady = True
        self.event(t, f"(service {self.name}) has reached a steady state.")

    # ---- seeding ------------------------------------------------------------------------------

    def settle(self, since: float) -> None:
        """Puts the service in a steady state that was reached at time ``since`` (seeding)."""
        cluster_tasks = _tasks_of_cluster(self.backend, self.service.cluster_name)
        for d in self.deployments:
            for task in d._tasks:
                cluster_tasks.pop(task.task_arn, None)
        self.service.deployments = []
        self.service.events = []
        self._last_event_ts = 0.0
        td = resolve_task_definition(self.backend, self.service.task_definition)
        d = SimDeployment(self.service, td, since, False)
        self.service.deployments.append(d)
        self._launch(d, d.desired_count, since)
        for task in d._tasks:
            task.start(since + CONFIG.delay)
        self._recount(d, since + CONFIG.delay)
        d._running_since = since + CONFIG.delay
        d.rollout_state = "COMPLETED"
        d.rollout_state_reason = f"ECS deployment {d.id} completed."
        d.updated_at = to_dt(since + 2 * CONFIG.delay)
        d._steady = True
        self.last_completed_td = d.task_definition
        for old in self.service_deployments:
            SERVICE_DEPLOYMENTS.pop(old.arn, None)
        self.service_deployments = []
        sd = self.new_service_deployment(d, since)
        sd.finish("SUCCESSFUL", since + 2 * CONFIG.delay)
        self.event(since + 2 * CONFIG.delay, f"(service {self.name}) deployment {d.id} deployment completed.")
        self.event(since + 2 * CONFIG.delay, f"(service {self.name}) has reached a steady state.")


def sim_of(backend: Backend, service: Any) -> ServiceSim:
    sim = getattr(service, "_sandbox_sim", None)
    if sim is None:
        # A service that did not come through CreateService (e.g. CloudFormation): start its
        # first deployment now.
        sim = ServiceSim(backend, service)
        service._sandbox_sim = sim
        if service.task_definition:
            td = resolve_task_definition(backend, service.task_definition)
            sim.start_deployment(td, time.time())
    return sim


# --------------------------------------------------------------------------------------------
# One-off tasks (RunTask)
# --------------------------------------------------------------------------------------------


def _oneoff_command(td: TaskDefinition, overrides: dict[str, Any]):
    """Returns (container name, argv, environment, exec dir) for the first mapped container."""
    by_name = {o.get("name"): o for o in (overrides or {}).get("containerOverrides", []) or []}
    for definition in td.container_definitions:
        name = definition.get("name")
        directory = CONFIG.exec_dirs.get(name)
        if not directory:
            continue
        override = by_name.get(name, {})
        argv = override.get("command") or definition.get("command") or []
        env = {e["name"]: e.get("value", "") for e in definition.get("environment") or []}
        env.update({e["name"]: e.get("value", "") for e in override.get("environment") or []})
        return name, [str(a) for a in argv], env, directory
    return None


def _start_local_process(task: SimTask, argv: list[str], env: dict[str, str], cwd: str) -> None:
    task.exec = {
        "command": argv, "cwd": cwd, "stdout": "", "stderr": "",
        "exit_code": None, "exit_ts": None, "proc": None,
    }

    def run() -> None:
        if not argv:
            stdout, stderr, code = "", "sandbox: no command to run\n", 0
        else:
            full_env = dict(os.environ)
            full_env.update(env)
            try:
                proc = subprocess.Popen(
                    argv, cwd=cwd, env=full_env, stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
                )
            except OSError as e:
                stdout, stderr = "", f"sandbox: cannot run {argv[0]!r}: {e}\n"
                code = 127 if isinstance(e, FileNotFoundError) else 126
            else:
                with LOCK:
                    task.exec["proc"] = proc
                out, err = proc.communicate()
                stdout = out.decode("utf-8", "replace")
                stderr = err.decode("utf-8", "replace")
                code = proc.returncode if proc.returncode >= 0 else 128 - proc.returncode
        with LOCK:
            task.exec.update(stdout=stdout, stderr=stderr, exit_code=code, exit_ts=time.time())

    threading.Thread(target=run, name=f"task-{task.id}", daemon=True).start()


def advance_oneoff(task: SimTask, now: float) -> None:
    if task._state == "STOPPED":
        return
    ready = task.created_ts + CONFIG.delay
    if task.exec is None:
        if now >= ready:
            bad = IMAGES.classify_task_definition(task._td) == "bad"
            task.start(ready)
            task.stop(
                ready, STOP_CODE_EXITED, STOP_REASON_EXITED, 1 if bad else 0,
                "Essential container exited with code 1 (sandbox: bad image)" if bad else None,
            )
        return
    exit_ts = task.exec.get("exit_ts")
    if exit_ts is not None:
        stop_at = max(exit_ts, ready)
        if now >= stop_at:
            if task.started_at is None:
                task.start(ready)
            task.stop(stop_at, STOP_CODE_EXITED, STOP_REASON_EXITED, task.exec["exit_code"])
            return
    if now >= ready and task._state == "PROVISIONING":
        task.start(ready)


def advance_cluster(backend: Backend, cluster_name: str, now: float | None = None) -> None:
    """Brings every service and one-off task of the cluster up to ``now``."""
    now = time.time() if now is None else now
    with LOCK:
        for service in list(backend.services.values()):
            if service.cluster_name == cluster_name and service.status == "ACTIVE":
                sim_of(backend, service).advance(now)
        tasks = _tasks_of_cluster(backend, cluster_name).values()
        for task in list(tasks):
            if isinstance(task, SimTask) and task.kind == "oneoff":
                advance_oneoff(task, now)
        cluster = backend.clusters.get(cluster_name)
        if cluster is not None:
            cluster.running_tasks_count = sum(1 for t in tasks if t.last_status == "RUNNING")
            cluster.pending_tasks_count = sum(
                1 for t in tasks if t.last_status in ("PROVISIONING", "PENDING")
            )
            cluster.active_services_count = sum(
                1 for s in backend.services.values()
                if s.cluster_name == cluster_name and s.status == "ACTIVE"
            )


def find_task(backend: Backend, task_id: str) -> SimTask | None:
    for tasks in backend.tasks.values():
        for arn, task in tasks.items():
            if arn.split("/")[-1] == task_id or arn == task_id:
                return task
    return None


def all_processes(backend_dicts) -> list[subprocess.Popen]:
    procs = []
    for backend in backend_dicts:
        for tasks in backend.tasks.values():
            for task in tasks.values():
                exec_info = getattr(task, "exec", None)
                if exec_info and exec_info.get("proc") is not None and exec_info.get("exit_code") is None:
                    procs.append(exec_info["proc"])
    return procs


# --------------------------------------------------------------------------------------------
# Patched backend methods
# --------------------------------------------------------------------------------------------

_orig = {
    "create_service": Backend.create_service,
    "describe_services": Backend.describe_services,
    "delete_service": Backend.delete_service,
    "resp_create_service": ecs_responses.EC2ContainerServiceResponse.create_service,
}


def describe_task_definition(self: Backend, task_definition_str: str) -> TaskDefinition:
    return resolve_task_definition(self, task_definition_str)


def create_service(self: Backend, cluster_str: str, service_name: str, desired_count: int,
                   task_definition_str: str | None = None, *args: Any, **kwargs: Any):
    with LOCK:
        self._get_cluster(cluster_str)
        if task_definition_str:
            td = resolve_task_definition(self, task_definition_str)
            if td.status != "ACTIVE":
                raise EcsClientException("TaskDefinition is inactive")
            if td.network_mode == "awsvpc" and not kwargs.get("network_configuration"):
                raise InvalidParameterException(
                    "Network Configuration must be provided when networkMode 'awsvpc' is specified."
                )
        service = _orig["create_service"](self, cluster_str, service_name, desired_count,
                                          task_definition_str, *args, **kwargs)
        service.created_at = to_dt(time.time())
        service.created_by = f"arn:aws:iam::{self.account_id}:root"
        sim = ServiceSim(self, service)
        service._sandbox_sim = sim
        if task_definition_str:
            sim.start_deployment(resolve_task_definition(self, task_definition_str), time.time())
        return service


def describe_services(self: Backend, cluster_str: str, service_names_or_arns: list[str]):
    if len(service_names_or_arns or []) > 10:
        raise InvalidParameterException("services can have at most 10 items.")
    with LOCK:
        cluster = self._get_cluster(cluster_str)
        advance_cluster(self, cluster.name)
        return _orig["describe_services"](self, cluster_str, service_names_or_arns)


def update_service(self: Backend, service_properties: dict[str, Any]):
    props = dict(service_properties)
    cluster_str = props.pop("cluster", None) or "default"
    service_str = str(props.pop("service", "")).split("/")[-1]
    with LOCK:
        service = self._get_service(cluster_str, service_str)  # Cluster/ServiceNotFound
        sim = sim_of(self, service)
        now = time.time()
        advance_cluster(self, service.cluster_name, now)

        # Validate everything first: a refused update changes nothing.
        td_str = props.pop("task_definition", None)
        force = bool(props.pop("force_new_deployment", False))
        desired = props.pop("desired_count", None)
        deployment_configuration = props.pop("deployment_configuration", None)
        network = props.pop("network_configuration", None)
        td = None
        controller = (getattr(service, "deployment_controller", None) or {}).get("type", "ECS")
        if controller != "ECS" and (td_str or force):
            # ECS: only CodeDeploy (or the external tool's task sets) deploys such a service.
            raise InvalidParameterException(
                f"Unable to update task definition on services with a {controller} deployment controller. "
                "Use AWS CodeDeploy to trigger a new deployment." if controller == "CODE_DEPLOY" else
                f"Unable to update task definition on services with a {controller} deployment controller.")
        if td_str:
            td = resolve_task_definition(self, td_str)
            if td.status != "ACTIVE":
                raise EcsClientException("TaskDefinition is inactive")
        if desired is not None:
            desired = int(desired)
            if desired < 0:
                raise InvalidParameterException("desiredCount must be >= 0.")
        if network is not None:
            network = service._validate_network(network)

        for name, value in props.items():
            if value is not None:
                setattr(service, name, value)
        if deployment_configuration:
            merged = dict(service.deployment_configuration or {})
            merged.update(deployment_configuration)
            service.deployment_configuration = merged
        if network is not None:
            service.network_configuration = network
        if desired is not None and desired != service.desired_count:
            sim.set_desired(desired, now)
        primary = sim.primary
        if td is None and (force or primary is None):
            td = primary._td if primary else resolve_task_definition(self, service.task_definition)
        if td is not None and (force or primary is None or td.arn != primary.task_definition):
            sim.start_deployment(td, now)
        return service


def delete_service(self: Backend, cluster_name: str, service_name: str, force: bool):
    with LOCK:
        service = _orig["delete_service"](self, cluster_name, service_name, force)
        sim = getattr(service, "_sandbox_sim", None)
        if sim is not None:
            now = time.time()
            sim._stop_tasks([t for d in sim.deployments for t in d._tasks if t.live], now, None)
            for d in sim.deployments:
                sim._recount(d, now)
        return service


def run_task(self: Backend, cluster_str: str, task_definition_str: str, count: int,
             overrides: dict[str, Any] | None, started_by: str, tags: list | None,
             launch_type: str | None, networking_configuration: dict[str, Any] | None = None,
             group: str | None = None, platform_version: str | None = None) -> list[SimTask]:
    if launch_type and launch_type not in ("EC2", "FARGATE", "EXTERNAL"):
        raise InvalidParameterException("launch type should be one of [EC2,FARGATE,EXTERNAL]")
    if not 1 <= int(count or 1) <= 10:
        raise InvalidParameterException("count must be between 1 and 10.")
    with LOCK:
        cluster = self._get_cluster(cluster_str)
        td = resolve_task_definition(self, task_definition_str)
        if td.status != "ACTIVE":
            raise EcsClientException("TaskDefinition is inactive")
        if td.network_mode == "awsvpc" and not networking_configuration:
            raise InvalidParameterException(
                "Network Configuration must be provided when networkMode 'awsvpc' is specified."
            )
        now = time.time()
        tasks = []
        for _ in range(int(count or 1)):
            task = SimTask(
                self, cluster, td, now,
                kind="oneoff",
                group=group or f"family:{td.family}",
                started_by=started_by or "",
                launch_type=launch_type,
                network_configuration=networking_configuration,
                overrides=overrides,
                tags=tags,
                platform_version=platform_version,
            )
            _tasks_of_cluster(self, cluster.name)[task.task_arn] = task
            command = _oneoff_command(td, overrides or {})
            if command is not None:
                _name, argv, env, directory = command
                _start_local_process(task, argv, env, directory)
            tasks.append(task)
        return tasks


def _cluster_tasks_after_advance(self: Backend, cluster_str: str) -> tuple[Any, list[Any]]:
    cluster = self._get_cluster(cluster_str)
    advance_cluster(self, cluster.name)
    return cluster, list(_tasks_of_cluster(self, cluster.name).values())


def list_tasks(self: Backend, cluster_str: str | None = None, container_instance: str | None = None,
               family: str | None = None, started_by: str | None = None,
               service_name: str | None = None, desiredStatus: str | None = None,
               launch_type: str | None = None) -> list[Any]:
    with LOCK:
        _cluster, tasks = _cluster_tasks_after_advance(self, cluster_str or "default")
        desired = (desiredStatus or "RUNNING").upper()  # ECS filters on RUNNING by default
        result = []
        for task in tasks:
            if container_instance and container_instance not in (task.container_instance_arn or ""):
                continue
            if family and task.task_definition_arn.split("/")[-1].rsplit(":", 1)[0] != family:
                continue
            if started_by and task.started_by != started_by:
                continue
            if service_name and task.group != f"service:{service_name.split('/')[-1]}":
                continue
            if launch_type and task.launch_type != launch_type:
                continue
            if task.desired_status != desired:
                continue
            result.append(task)
        return result


def describe_tasks(self: Backend, cluster_str: str, tasks: list[str]) -> list[Any]:
    found, _failures = describe_tasks_with_failures(self, cluster_str, tasks)
    return found


def describe_tasks_with_failures(self: Backend, cluster_str: str, task_refs: list[str]):
    if not task_refs:
        raise InvalidParameterException("Tasks cannot be empty.")
    if len(task_refs) > 100:
        raise InvalidParameterException("tasks can have at most 100 items.")
    with LOCK:
        cluster, tasks = _cluster_tasks_after_advance(self, cluster_str)
        by_id = {task.task_arn.split("/")[-1]: task for task in tasks}
        found, failures = [], []
        for ref in task_refs:
            task = by_id.get(str(ref).split("/")[-1])
            if task is None:
                arn = ref if str(ref).startswith("arn:") else (
                    f"arn:aws:ecs:{self.region_name}:{self.account_id}:task/{cluster.name}/{ref}"
                )
                failures.append({"arn": arn, "reason": "MISSING"})
            elif task not in found:
                found.append(task)
        return found, failures


def stop_task(self: Backend, cluster_str: str, task_str: str, reason: str):
    with LOCK:
        cluster, tasks = _cluster_tasks_after_advance(self, cluster_str)
        task_id = str(task_str).split("/")[-1]
        for task in tasks:
            if task.task_arn.split("/")[-1] == task_id:
                if isinstance(task, SimTask):
                    task.stop(time.time(), "UserInitiated", reason or "Task stopped by user", 143)
                    if task.kind == "service":
                        # ECS replaces a stopped service task: the next read reconciles.
                        for service in self.services.values():
                            sim = getattr(service, "_sandbox_sim", None)
                            if sim and any(task in d._tasks for d in sim.deployments):
                                primary = sim.primary
                                if primary is not None and task in primary._tasks:
                                    primary._running_since = None
                                    primary._steady = False
                                    sim._reconcile(primary, time.time())
                                for d in sim.deployments:
                                    sim._recount(d, time.time())
                else:
                    task.last_status = "STOPPED"
                    task.desired_status = "STOPPED"
                    task.stopped_reason = reason
                return task
        raise InvalidParameterException("The referenced task was not found.")


# --------------------------------------------------------------------------------------------
# Patched response handlers (for request members moto does not pass to the backend)
# --------------------------------------------------------------------------------------------

Responses = ecs_responses.EC2ContainerServiceResponse


def resp_list_task_definitions(self: Responses) -> ActionResult:
    family = self._get_param("familyPrefix")
    status = str(self._get_param("status") or "ACTIVE").upper()
    sort = str(self._get_param("sort") or "ASC").upper()
    if status not in ("ACTIVE", "INACTIVE", "DELETE_IN_PROGRESS", "ALL"):
        raise InvalidParameterException(f"Invalid status: {status}")
    if sort not in ("ASC", "DESC"):
        raise InvalidParameterException(f"Invalid sort: {sort}")
    with LOCK:
        items = [
            td
            for revisions in self.ecs_backend.task_definitions.values()
            for td in revisions.values()
            if (not family or td.family == family) and (status == "ALL" or td.status == status)
        ]
        # ECS orders by family name, then numerically by revision; DESC reverses both.
        page, token = paginate(
            items, lambda td: (td.family, td.revision), self._get_param("maxResults"),
            self._get_param("nextToken"), descending=(sort == "DESC"),
        )
        result: dict[str, Any] = {"taskDefinitionArns": [td.arn for td in page]}
        if token:
            result["nextToken"] = token
        return ActionResult(result)


def resp_list_tasks(self: Responses) -> ActionResult:
    tasks = self.ecs_backend.list_tasks(
        self._get_param("cluster", "default"),
        self._get_param("containerInstance"),
        self._get_param("family"),
        self._get_param("startedBy"),
        self._get_param("serviceName"),
        self._get_param("desiredStatus"),
        self._get_param("launchType"),
    )
    page, token = paginate(
        tasks, lambda t: (getattr(t, "created_ts", 0.0), t.task_arn),
        self._get_param("maxResults"), self._get_param("nextToken"),
    )
    result: dict[str, Any] = {"taskArns": [t.task_arn for t in page]}
    if token:
        result["nextToken"] = token
    return ActionResult(result)


def resp_describe_tasks(self: Responses) -> ActionResult:
    found, failures = describe_tasks_with_failures(
        self.ecs_backend, self._get_param("cluster", "default"), self._get_param("tasks", [])
    )
    if "TAGS" in (self._get_param("include", []) or []):
        self._include_in_response(ecs_responses.DESCRIBE_TASKS_TAGS)
    else:
        self._exclude_from_response(ecs_responses.DESCRIBE_TASKS_TAGS)
    return ActionResult({"tasks": found, "failures": failures})


def resp_create_service(self: Responses) -> ActionResult:
    result = _orig["resp_create_service"](self)
    config = self._get_param("deploymentConfiguration")
    if config:
        with LOCK:
            service = self.ecs_backend._get_service(
                self._get_param("cluster", "default"), self._get_param("serviceName")
            )
            merged = json.loads(json.dumps(DEFAULT_DEPLOYMENT_CONFIGURATION))
            merged.update(config)
            service.deployment_configuration = merged
    return result


def _timestamp_param(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise InvalidParameterException(f"Invalid timestamp: {value}")


def _service_deployment(backend: Backend, arn: Any) -> SimServiceDeployment:
    sd = SERVICE_DEPLOYMENTS.get(str(arn or ""))
    if sd is None or sd.sim.backend is not backend:
        raise InvalidParameterException(f"Service deployment {arn} was not found.")
    advance_cluster(backend, sd.sim.service.cluster_name)
    return sd


def _check_arns(arns: Any, what: str) -> list[str]:
    if not isinstance(arns, list) or not arns:
        raise InvalidParameterException(f"{what} cannot be empty.")
    if len(arns) > MAX_DESCRIBE_ARNS:
        raise InvalidParameterException(f"{what} can have at most {MAX_DESCRIBE_ARNS} items.")
    return [str(a) for a in arns]


def resp_list_service_deployments(self: Responses) -> ActionResult:
    statuses = self._get_param("status") or []
    created = self._get_param("createdAt") or {}
    before, after = _timestamp_param(created.get("before")), _timestamp_param(created.get("after"))
    max_results = self._get_param("maxResults")
    with LOCK:
        backend = self.ecs_backend
        service = backend._get_service(self._get_param("cluster", "default"),
                                       str(self._get_param("service") or "").split("/")[-1])
        advance_cluster(backend, service.cluster_name)
        items = [
            sd for sd in sim_of(backend, service).service_deployments
            if (not statuses or sd.status in statuses)
            # createdAt travels with millisecond precision: compare at that precision.
            and (before is None or round(sd.created_ts, 3) < before)
            and (after is None or round(sd.created_ts, 3) > after)
        ]
        # ECS does not document the order; the sandbox lists oldest first so clients must sort.
        page, token = paginate(items, lambda sd: (sd.created_ts, sd.id),
                               20 if max_results is None else max_results, self._get_param("nextToken"))
        result: dict[str, Any] = {"serviceDeployments": [sd.brief() for sd in page]}
        if token:
            result["nextToken"] = token
        return ActionResult(result)


def resp_describe_service_deployments(self: Responses) -> ActionResult:
    arns = _check_arns(self._get_param("serviceDeploymentArns"), "serviceDeploymentArns")
    found, failures = [], []
    with LOCK:
        for arn in arns:
            sd = SERVICE_DEPLOYMENTS.get(arn)
            if sd is None or sd.sim.backend is not self.ecs_backend:
                failures.append({"arn": arn, "reason": "MISSING"})
                continue
            advance_cluster(self.ecs_backend, sd.sim.service.cluster_name)
            found.append(sd.to_api())
    return ActionResult({"serviceDeployments": found, "failures": failures})


def resp_describe_service_revisions(self: Responses) -> ActionResult:
    arns = _check_arns(self._get_param("serviceRevisionArns"), "serviceRevisionArns")
    found, failures = [], []
    with LOCK:
        for arn in arns:
            rev = SERVICE_REVISIONS.get(arn)
            if rev is None:
                failures.append({"arn": arn, "reason": "MISSING"})
            else:
                found.append(rev.to_api())
    return ActionResult({"serviceRevisions": found, "failures": failures})


def resp_stop_service_deployment(self: Responses) -> ActionResult:
    arn = self._get_param("serviceDeploymentArn")
    stop_type = str(self._get_param("stopType") or "ROLLBACK")
    if stop_type not in ("ROLLBACK", "ABORT"):
        raise InvalidParameterException("stopType must be ROLLBACK or ABORT.")
    with LOCK:
        sd = _service_deployment(self.ecs_backend, arn)
        if sd.status not in ("PENDING", "IN_PROGRESS"):
            raise EcsClientException(f"The service deployment is {sd.status}; only a deployment in progress "
                                     "can be stopped.")
        if stop_type == "ROLLBACK" and sd.sim.last_completed_td is None:
            raise EcsClientException("The service has no previous deployment that completed to roll back to.")
        sd.sim.stop_service_deployment(sd, stop_type, time.time())
        return ActionResult({"serviceDeploymentArn": sd.arn})


def resp_continue_service_deployment(self: Responses) -> ActionResult:
    arn = self._get_param("serviceDeploymentArn")
    hook_id = self._get_param("hookId")
    action = str(self._get_param("action") or "")
    if action not in ("CONTINUE", "ROLLBACK"):
        raise InvalidParameterException("action must be CONTINUE or ROLLBACK.")
    with LOCK:
        sd = _service_deployment(self.ecs_backend, arn)
        hook = sd.paused_hook
        if sd.status != "IN_PROGRESS" or hook is None or (hook_id and hook["hookId"] != hook_id):
            raise InvalidParameterException("The service deployment is not waiting at lifecycle hook "
                                            f"{hook_id}.")
        now = time.time()
        hook["status"] = "SUCCEEDED"
        sd.paused_hook = None
        sd.stage_since = now
        sd.touch(now)
        if action == "ROLLBACK":
            sd.sim.stop_service_deployment(sd, "ROLLBACK", now)
        return ActionResult({"serviceDeploymentArn": sd.arn})


def install() -> None:
    """Patches moto's ECS backend and responses. Idempotent."""
    if getattr(Backend, "_sandbox_patched", False):
        return
    Backend.describe_task_definition = describe_task_definition
    Backend.create_service = create_service
    Backend.describe_services = describe_services
    Backend.update_service = update_service
    Backend.delete_service = delete_service
    Backend.run_task = run_task
    Backend.list_tasks = list_tasks
    Backend.describe_tasks = describe_tasks
    Backend.stop_task = stop_task
    Responses.list_task_definitions = resp_list_task_definitions
    Responses.list_tasks = resp_list_tasks
    Responses.describe_tasks = resp_describe_tasks
    Responses.create_service = resp_create_service
    Responses.list_service_deployments = resp_list_service_deployments
    Responses.describe_service_deployments = resp_describe_service_deployments
    Responses.describe_service_revisions = resp_describe_service_revisions
    Responses.stop_service_deployment = resp_stop_service_deployment
    Responses.continue_service_deployment = resp_continue_service_deployment
    from moto.elbv2.models import FakeTargetGroup

    FakeTargetGroup.health_for = _target_health_for(FakeTargetGroup.health_for)
    Backend._sandbox_patched = True
