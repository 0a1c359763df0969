"""Every answer the sandbox gives, checked against botocore's model of the operation.

The sandbox is moto extended by hand (ecs_sim.py, rds_sim.py); a field it invents, misspells or
types wrongly would let the tool pass tests that real AWS would fail. With checking on
(``server.py --check-shapes`` or ``POST /_sandbox/shapes {"enabled": true}``), every successful
JSON-protocol (ECS, DynamoDB, ACM, Secrets Manager, ...) and Query-protocol (RDS, ELBv2, STS,
CloudWatch, ElastiCache; EC2's dialect too) answer is checked against the output shape of
botocore's model on this machine:

* JSON answers are walked raw: every member must exist in the shape (no invented fields), have
  the shape's type, and an enum's value must be one of the model's;
* Query answers are parsed with botocore's own parser (which fails on malformed numbers, booleans
  and timestamps) and then walked for enums and types.

Required members are not checked: botocore's output shapes mark almost none, and real AWS omits
empty ones. REST protocols (S3, Route 53) are not checked: their operations are named by URL
templates, not by a header or an Action parameter.

Problems are kept (``GET /_sandbox/shapes``) for the test harness, which fails a test class whose
sandbox answered outside the model.
"""

from __future__ import annotations

import datetime
import io
import json
import threading
import urllib.parse
from typing import Any

LOCK = threading.Lock()
MAX_VIOLATIONS = 200

_state: dict[str, Any] = {"enabled": False, "checked": 0, "violations": [], "skipped": {}}
_models: dict[tuple[str, str], Any] | None = None  # (protocol key, name) -> ServiceModel
_session = None

# Services whose answers are checked, by botocore service name.
SERVICES = ("ecs", "dynamodb", "acm", "secretsmanager", "logs", "cloudwatch", "elbv2", "elb", "rds", "sts", "ec2",
            "elasticache", "iam")


def _load_models() -> dict[tuple[str, str], Any]:
    global _models, _session
    if _models is not None:
        return _models
    import botocore.session

    _session = botocore.session.get_session()
    models: dict[tuple[str, str], Any] = {}
    for name in SERVICES:
        try:
            m = _session.get_service_model(name)
        except Exception:  # noqa: BLE001 - a service missing from this botocore: not checked
            continue
        prefix = m.metadata.get("targetPrefix")
        if prefix:
            models[("json", prefix)] = m
        signing = m.metadata.get("signingName") or m.metadata.get("endpointPrefix")
        models[("query", f"{signing}/{m.api_version}")] = m
    _models = models
    return models


def configure(body: dict[str, Any]) -> dict[str, Any]:
    with LOCK:
        if "enabled" in body:
            _state["enabled"] = bool(body["enabled"])
    return state()


def clear() -> None:
    with LOCK:
        _state["checked"] = 0
        _state["violations"] = []
        _state["skipped"] = {}


def state() -> dict[str, Any]:
    with LOCK:
        return {"enabled": _state["enabled"], "checked": _state["checked"],
                "violations": list(_state["violations"]), "skipped": dict(_state["skipped"])}


def enabled() -> bool:
    return _state["enabled"]


def _type_ok(type_name: str, value: Any, raw_json: bool) -> bool:
    if type_name in ("string", "blob"):
        return isinstance(value, str) or (not raw_json and isinstance(value, bytes))
    if type_name in ("integer", "long"):
        return isinstance(value, int) and not isinstance(value, bool)
    if type_name in ("double", "float"):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if type_name == "boolean":
        return isinstance(value, bool)
    if type_name == "timestamp":
        if raw_json:  # epoch seconds (JSON protocol) or ISO text
            return isinstance(value, (int, float, str)) and not isinstance(value, bool)
        return isinstance(value, datetime.datetime)
    if type_name == "list":
        return isinstance(value, list)
    if type_name in ("map", "structure"):
        return isinstance(value, dict)
    return True


def walk(shape: Any, value: Any, path: str, problems: list[str], raw_json: bool) -> None:
    """Checks `value` against `shape`, appending "path: problem" lines."""
    if len(problems) >= 20:
        return
    t = shape.type_name
    if value is None:
        if raw_json:
            problems.append(f"{path}: null (botocore models have no nulls; omit the member)")
        return
    if not _type_ok(t, value, raw_json):
        problems.append(f"{path}: {type(value).__name__} where the model says {t}")
        return
    if t == "structure":
        for key, v in value.items():
            if key == "ResponseMetadata" and not raw_json:
                continue
            member = shape.members.get(key)
            if member is None:
                if raw_json:
                    problems.append(f"{path}.{key}: not a member of {shape.name}")
                continue
            walk(member, v, f"{path}.{key}", problems, raw_json)
    elif t == "list":
        for i, v in enumerate(value):
            walk(shape.member, v, f"{path}[{i}]", problems, raw_json)
    elif t == "map":
        for k, v in value.items():
            walk(shape.value, v, f"{path}[{k!r}]", problems, raw_json)
    elif t == "string" and shape.enum and value not in shape.enum:
        problems.append(f"{path}: {value!r} is not one of {shape.name}'s values")


def _record(service: str, operation: str, problems: list[str]) -> None:
    with LOCK:
        _state["checked"] += 1
        if problems and len(_state["violations"]) < MAX_VIOLATIONS:
            _state["violations"].append({"service": service, "operation": operation, "problems": problems})


def _skip(why: str) -> None:
    with LOCK:
        _state["skipped"][why] = _state["skipped"].get(why, 0) + 1


def _operation(model: Any, operation: str, key: str) -> Any:
    """The operation's model when its answer has an output shape to check, else None (a model
    this botocore lacks is counted as skipped; an operation the model lacks is a violation)."""
    if model is None:
        _skip(key)
        return None
    try:
        op = model.operation_model(operation)
    except Exception:  # noqa: BLE001 - botocore raises OperationNotFoundError
        _record(model.service_name, operation, [f"{operation}: not an operation of {model.service_name}"])
        return None
    return op if op.output_shape is not None else None


def check(protocol: str, environ: dict[str, Any], operation: str, request_body: bytes | None, status: int,
          headers: list[tuple[str, str]], body: bytes) -> None:
    """Checks one answer; called by control.SandboxApp for successful answers while enabled."""
    if not (200 <= status < 300):
        return
    models = _load_models()
    if protocol == "json":
        prefix = (environ.get("HTTP_X_AMZ_TARGET") or "").rpartition(".")[0]
        model = models.get(("json", prefix))
        op = _operation(model, operation, f"json:{prefix}")
        if op is None:
            return
        try:
            doc = json.loads(body or b"{}")
        except ValueError as e:
            _record(model.service_name, operation, [f"the answer is not JSON: {e}"])
            return
        problems: list[str] = []
        walk(op.output_shape, doc, operation, problems, raw_json=True)
        _record(model.service_name, operation, problems)
        return
    if protocol == "query":
        params = urllib.parse.parse_qs((request_body or b"").decode("utf-8", "replace"))
        params.update(urllib.parse.parse_qs(environ.get("QUERY_STRING", "")))
        version = (params.get("Version") or [""])[0]
        auth = environ.get("HTTP_AUTHORIZATION", "")
        signing = ""
        marker = "/aws4_request"
        if marker in auth:
            scope = auth.split("Credential=", 1)[-1].split(",", 1)[0]
            parts = scope.split("/")
            signing = parts[3] if len(parts) >= 5 else ""
        model = models.get(("query", f"{signing}/{version}"))
        op = _operation(model, operation, f"query:{signing}/{version}")
        if op is None:
            return
        import botocore.parsers

        parser = botocore.parsers.create_parser("ec2" if model.protocol == "ec2" else "query")
        response = {"status_code": status, "headers": dict(headers), "body": body}
        try:
            parsed = parser.parse(response, op.output_shape)
        except Exception as e:  # noqa: BLE001 - any parser failure is the finding
            _record(model.service_name, operation, [f"botocore cannot parse the answer: {e}"])
            return
        problems = []
        walk(op.output_shape, parsed, operation, problems, raw_json=False)
        _record(model.service_name, operation, problems)
        return
    _skip(protocol)


def buffered_body(environ: dict[str, Any]) -> bytes | None:
    """The request body of a form-encoded request, leaving it readable for moto."""
    if not environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        return None
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length > 0 else b""
    environ["wsgi.input"] = io.BytesIO(body)
    return body
