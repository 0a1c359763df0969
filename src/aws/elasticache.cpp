#include "aws/elasticache.hpp"

#include <cctype>

#include <fmt/format.h>
#include <pugixml.hpp>

#include "util/strings.hpp"

namespace rb::aws {

namespace {

// The largest port number (TCP ports are 16-bit).
constexpr long long kMaxPort = 65535;

Error bad_reply(std::string_view operation, std::string_view what) {
  return Error{ExitCode::Failed, fmt::format("ElastiCache {} returned a reply without {}", operation, what),
               "check that the ElastiCache endpoint (AWS_ENDPOINT_URL_ELASTICACHE / AWS_ENDPOINT_URL) really is "
               "ElastiCache",
               "bad-response"};
}

std::string text_of(const pugi::xml_node& parent, const char* name) { return trim(parent.child_value(name)); }

// An Endpoint {Address, Port}; false when it has no address.
bool read_endpoint(const pugi::xml_node& endpoint, std::string& address, int& port) {
  if (!endpoint) return false;
  std::string a = text_of(endpoint, "Address");
  if (a.empty()) return false;
  address = std::move(a);
  auto p = parse_decimal(text_of(endpoint, "Port"), 1, kMaxPort, "Port");
  port = p.ok() ? static_cast<int>(*p) : 0;
  return true;
}

}  // namespace

Status check_elasticache_identifier(std::string_view id, size_t max, std::string_view what) {
  bool ok = !id.empty() && id.size() <= max && std::isalpha(static_cast<unsigned char>(id.front())) &&
            id.back() != '-' && id.find("--") == std::string_view::npos;
  for (unsigned char c : id) ok = ok && (std::isalnum(c) || c == '-');
  if (ok) return {};
  return usage_error(fmt::format("'{}' is not a valid {}", std::string(id), what),
                     fmt::format("ElastiCache allows 1 to {} letters, digits and hyphens, starting with a letter, "
                                 "without a trailing hyphen or two hyphens in a row",
                                 max));
}

Result<std::vector<CacheCluster>> parse_cache_clusters(const std::string& xml) {
  pugi::xml_document doc;
  if (!doc.load_buffer(xml.data(), xml.size())) return bad_reply("DescribeCacheClusters", "valid XML");
  pugi::xml_node list = doc.select_node("//CacheClusters").node();
  if (!list) return bad_reply("DescribeCacheClusters", "CacheClusters");
  std::vector<CacheCluster> out;
  for (const auto& n : list.children()) {
    CacheCluster c;
    c.id = text_of(n, "CacheClusterId");
    if (c.id.empty()) return bad_reply("DescribeCacheClusters", "a CacheClusterId in every cluster");
    c.status = text_of(n, "CacheClusterStatus");
    c.engine = text_of(n, "Engine");
    c.replication_group = text_of(n, "ReplicationGroupId");
    // Memcached has a configuration endpoint; Redis (cluster mode off) one endpoint per node.
    if (!read_endpoint(n.child("ConfigurationEndpoint"), c.address, c.port))
      for (const auto& node : n.child("CacheNodes").children())
        if (read_endpoint(node.child("Endpoint"), c.address, c.port)) break;
    for (const auto& m : n.child("SecurityGroups").children())
      if (auto id = text_of(m, "SecurityGroupId"); !id.empty()) c.security_groups.push_back(std::move(id));
    out.push_back(std::move(c));
  }
  return out;
}

Result<std::vector<ReplicationGroup>> parse_replication_groups(const std::string& xml) {
  pugi::xml_document doc;
  if (!doc.load_buffer(xml.data(), xml.size())) return bad_reply("DescribeReplicationGroups", "valid XML");
  pugi::xml_node list = doc.select_node("//ReplicationGroups").node();
  if (!list) return bad_reply("DescribeReplicationGroups", "ReplicationGroups");
  std::vector<ReplicationGroup> out;
  for (const auto& n : list.children()) {
    ReplicationGroup g;
    g.id = text_of(n, "ReplicationGroupId");
    if (g.id.empty()) return bad_reply("DescribeReplicationGroups", "a ReplicationGroupId in every group");
    g.status = text_of(n, "Status");
    if (!read_endpoint(n.child("ConfigurationEndpoint"), g.address, g.port))
      for (const auto& ng : n.child("NodeGroups").children())
        if (read_endpoint(ng.child("PrimaryEndpoint"), g.address, g.port)) break;
    for (const auto& m : n.child("MemberClusters").children())
      if (auto id = trim(m.child_value()); !id.empty()) g.member_clusters.push_back(std::move(id));
    out.push_back(std::move(g));
  }
  return out;
}

Result<CacheCluster> describe_cache_cluster(AwsClient& client, const std::string& id) {
  RB_TRY_ASSIGN(std::string body, client.query_call("DescribeCacheClusters", kElastiCacheApiVersion,
                                                    {{"CacheClusterId", id}, {"ShowCacheNodeInfo", "true"}}));
  RB_TRY_ASSIGN(auto clusters, parse_cache_clusters(body));
  for (auto& c : clusters)
    if (c.id == id) return std::move(c);
  return failure(fmt::format("ElastiCache DescribeCacheClusters did not return cache cluster {}", id),
                 "check the environment's redis.cache_cluster in rollback.yaml");
}

Result<ReplicationGroup> describe_replication_group(AwsClient& client, const std::string& id) {
  RB_TRY_ASSIGN(std::string body, client.query_call("DescribeReplicationGroups", kElastiCacheApiVersion,
                                                    {{"ReplicationGroupId", id}}));
  RB_TRY_ASSIGN(auto groups, parse_replication_groups(body));
  for (auto& g : groups)
    if (g.id == id) return std::move(g);
  return failure(fmt::format("ElastiCache DescribeReplicationGroups did not return replication group {}", id),
                 "check the environment's redis.replication_group in rollback.yaml");
}

}  // namespace rb::aws
