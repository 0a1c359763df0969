"""What moto 5.2 leaves out of the network view diagnose reads, added at startup (never in
site-packages).

moto's ElastiCache keeps a cache cluster's ``SecurityGroupIds`` and ``Port`` but
DescribeCacheClusters returns neither: the reply has no ``SecurityGroups`` and no ``CacheNodes``
(so no endpoint). Real ElastiCache returns ``SecurityGroups`` (``SecurityGroupMembership``:
``SecurityGroupId``, ``Status``) always and ``CacheNodes`` (``CacheNode``: ``CacheNodeId``,
``CacheNodeStatus``, ``Endpoint {Address, Port}``) with ``ShowCacheNodeInfo=true``
(botocore elasticache/2015-02-02). moto serializes its model objects through botocore's shapes,
picking each member by its snake_case name, so the two members are added as properties of
moto's ``CacheCluster``; the serializer only emits members the model has. ``CacheNodes`` is
returned whether or not ShowCacheNodeInfo was asked for (the model object does not see the
request): a client that asks for it, as rollback does, sees what ElastiCache sends.
"""

from __future__ import annotations

from typing import Any

from moto.elasticache.models import CacheCluster

# The DNS suffix of a cache node's endpoint (real ones end in .cache.amazonaws.com).
ENDPOINT_SUFFIX = "cache.amazonaws.com"


def _security_groups(self: CacheCluster) -> list[dict[str, Any]]:
    return [{"SecurityGroupId": sg, "Status": "active"} for sg in (self.security_group_ids or [])]


def _cache_nodes(self: CacheCluster) -> list[dict[str, Any]]:
    region = self.arn.split(":")[3] if self.arn.count(":") >= 3 else "us-east-1"
    nodes = []
    for i in range(1, (getattr(self, "num_cache_nodes", None) or 1) + 1):
        node_id = f"{i:04d}"
        nodes.append({
            "CacheNodeId": node_id,
            "CacheNodeStatus": self.cache_cluster_status,
            "CacheNodeCreateTime": self.cache_cluster_create_time,
            "Endpoint": {"Address": f"{self.cache_cluster_id}.{node_id}.{region}.{ENDPOINT_SUFFIX}",
                         "Port": self.port},
        })
    return nodes


def install() -> None:
    """Adds the members to moto's CacheCluster. Idempotent."""
    if getattr(CacheCluster, "_sandbox_patched", False):
        return
    CacheCluster.security_groups = property(_security_groups)
    CacheCluster.cache_nodes = property(_cache_nodes)
    CacheCluster._sandbox_patched = True
