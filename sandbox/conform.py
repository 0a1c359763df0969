"""moto's JSON answers trimmed to botocore's model, where moto 5.2 sends more than AWS does.

shapes.py found them (the e2e harness fails on any answer outside the model):

* ACM ListCertificates returns each certificate's whole DescribeCertificate record (Subject,
  Issuer, DomainValidationOptions, ...); AWS returns CertificateSummary members only. A client
  that read validation records from it would pass here and fail on AWS.
* Secrets Manager DescribeSecret sends absent members as null (DeletedDate, KmsKeyId, ...) and a
  member that is not in the model (SecretVersionsToStages; AWS's is VersionIdsToStages).
* CloudWatch Logs FilterLogEvents sends `"nextToken": null` on its last page; AWS leaves it out.

For each patched operation the answer is walked against the operation's output shape: nulls and
members the shape does not have are dropped, everything else is left as moto made it.
"""

from __future__ import annotations

import json
from typing import Any

# (botocore service, operation, moto responses module, class, method)
PATCHES = (
    ("acm", "ListCertificates", "moto.acm.responses", "AWSCertificateManagerResponse", "list_certificates"),
    ("secretsmanager", "DescribeSecret", "moto.secretsmanager.responses", "SecretsManagerResponse", "describe_secret"),
    ("logs", "FilterLogEvents", "moto.logs.responses", "LogsResponse", "filter_log_events"),
)


def trim(shape: Any, value: Any) -> Any:
    """`value` without nulls and without members `shape` does not have."""
    t = shape.type_name
    if t == "structure" and isinstance(value, dict):
        return {k: trim(shape.members[k], v) for k, v in value.items() if v is not None and k in shape.members}
    if t == "list" and isinstance(value, list):
        return [trim(shape.member, v) for v in value if v is not None]
    if t == "map" and isinstance(value, dict):
        return {k: trim(shape.value, v) for k, v in value.items() if v is not None}
    return value


def install() -> None:
    """Patches moto's responses. Idempotent."""
    import importlib

    import botocore.session

    session = botocore.session.get_session()
    for service, operation, module, cls_name, method in PATCHES:
        cls = getattr(importlib.import_module(module), cls_name)
        if getattr(cls, f"_sandbox_conform_{method}", False):
            continue
        output = session.get_service_model(service).operation_model(operation).output_shape
        original = getattr(cls, method)

        def patched(self, _original=original, _output=output):
            answer = _original(self)
            if not isinstance(answer, str):  # (body, headers) or an error: left alone
                return answer
            return json.dumps(trim(_output, json.loads(answer)))

        setattr(cls, method, patched)
        setattr(cls, f"_sandbox_conform_{method}", True)
