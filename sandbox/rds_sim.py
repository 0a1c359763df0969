"""RDS behaviour moto 5.2 lacks, for point-in-time recovery (``rollback db pitr``).

moto's RestoreDBInstanceToPointInTime makes the new instance ``available`` at once, ignores
RestoreTime, and gives every instance an endpoint under ``*.rds.amazonaws.com`` that resolves
nowhere. Real RDS (API reference, RestoreDBInstanceToPointInTime):

* refuses a RestoreTime outside the restorable window with ``InvalidRestoreFault`` (HTTP 400),
  and a TargetDBInstanceIdentifier that exists with ``DBInstanceAlreadyExists``;
* creates the instance over minutes: DBInstanceStatus ``creating`` (then e.g. ``backing-up``)
  before ``available``, with no Endpoint until it is reachable.

This module patches moto's RDS backend (never site-packages) so that:

* a restore checks RestoreTime against [InstanceCreateTime or now - retention, now];
* the restored instance is ``creating`` for ``CONFIG.restore_delay`` seconds, then
  ``available``;
* ``CONFIG.endpoint_address``, when set (control API ``POST /_sandbox/rds``), replaces every
  instance's endpoint address (the port is the instance's own), so that a client's connection
  to "the restored database" reaches a real local PostgreSQL.
"""

from __future__ import annotations

import datetime
import threading
import time
from dataclasses import dataclass
from typing import Any

LOCK = threading.RLock()


@dataclass
class Config:
    restore_delay: float = 2.0
    endpoint_address: str | None = None


CONFIG = Config()
# DBInstanceIdentifier -> time.monotonic() when the restored instance becomes available.
READY_AT: dict[str, float] = {}


def _parse_time(value: Any) -> datetime.datetime | None:
    if isinstance(value, datetime.datetime):
        return value if value.tzinfo else value.replace(tzinfo=datetime.timezone.utc)
    if not isinstance(value, str) or not value:
        return None
    try:
        t = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=datetime.timezone.utc)


def install() -> None:
    """Patches moto's RDS backend. Idempotent."""
    from moto.rds.exceptions import RDSClientError
    from moto.rds.models import DBInstance, RDSBackend

    if getattr(RDSBackend, "_sandbox_patched", False):
        return

    original_restore = RDSBackend.restore_db_instance_to_point_in_time
    original_describe = RDSBackend.describe_db_instances
    original_address = DBInstance.address

    def restore(self, source_db_identifier, target_db_identifier, overrides):
        if target_db_identifier in self.databases:
            raise RDSClientError("DBInstanceAlreadyExists", f"DB instance already exists: {target_db_identifier}")
        source = self.describe_db_instances(db_instance_identifier=source_db_identifier)[0]
        when = _parse_time(overrides.get("RestoreTime") or overrides.get("restore_time"))
        if when is not None:
            now = datetime.datetime.now(datetime.timezone.utc)
            retention = int(getattr(source, "backup_retention_period", 0) or 0)
            created = _parse_time(getattr(source, "instance_create_time", None)) or now
            earliest = max(created, now - datetime.timedelta(days=retention))
            if retention == 0 or when < earliest or when > now:
                raise RDSClientError(
                    "InvalidRestoreFault",
                    f"Restore time {when.isoformat()} is not within the restorable window of {source_db_identifier}",
                )
        instance = original_restore(self, source_db_identifier, target_db_identifier, overrides)
        with LOCK:
            READY_AT[target_db_identifier] = time.monotonic() + CONFIG.restore_delay
            if CONFIG.restore_delay > 0:
                instance.status = "creating"
        return instance

    def describe(self, db_instance_identifier=None, filters=None):
        with LOCK:
            now = time.monotonic()
            for name, ready in list(READY_AT.items()):
                if now >= ready and name in self.databases:
                    self.databases[name].status = "available"
                    del READY_AT[name]
        return original_describe(self, db_instance_identifier=db_instance_identifier, filters=filters)

    def address(self):
        return CONFIG.endpoint_address or original_address.fget(self)

    RDSBackend.restore_db_instance_to_point_in_time = restore
    RDSBackend.describe_db_instances = describe
    DBInstance.address = property(address)
    RDSBackend._sandbox_patched = True


def configure(body: dict[str, Any]) -> dict[str, Any]:
    """The control API's ``POST /_sandbox/rds``: restore_delay, endpoint_address."""
    with LOCK:
        if "restore_delay" in body:
            delay = body["restore_delay"]
            if not isinstance(delay, (int, float)) or delay < 0:
                raise ValueError("restore_delay must be a non-negative number")
            CONFIG.restore_delay = float(delay)
        if "endpoint_address" in body:
            address = body["endpoint_address"]
            if address is not None and not isinstance(address, str):
                raise ValueError("endpoint_address must be a string or null")
            CONFIG.endpoint_address = address or None
        return state()


def state() -> dict[str, Any]:
    with LOCK:
        return {"restore_delay": CONFIG.restore_delay, "endpoint_address": CONFIG.endpoint_address}
