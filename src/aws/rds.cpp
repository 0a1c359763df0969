#include "aws/rds.hpp"

#include <fmt/format.h>
#include <pugixml.hpp>

#include <cctype>

#include "util/strings.hpp"

namespace rb::aws {

namespace {

Error bad_reply(std::string_view operation, std::string_view what) {
  return Error{ExitCode::Failed, fmt::format("RDS {} returned a reply without {}", operation, what),
               "check that the RDS endpoint (AWS_ENDPOINT_URL_RDS / AWS_ENDPOINT_URL) really is RDS", "bad-response"};
}

std::string text_of(const pugi::xml_node& parent, const char* name) { return trim(parent.child_value(name)); }

// The largest port number (TCP ports are 16-bit).
constexpr long long kMaxPort = 65535;

}  // namespace

Status check_rds_identifier(std::string_view id, size_t max, std::string_view what) {
  bool ok = !id.empty() && id.size() <= max && std::isalpha(static_cast<unsigned char>(id.front())) &&
            id.back() != '-' && id.find("--") == std::string_view::npos;
  for (unsigned char c : id) ok = ok && (std::isalnum(c) || c == '-');
  if (ok) return {};
  return usage_error(fmt::format("'{}' is not a valid {}", std::string(id), what),
                     fmt::format("RDS allows 1 to {} letters, digits and hyphens, starting with a letter, without a "
                                 "trailing hyphen or two hyphens in a row",
                                 max));
}

Result<DbSnapshot> parse_db_snapshot(const std::string& xml, std::string_view operation, bool cluster) {
  pugi::xml_document doc;
  if (!doc.load_buffer(xml.data(), xml.size())) return bad_reply(operation, "valid XML");
  const char* element = cluster ? "//DBClusterSnapshot" : "//DBSnapshot";
  pugi::xml_node n = doc.select_node(element).node();
  if (!n) return bad_reply(operation, cluster ? "a DBClusterSnapshot" : "a DBSnapshot");
  DbSnapshot s;
  s.cluster = cluster;
  s.identifier = text_of(n, cluster ? "DBClusterSnapshotIdentifier" : "DBSnapshotIdentifier");
  s.source = text_of(n, cluster ? "DBClusterIdentifier" : "DBInstanceIdentifier");
  s.arn = text_of(n, cluster ? "DBClusterSnapshotArn" : "DBSnapshotArn");
  s.status = text_of(n, "Status");
  s.create_time = text_of(n, "SnapshotCreateTime");
  // PercentProgress: 0..100, absent in some replies (moto leaves it out of cluster snapshots).
  if (auto p = parse_decimal(text_of(n, "PercentProgress"), 0, 100, "PercentProgress"); p.ok())
    s.percent_progress = static_cast<int>(*p);
  if (s.identifier.empty() || s.status.empty()) return bad_reply(operation, "a snapshot identifier and status");
  return s;
}

Result<DbSnapshot> create_db_snapshot(AwsClient& client, const std::string& instance, const std::string& snapshot) {
  RB_TRY_ASSIGN(std::string body, client.query_call("CreateDBSnapshot", kRdsApiVersion,
                                                    {{"DBInstanceIdentifier", instance},
                                                     {"DBSnapshotIdentifier", snapshot}}));
  return parse_db_snapshot(body, "CreateDBSnapshot", false);
}

Result<DbSnapshot> create_db_cluster_snapshot(AwsClient& client, const std::string& cluster,
                                              const std::string& snapshot) {
  RB_TRY_ASSIGN(std::string body, client.query_call("CreateDBClusterSnapshot", kRdsApiVersion,
                                                    {{"DBClusterIdentifier", cluster},
                                                     {"DBClusterSnapshotIdentifier", snapshot}}));
  return parse_db_snapshot(body, "CreateDBClusterSnapshot", true);
}

Result<DbSnapshot> describe_db_snapshot(AwsClient& client, const std::string& snapshot) {
  RB_TRY_ASSIGN(std::string body,
                client.query_call("DescribeDBSnapshots", kRdsApiVersion, {{"DBSnapshotIdentifier", snapshot}}));
  return parse_db_snapshot(body, "DescribeDBSnapshots", false);
}

Result<DbSnapshot> describe_db_cluster_snapshot(AwsClient& client, const std::string& snapshot) {
  RB_TRY_ASSIGN(std::string body, client.query_call("DescribeDBClusterSnapshots", kRdsApiVersion,
                                                    {{"DBClusterSnapshotIdentifier", snapshot}}));
  return parse_db_snapshot(body, "DescribeDBClusterSnapshots", true);
}

namespace {

// One DBInstance element; an instance without an identifier or status is a bad reply.
Result<DbInstance> instance_of(const pugi::xml_node& n, std::string_view operation) {
  DbInstance d;
  d.identifier = text_of(n, "DBInstanceIdentifier");
  d.status = text_of(n, "DBInstanceStatus");
  d.instance_class = text_of(n, "DBInstanceClass");
  d.engine = text_of(n, "Engine");
  d.address = text_of(n.child("Endpoint"), "Address");
  // Ports and sizes: within their API ranges, else left at 0 ("unknown").
  for (const char* port : {"Endpoint/Port", "DbInstancePort"}) {
    pugi::xml_node p = n.select_node(port).node();
    if (auto v = parse_decimal(trim(p.child_value()), 1, kMaxPort, "Port"); p && v.ok()) {
      d.port = static_cast<int>(*v);
      break;
    }
  }
  if (auto s = parse_decimal(text_of(n, "AllocatedStorage"), 0, 1LL << 30, "AllocatedStorage"); s.ok())
    d.allocated_storage_gib = *s;
  if (auto r = parse_decimal(text_of(n, "BackupRetentionPeriod"), 0, 35, "BackupRetentionPeriod"); r.ok())
    d.backup_retention_days = static_cast<int>(*r);
  d.create_time = text_of(n, "InstanceCreateTime");
  d.latest_restorable_time = text_of(n, "LatestRestorableTime");
  d.subnet_group = text_of(n.child("DBSubnetGroup"), "DBSubnetGroupName");
  for (const auto& m : n.child("VpcSecurityGroups").children())
    if (auto id = text_of(m, "VpcSecurityGroupId"); !id.empty()) d.security_groups.push_back(std::move(id));
  d.parameter_group = text_of(n.child("DBParameterGroups").child("DBParameterGroup"), "DBParameterGroupName");
  d.multi_az = text_of(n, "MultiAZ") == "true";
  d.publicly_accessible = text_of(n, "PubliclyAccessible") == "true";
  d.cluster = text_of(n, "DBClusterIdentifier");
  if (d.identifier.empty() || d.status.empty()) return bad_reply(operation, "an instance identifier and status");
  return d;
}

}  // namespace

Result<DbInstance> parse_db_instance(const std::string& xml, std::string_view operation) {
  pugi::xml_document doc;
  if (!doc.load_buffer(xml.data(), xml.size())) return bad_reply(operation, "valid XML");
  pugi::xml_node n = doc.select_node("//DBInstance").node();
  if (!n) return bad_reply(operation, "a DBInstance");
  return instance_of(n, operation);
}

Result<std::vector<DbInstance>> parse_db_instances(const std::string& xml) {
  pugi::xml_document doc;
  if (!doc.load_buffer(xml.data(), xml.size())) return bad_reply("DescribeDBInstances", "valid XML");
  pugi::xml_node list = doc.select_node("//DBInstances").node();
  if (!list) return bad_reply("DescribeDBInstances", "DBInstances");
  std::vector<DbInstance> out;
  for (const auto& n : list.children()) {
    RB_TRY_ASSIGN(auto d, instance_of(n, "DescribeDBInstances"));
    out.push_back(std::move(d));
  }
  return out;
}

Result<DbInstance> describe_db_instance(AwsClient& client, const std::string& instance) {
  RB_TRY_ASSIGN(std::string body,
                client.query_call("DescribeDBInstances", kRdsApiVersion, {{"DBInstanceIdentifier", instance}}));
  RB_TRY_ASSIGN(auto instances, parse_db_instances(body));
  for (auto& d : instances)
    if (d.identifier == instance) return std::move(d);
  return failure(fmt::format("RDS DescribeDBInstances did not return instance {}", instance),
                 "check the environment's database.rds_instance in rollback.yaml");
}

namespace {

// Lists of the Query protocol: Name.<member locationName>.N, counted from 1 (botocore's
// QuerySerializer; VpcSecurityGroupIdList's member is "VpcSecurityGroupId", TagList's "Tag").
void add_security_groups(QueryParams& params, const std::vector<std::string>& groups) {
  for (size_t i = 0; i < groups.size(); ++i)
    params.push_back({fmt::format("VpcSecurityGroupIds.VpcSecurityGroupId.{}", i + 1), groups[i]});
}

void add_tags(QueryParams& params, const std::vector<std::pair<std::string, std::string>>& tags) {
  for (size_t i = 0; i < tags.size(); ++i) {
    params.push_back({fmt::format("Tags.Tag.{}.Key", i + 1), tags[i].first});
    params.push_back({fmt::format("Tags.Tag.{}.Value", i + 1), tags[i].second});
  }
}

}  // namespace

Result<DbInstance> restore_db_instance_to_point_in_time(AwsClient& client, const PointInTimeRestore& r) {
  QueryParams params = {{"SourceDBInstanceIdentifier", r.source},
                        {"TargetDBInstanceIdentifier", r.target},
                        {"RestoreTime", r.restore_time},
                        {"MultiAZ", r.multi_az ? "true" : "false"},
                        {"PubliclyAccessible", r.publicly_accessible ? "true" : "false"}};
  if (!r.instance_class.empty()) params.push_back({"DBInstanceClass", r.instance_class});
  if (!r.subnet_group.empty()) params.push_back({"DBSubnetGroupName", r.subnet_group});
  if (!r.parameter_group.empty()) params.push_back({"DBParameterGroupName", r.parameter_group});
  add_security_groups(params, r.security_groups);
  add_tags(params, r.tags);
  CallOptions once;
  once.idempotent = false;
  RB_TRY_ASSIGN(std::string body, client.query_call("RestoreDBInstanceToPointInTime", kRdsApiVersion, params, once));
  return parse_db_instance(body, "RestoreDBInstanceToPointInTime");
}

std::string DbCluster::writer() const {
  for (const auto& m : members)
    if (m.writer) return m.instance;
  return {};
}

Result<DbCluster> parse_db_cluster(const std::string& xml, std::string_view operation) {
  pugi::xml_document doc;
  if (!doc.load_buffer(xml.data(), xml.size())) return bad_reply(operation, "valid XML");
  pugi::xml_node n = doc.select_node("//DBCluster").node();
  if (!n) return bad_reply(operation, "a DBCluster");
  DbCluster c;
  c.identifier = text_of(n, "DBClusterIdentifier");
  c.status = text_of(n, "Status");
  c.engine = text_of(n, "Engine");
  c.endpoint = text_of(n, "Endpoint");
  if (auto p = parse_decimal(text_of(n, "Port"), 1, kMaxPort, "Port"); p.ok()) c.port = static_cast<int>(*p);
  if (auto r = parse_decimal(text_of(n, "BackupRetentionPeriod"), 0, 35, "BackupRetentionPeriod"); r.ok())
    c.backup_retention_days = static_cast<int>(*r);
  c.create_time = text_of(n, "ClusterCreateTime");
  c.earliest_restorable_time = text_of(n, "EarliestRestorableTime");
  c.latest_restorable_time = text_of(n, "LatestRestorableTime");
  c.subnet_group = text_of(n, "DBSubnetGroup");
  for (const auto& m : n.child("VpcSecurityGroups").children())
    if (auto id = text_of(m, "VpcSecurityGroupId"); !id.empty()) c.security_groups.push_back(std::move(id));
  c.parameter_group = text_of(n, "DBClusterParameterGroup");
  for (const auto& m : n.child("DBClusterMembers").children())
    if (auto id = text_of(m, "DBInstanceIdentifier"); !id.empty())
      c.members.push_back({std::move(id), text_of(m, "IsClusterWriter") == "true"});
  if (c.identifier.empty() || c.status.empty()) return bad_reply(operation, "a cluster identifier and status");
  return c;
}

Result<DbCluster> describe_db_cluster(AwsClient& client, const std::string& cluster) {
  RB_TRY_ASSIGN(std::string body,
                client.query_call("DescribeDBClusters", kRdsApiVersion, {{"DBClusterIdentifier", cluster}}));
  RB_TRY_ASSIGN(auto c, parse_db_cluster(body, "DescribeDBClusters"));
  if (c.identifier != cluster)
    return failure(fmt::format("RDS DescribeDBClusters returned cluster {}, not {}", c.identifier, cluster),
                   "check the environment's database.rds_cluster in rollback.yaml");
  return c;
}

Result<DbCluster> restore_db_cluster_to_point_in_time(AwsClient& client, const ClusterPointInTimeRestore& r) {
  QueryParams params = {{"SourceDBClusterIdentifier", r.source},
                        {"DBClusterIdentifier", r.target},
                        {"RestoreToTime", r.restore_time}};
  if (!r.subnet_group.empty()) params.push_back({"DBSubnetGroupName", r.subnet_group});
  if (!r.parameter_group.empty()) params.push_back({"DBClusterParameterGroupName", r.parameter_group});
  add_security_groups(params, r.security_groups);
  add_tags(params, r.tags);
  CallOptions once;
  once.idempotent = false;
  RB_TRY_ASSIGN(std::string body, client.query_call("RestoreDBClusterToPointInTime", kRdsApiVersion, params, once));
  return parse_db_cluster(body, "RestoreDBClusterToPointInTime");
}

Result<DbInstance> create_db_cluster_instance(AwsClient& client, const ClusterInstance& r) {
  QueryParams params = {{"DBInstanceIdentifier", r.identifier},
                        {"DBClusterIdentifier", r.cluster},
                        {"Engine", r.engine},
                        {"DBInstanceClass", r.instance_class},
                        {"PubliclyAccessible", r.publicly_accessible ? "true" : "false"}};
  add_tags(params, r.tags);
  CallOptions once;
  once.idempotent = false;
  RB_TRY_ASSIGN(std::string body, client.query_call("CreateDBInstance", kRdsApiVersion, params, once));
  return parse_db_instance(body, "CreateDBInstance");
}

}  // namespace rb::aws
