"""WSGI middleware in front of moto's app: request log, fault injection, control API.

Every request that is not under ``/_sandbox/`` is recorded (operation name, time, status), may
be hit by a fault rule, and is otherwise passed to moto under ``ecs_sim.LOCK`` (moto is not
thread-safe; the server is). Requests under ``/_sandbox/`` are the control API, documented in
README.md.
"""

from __future__ import annotations

import collections
import io
import json
import os
import re
import random
import socket
import threading
import time
import urllib.parse
import uuid
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any, Callable

import ecs_sim
import rds_sim
import shapes

# Recorded calls kept in memory (counts are kept for all of them).
MAX_RECORDED_CALLS = 10_000

FAULT_KINDS = ("throttle", "error500", "error503", "latency", "drop", "error500_after", "unknown_operation",
               "expired_token")

_CREDENTIAL_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/[^/]+/([^/]+)/aws4_request")


@dataclass
class RequestInfo:
    protocol: str  # json | query | s3 | rest
    service: str
    operation: str
    method: str
    path: str


def describe_request(environ: dict[str, Any]) -> RequestInfo:
    """Names the AWS operation of a request without consuming anything moto needs."""
    method = environ.get("REQUEST_METHOD", "GET")
    path = environ.get("PATH_INFO", "/")
    query = environ.get("QUERY_STRING", "")
    auth = environ.get("HTTP_AUTHORIZATION", "")
    scope = _CREDENTIAL_SCOPE.search(auth) or _CREDENTIAL_SCOPE.search(
        urllib.parse.unquote(query)
    )
    service = scope.group(1) if scope else ""

    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        prefix, _, operation = target.rpartition(".")
        return RequestInfo("json", service or prefix, operation, method, path)
    if service == "s3" or (not service and method in ("GET", "PUT", "HEAD", "DELETE")):
        return RequestInfo("s3", service or "s3", f"{method} {path}", method, path)

    params = urllib.parse.parse_qs(query)
    content_type = environ.get("CONTENT_TYPE", "")
    if "Action" not in params and content_type.startswith("application/x-www-form-urlencoded"):
        # Query protocol (STS, EC2, ...): the operation is in the body; buffer it for moto.
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length > 0 else b""
        environ["wsgi.input"] = io.BytesIO(body)
        params = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
    if "Action" in params:
        return RequestInfo("query", service, params["Action"][0], method, path)
    return RequestInfo("rest", service, f"{method} {path}", method, path)


class CallLog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: collections.deque[dict[str, Any]] = collections.deque(maxlen=MAX_RECORDED_CALLS)
        self._counts: collections.Counter[str] = collections.Counter()
        self._seq = 0

    def record(self, info: RequestInfo, fault: str | None) -> dict[str, Any]:
        with self._lock:
            self._seq += 1
            entry = {
                "seq": self._seq,
                "time": time.time(),
                "operation": info.operation,
                "service": info.service,
                "method": info.method,
                "path": info.path,
                "status": None,
                "fault": fault,
            }
            self._calls.append(entry)
            self._counts[info.operation] += 1
            return entry

    def snapshot(self, operation: str | None = None) -> dict[str, Any]:
        with self._lock:
            calls = [dict(c) for c in self._calls if operation is None or c["operation"] == operation]
            return {"calls": calls, "counts": dict(self._counts), "total": sum(self._counts.values())}

    def reset(self) -> None:
        with self._lock:
            self._calls.clear()
            self._counts.clear()


class FaultRules:
    """Ordered rules; each matching request uses up one of a rule's ``count``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[dict[str, Any]] = []

    @staticmethod
    def validate(rule: Any) -> dict[str, Any]:
        if not isinstance(rule, dict):
            raise ValueError("a rule must be an object")
        kind = rule.get("kind")
        if kind not in FAULT_KINDS:
            raise ValueError(f"kind must be one of {', '.join(FAULT_KINDS)}")
        operation = str(rule.get("operation", "*"))
        count = rule.get("count")
        if count is not None and (not isinstance(count, int) or count < 1):
            raise ValueError("count must be a positive integer (omit it for no limit)")
        clean = {"operation": operation, "kind": kind, "count": count, "remaining": count}
        if rule.get("service"):
            clean["service"] = str(rule["service"])
        probability = rule.get("probability")
        if probability is not None:
            if not isinstance(probability, (int, float)) or not 0 < probability <= 1:
                raise ValueError("probability must be a number in (0, 1]")
            clean["probability"] = float(probability)
            # A seeded generator per rule, so a run's faults can be replayed.
            clean["_random"] = random.Random(rule.get("seed"))
        if kind == "latency":
            ms = rule.get("ms", 500)
            if not isinstance(ms, (int, float)) or ms < 0:
                raise ValueError("ms must be a non-negative number")
            clean["ms"] = ms
            if "ms_max" in rule:
                ms_max = rule["ms_max"]
                if not isinstance(ms_max, (int, float)) or ms_max < ms:
                    raise ValueError("ms_max must be a number not below ms")
                clean["ms_max"] = ms_max
                clean.setdefault("_random", random.Random(rule.get("seed")))
        return clean

    def add(self, rules: list[Any], replace: bool = False) -> None:
        clean = [self.validate(r) for r in rules]
        with self._lock:
            if replace:
                self._rules = []
            self._rules.extend(clean)

    def clear(self) -> None:
        with self._lock:
            self._rules = []

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [{k: v for k, v in r.items() if not k.startswith("_")} for r in self._rules]

    @staticmethod
    def _matches(rule: dict[str, Any], info: RequestInfo) -> bool:
        if rule.get("service") and rule["service"] != info.service:
            return False
        pattern = rule["operation"]
        return pattern == "*" or pattern == info.operation or fnmatchcase(info.operation, pattern)

    def take(self, info: RequestInfo) -> tuple[float, str | None]:
        """Returns (seconds of latency to add, the deciding fault kind or None).

        Every matching latency rule adds its delay; the first matching rule of another kind
        decides what happens to the request.
        """
        latency = 0.0
        decision = None
        with self._lock:
            for rule in self._rules:
                if not self._matches(rule, info):
                    continue
                if "probability" in rule and rule["_random"].random() >= rule["probability"]:
                    continue
                if rule["kind"] == "latency":
                    ms = rule["ms"]
                    if "ms_max" in rule:
                        ms = rule["_random"].uniform(ms, rule["ms_max"])
                    latency += ms / 1000.0
                elif decision is None:
                    decision = rule["kind"]
                else:
                    continue
                if rule["remaining"] is not None:
                    rule["remaining"] -= 1
            self._rules = [r for r in self._rules if r["remaining"] is None or r["remaining"] > 0]
        return latency, decision


# Error documents per fault kind: (status, code, message) for JSON/query, and for S3.
_ERRORS = {
    "throttle": {"json": (400, "ThrottlingException", "Rate exceeded"),
                 "query": (400, "Throttling", "Rate exceeded"),
                 "s3": (503, "SlowDown", "Please reduce your request rate.")},
    "error500": {"json": (500, "InternalFailure", "We encountered an internal error. Please try again."),
                 "s3": (500, "InternalError", "We encountered an internal error. Please try again.")},
    "error503": {"json": (503, "ServiceUnavailable", "Service Unavailable"),
                 "s3": (503, "ServiceUnavailable", "Service is unable to handle request.")},
}
_ERRORS["error500_after"] = _ERRORS["error500"]
# An endpoint that predates an API (e.g. ECS's service deployment calls of 2024/2025).
_ERRORS["unknown_operation"] = {"json": (400, "UnknownOperationException", "Unknown operation"),
                                "query": (400, "InvalidAction", "The action is not valid for this endpoint."),
                                "s3": (400, "NotImplemented", "A header you provided implies functionality that is not implemented.")}
# Expired session credentials, as AWS answers them (botocore's retryhandler/credential refresh
# codes): the JSON services say ExpiredTokenException, the query ones and S3 ExpiredToken.
_ERRORS["expired_token"] = {"json": (400, "ExpiredTokenException", "The security token included in the request is expired"),
                            "query": (400, "ExpiredToken", "The security token included in the request is expired"),
                            "s3": (400, "ExpiredToken", "The provided token has expired.")}

_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
            500: "Internal Server Error", 503: "Service Unavailable"}


def _status_line(code: int) -> str:
    return f"{code} {_REASONS.get(code, 'Unknown')}"


def _xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def aws_error(protocol: str, kind: str) -> tuple[str, list[tuple[str, str]], bytes]:
    """An AWS-shaped error response for an injected fault."""
    table = _ERRORS[kind]
    request_id = str(uuid.uuid4())
    headers = [("x-amzn-RequestId", request_id)]
    if protocol == "s3":
        status, code, message = table["s3"]
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{code}</Code><Message>{_xml_escape(message)}</Message>"
            f"<RequestId>{request_id}</RequestId><HostId>sandbox</HostId></Error>"
        )
        headers += [("Content-Type", "application/xml"), ("x-amz-request-id", request_id)]
    elif protocol == "query":
        status, code, message = table.get("query", table["json"])
        sender = "Sender" if status < 500 else "Receiver"
        body = (
            "<ErrorResponse><Error>"
            f"<Type>{sender}</Type><Code>{code}</Code><Message>{_xml_escape(message)}</Message>"
            f"</Error><RequestId>{request_id}</RequestId></ErrorResponse>"
        )
        headers.append(("Content-Type", "text/xml"))
    else:
        status, code, message = table["json"]
        body = json.dumps({"__type": code, "message": message})
        headers.append(("Content-Type", "application/x-amz-json-1.1"))
        if protocol == "rest":
            headers.append(("x-amzn-ErrorType", code))
    data = body.encode()
    headers.append(("Content-Length", str(len(data))))
    return _status_line(status), headers, data


class SandboxApp:
    """The WSGI application the server runs: control API + faults + call log around moto."""

    def __init__(self, moto_app: Callable, region: str, account: str,
                 fleet: Callable[[str], dict[str, Any]]):
        self.moto_app = moto_app
        self.region = region
        self.account = account
        self.fleet = fleet
        self.calls = CallLog()
        self.faults = FaultRules()

    # ---- AWS traffic -------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Callable):
        path = environ.get("PATH_INFO", "")
        if path == "/_sandbox" or path.startswith("/_sandbox/"):
            return self.control(environ, start_response)

        info = describe_request(environ)
        latency, fault = self.faults.take(info)
        entry = self.calls.record(info, fault)
        if latency:
            time.sleep(latency)

        if fault == "drop":
            entry["status"] = "dropped"
            self._drop(environ)
        if fault in ("throttle", "error500", "error503", "unknown_operation", "expired_token"):
            status, headers, body = aws_error(info.protocol, fault)
            entry["status"] = int(status.split()[0])
            start_response(status, headers)
            return [body]

        request_body = shapes.buffered_body(environ) if shapes.enabled() and info.protocol == "query" else None
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None):
            captured["status"], captured["headers"] = status, list(headers)
            return lambda data: captured.setdefault("written", []).append(data)

        with ecs_sim.LOCK:
            result = self.moto_app(environ, capture)
            try:
                chunks = captured.pop("written", []) + [bytes(c) for c in result]
            finally:
                if hasattr(result, "close"):
                    result.close()

        if fault == "error500_after":
            # The change has been made; the client only learns that something failed.
            status, headers, body = aws_error(info.protocol, "error500_after")
            entry["status"] = int(status.split()[0])
            start_response(status, headers)
            return [body]

        status, headers = captured["status"], captured["headers"]
        code = int(status.split()[0])
        entry["status"] = code
        if code >= 400 and not any(h.lower() in ("x-amzn-requestid", "x-amz-request-id") for h, _ in headers):
            headers.append(("x-amzn-RequestId", str(uuid.uuid4())))
        if shapes.enabled() and fault is None:
            shapes.check(info.protocol, environ, info.operation, request_body, code, headers, b"".join(chunks))
        start_response(status, headers)
        return chunks

    @staticmethod
    def _drop(environ: dict[str, Any]) -> None:
        """Closes the connection without an answer (the client sees an empty reply)."""
        sock = environ.get("werkzeug.socket")
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        # werkzeug treats ConnectionError as "client went away" and writes nothing.
        raise ConnectionResetError("sandbox fault: connection dropped")

    # ---- control API -------------------------------------------------------------------------

    def control(self, environ: dict[str, Any], start_response: Callable):
        method = environ.get("REQUEST_METHOD", "GET")
        parts = [p for p in environ.get("PATH_INFO", "").split("/") if p][1:]
        query = {k: v[-1] for k, v in urllib.parse.parse_qs(environ.get("QUERY_STRING", "")).items()}
        try:
            body = self._json_body(environ) if method in ("POST", "PUT") else {}
            status, payload = self.route(method, parts, query, body, environ)
        except ValueError as e:
            status, payload = 400, {"error": str(e)}
        data = json.dumps(payload, default=str, indent=1).encode()
        start_response(_status_line(status), [("Content-Type", "application/json"),
                                              ("Content-Length", str(len(data)))])
        return [data]

    @staticmethod
    def _json_body(environ: dict[str, Any]) -> Any:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length > 0 else b""
        if not raw.strip():
            return {}
        try:
            return json.loads(raw)
        except json.JSONDecodeError as e:
            raise ValueError(f"body is not JSON: {e}")

    def route(self, method: str, parts: list[str], query: dict[str, str], body: Any,
              environ: dict[str, Any]) -> tuple[int, Any]:
        head = parts[0] if parts else ""
        if head == "ping" and method == "GET":
            return 200, {"status": "ok"}

        if head == "faults" and len(parts) == 1:
            if method == "POST":
                if not isinstance(body, dict) or not isinstance(body.get("rules"), list):
                    raise ValueError('expected {"rules": [...]}')
                self.faults.add(body["rules"], replace=bool(body.get("replace")))
            elif method == "DELETE":
                self.faults.clear()
            elif method != "GET":
                return 405, {"error": "use GET, POST or DELETE"}
            return 200, {"rules": self.faults.list()}

        if head == "calls":
            reset = (parts[1:] == ["reset"] and method == "POST") or (len(parts) == 1 and method == "DELETE")
            if reset:
                self.calls.reset()
                return 200, {"status": "reset"}
            if len(parts) == 1 and method == "GET":
                return 200, self.calls.snapshot(query.get("operation"))

        if head == "images" and len(parts) == 1:
            if method == "POST":
                if not isinstance(body, dict):
                    raise ValueError("expected an object")
                with ecs_sim.LOCK:
                    if body.get("clear"):
                        ecs_sim.IMAGES.marks.clear()
                    for kind in ecs_sim.ImageMarks.KINDS:
                        images = body.get(kind) or []
                        if not isinstance(images, list):
                            raise ValueError(f"{kind} must be a list of images")
                        ecs_sim.IMAGES.mark(kind, images)
            elif method != "GET":
                return 405, {"error": "use GET or POST"}
            return 200, {"marks": dict(ecs_sim.IMAGES.marks)}

        if head == "config" and len(parts) == 1:
            if method == "POST":
                if "task_start_delay" in body:
                    delay = body["task_start_delay"]
                    if not isinstance(delay, (int, float)) or delay < 0:
                        raise ValueError("task_start_delay must be a non-negative number")
                    with ecs_sim.LOCK:
                        ecs_sim.CONFIG.task_start_delay = float(delay)
                if "bake_minute_seconds" in body:
                    bake = body["bake_minute_seconds"]
                    if not isinstance(bake, (int, float)) or bake < 0:
                        raise ValueError("bake_minute_seconds must be a non-negative number")
                    with ecs_sim.LOCK:
                        ecs_sim.CONFIG.bake_minute_seconds = float(bake)
            elif method != "GET":
                return 405, {"error": "use GET or POST"}
            return 200, {"task_start_delay": ecs_sim.CONFIG.task_start_delay,
                         "bake_minute_seconds": ecs_sim.CONFIG.bake_minute_seconds,
                         "region": self.region, "account": self.account}

        if head == "shapes" and len(parts) == 1:
            if method == "POST":
                if not isinstance(body, dict):
                    raise ValueError('expected {"enabled": true}')
                return 200, shapes.configure(body)
            if method == "DELETE":
                shapes.clear()
            elif method != "GET":
                return 405, {"error": "use GET, POST or DELETE"}
            return 200, shapes.state()

        if head == "rds" and len(parts) == 1:
            if method == "POST":
                if not isinstance(body, dict):
                    raise ValueError('expected {"restore_delay": S, "endpoint_address": "127.0.0.1"}')
                return 200, rds_sim.configure(body)
            if method != "GET":
                return 405, {"error": "use GET or POST"}
            return 200, rds_sim.state()

        if head == "exec_dirs" and len(parts) == 1:
            if method == "POST":
                if not isinstance(body, dict):
                    raise ValueError('expected {"container-name": "/abs/dir"}')
                for name, directory in body.items():
                    if directory is not None and (not isinstance(directory, str) or not os.path.isabs(directory)):
                        raise ValueError(f"{name}: the directory must be an absolute path")
                    if directory is not None and not os.path.isdir(directory):
                        raise ValueError(f"{name}: {directory} is not a directory")
                with ecs_sim.LOCK:
                    for name, directory in body.items():
                        if directory is None:
                            ecs_sim.CONFIG.exec_dirs.pop(name, None)
                        else:
                            ecs_sim.CONFIG.exec_dirs[name] = directory
            elif method == "DELETE":
                with ecs_sim.LOCK:
                    ecs_sim.CONFIG.exec_dirs.clear()
            elif method != "GET":
                return 405, {"error": "use GET, POST or DELETE"}
            return 200, dict(ecs_sim.CONFIG.exec_dirs)

        if head == "health" and len(parts) == 3 and method == "GET":
            return self.health(parts[1], parts[2])

        if head == "tasks" and len(parts) == 3 and parts[2] == "logs" and method == "GET":
            return self.task_logs(parts[1])

        if head == "fleet" and len(parts) == 1 and method == "GET":
            host = environ.get("HTTP_HOST") or f"127.0.0.1:{environ.get('SERVER_PORT')}"
            return 200, self.fleet(f"http://{host}")

        return 404, {"error": f"no control endpoint {method} /_sandbox/{'/'.join(parts)}"}

    def _ecs(self):
        from moto.ecs.models import ecs_backends

        return ecs_backends[self.account][self.region]

    def health(self, cluster_name: str, service_name: str) -> tuple[int, Any]:
        """The service's API as a load balancer would reach it.

        Traffic goes to the PRIMARY deployment's running tasks, or, while it has none yet (or it
        failed), to the running tasks of the older deployments.
        """
        with ecs_sim.LOCK:
            backend = self._ecs()
            if cluster_name not in backend.clusters:
                return 404, {"status": "unknown", "error": f"no cluster {cluster_name}"}
            service = backend.services.get(f"{cluster_name}:{service_name}")
            if service is None or service.status != "ACTIVE":
                return 404, {"status": "unknown", "error": f"no service {service_name}"}
            ecs_sim.advance_cluster(backend, cluster_name)
            sim = ecs_sim.sim_of(backend, service)
            serving = [d for d in sim.deployments if d.running_count > 0]
            if not serving:
                return 503, {"status": "unavailable", "error": "no running tasks"}
            deployment = serving[0]  # PRIMARY first
            kind = ecs_sim.IMAGES.classify_task_definition(deployment._td)
            image = next((c.get("image") for c in deployment._td.container_definitions), None)
            payload = {
                "taskDefinition": deployment.task_definition,
                "image": image,
                "deploymentId": deployment.id,
                "deploymentStatus": deployment.status,
            }
            if kind != "good":
                return 500, {"status": "error", "error": f"image is {kind}", **payload}
            return 200, {"status": "ok", **payload}

    def task_logs(self, task_id: str) -> tuple[int, Any]:
        with ecs_sim.LOCK:
            backend = self._ecs()
            task = ecs_sim.find_task(backend, task_id)
            if task is None:
                return 404, {"error": f"no task {task_id}"}
            ecs_sim.advance_cluster(backend, task.cluster_name)
            exec_info = getattr(task, "exec", None) or {}
            return 200, {
                "taskArn": task.task_arn,
                "lastStatus": task.last_status,
                "command": exec_info.get("command"),
                "cwd": exec_info.get("cwd"),
                "exitCode": exec_info.get("exit_code"),
                "stdout": exec_info.get("stdout", ""),
                "stderr": exec_info.get("stderr", ""),
            }
