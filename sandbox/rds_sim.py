"""RDS behaviour moto 5.2 lacks, for point-in-time recovery (``rollback db pitr``).

moto's RestoreDBInstanceToPointInTime makes the new instance ``available`` at once, ignores
RestoreTime, and gives every instance an endpoint under ``*.rds.amazonaws.com`` that resolves
nowhere. Real RDS (API reference, RestoreDBInstanceToPointInTime):

* refuses a RestoreTime outside the restorable window with ``InvalidRestoreFault`` (HTTP 400),
  and a TargetDBInstanceIdentifier that exists with ``DBInstanceAlreadyExists``;
* creates the instance over minutes: DBInstanceStatus ``creating`` (then e.g. ``backing-up``)
  before ``available``, with no Endpoint until it is reachable.

moto's RestoreDBClusterToPointInTime likewise ignores RestoreToTime, answers an existing
DBClusterIdentifier with a DBClusterSnapshotAlreadyExistsFault, and the cluster is ``available``
from its second read. Real RDS (API reference, RestoreDBClusterToPointInTime): a RestoreToTime
outside [EarliestRestorableTime, LatestRestorableTime] is ``InvalidRestoreFault``, an existing
cluster ``DBClusterAlreadyExistsFault``; the restored cluster has no instance, and "you can
create DB instances only after the RestoreDBClusterToPointInTime action has completed and the
DB cluster is available" (CreateDBInstance before then: ``InvalidDBClusterStateFault``).

This module patches moto's RDS backend (never site-packages) so that:

* a restore checks RestoreTime against [InstanceCreateTime or now - retention, now], a cluster
  restore RestoreToTime against [EarliestRestorableTime, now];
* the restored instance, the restored cluster, and an instance created in a restored cluster
  are ``creating`` for ``CONFIG.restore_delay`` seconds, then ``available``; CreateDBInstance in
  a restored cluster that is still ``creating`` is refused;
* ``CONFIG.endpoint_address``, when set (control API ``POST /_sandbox/rds``), replaces every
  instance's and cluster's endpoint address (the port is the instance's or cluster's own), so
  that a client's connection to "the restored database" reaches a real local PostgreSQL.
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
# DBClusterIdentifier -> time.monotonic() when the restored cluster becomes available.
CLUSTER_READY_AT: dict[str, float] = {}


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
    from moto.rds.models import DBCluster, DBInstance, RDSBackend

    if getattr(RDSBackend, "_sandbox_patched", False):
        return

    original_restore = RDSBackend.restore_db_instance_to_point_in_time
    original_describe = RDSBackend.describe_db_instances
    original_address = DBInstance.address
    original_restore_cluster = RDSBackend.restore_db_cluster_to_point_in_time
    original_create_instance = RDSBackend.create_db_instance
    original_cluster_status = DBCluster.status
    original_cluster_endpoint = DBCluster.endpoint

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

    def restore_cluster(self, db_cluster_identifier, source_db_cluster_identifier, restore_type="full-copy",
                        restore_to_time=None, use_latest_restorable_time=False, **overrides):
        if db_cluster_identifier in self.clusters or db_cluster_identifier.lower() in self.clusters:
            raise RDSClientError("DBClusterAlreadyExistsFault", f"DB Cluster already exists: {db_cluster_identifier}")
        source = self.describe_db_clusters(db_cluster_identifier=source_db_cluster_identifier)[0]
        when = _parse_time(restore_to_time)
        if when is not None:
            now = datetime.datetime.now(datetime.timezone.utc)
            earliest = _parse_time(source.earliest_restorable_time) or now
            if when < earliest or when > now:
                raise RDSClientError(
                    "InvalidRestoreFault",
                    f"Restore time {when.isoformat()} is not within the restorable window of "
                    f"{source_db_cluster_identifier}",
                )
        cluster = original_restore_cluster(self, db_cluster_identifier, source_db_cluster_identifier,
                                           restore_type=restore_type, restore_to_time=restore_to_time,
                                           use_latest_restorable_time=use_latest_restorable_time, **overrides)
        cluster._sandbox_restored = True
        with LOCK:
            CLUSTER_READY_AT[cluster.db_cluster_identifier] = time.monotonic() + CONFIG.restore_delay
        return cluster

    def cluster_status(self):
        with LOCK:
            ready = CLUSTER_READY_AT.get(self.db_cluster_identifier)
            if ready is not None:
                if time.monotonic() < ready:
                    return "creating"
                del CLUSTER_READY_AT[self.db_cluster_identifier]
                self._status = "available"
        return original_cluster_status.fget(self)

    def create_instance(self, db_kwargs):
        cluster_id = db_kwargs.get("db_cluster_identifier")
        restored = False
        if cluster_id:
            cluster = self.clusters.get(cluster_id) or self.clusters.get(cluster_id.lower())
            restored = cluster is not None and bool(getattr(cluster, "_sandbox_restored", False))
            # Only restored clusters: moto makes a created one `available` at its second read,
            # and tests that seed a cluster add its instances at once.
            if restored and cluster.status != "available":
                raise RDSClientError(
                    "InvalidDBClusterStateFault",
                    f"DB cluster {cluster_id} is not in the available state: instances are created in an "
                    "available cluster only",
                )
        instance = original_create_instance(self, db_kwargs)
        if restored:
            with LOCK:
                READY_AT[instance.db_instance_identifier] = time.monotonic() + CONFIG.restore_delay
                if CONFIG.restore_delay > 0:
                    instance.status = "creating"
        return instance

    def cluster_endpoint(self):
        return CONFIG.endpoint_address or original_cluster_endpoint.fget(self)

    RDSBackend.restore_db_instance_to_point_in_time = restore
    RDSBackend.restore_db_cluster_to_point_in_time = restore_cluster
    RDSBackend.create_db_instance = create_instance
    DBCluster.status = property(cluster_status, original_cluster_status.fset)
    DBCluster.endpoint = property(cluster_endpoint)
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
