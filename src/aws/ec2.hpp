// A thin EC2 client (Query protocol, API 2016-11-15; botocore data/ec2/2016-11-15): the
// security groups and their ingress rules, for diagnose's "can the tasks reach Redis / the
// database" judgement. Read-only.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "aws/client.hpp"
#include "util/result.hpp"

namespace rb::aws {

// The Query API version every EC2 action is sent with.
inline constexpr std::string_view kEc2ApiVersion = "2016-11-15";
// The most GroupId.N of one DescribeSecurityGroups call: a cache or a DB instance has the
// security groups of a network interface (VPC quota "Security groups per network interface": 5
// by default, 16 at most), so one call per target is enough; the bound keeps the request small
// whatever it is given.
inline constexpr size_t kMaxSecurityGroupsPerCall = 200;

// One ingress (or egress) rule: IpPermission of the model.
struct IpPermission {
  std::string protocol;  // "tcp", "udp", "icmp", "-1" (all), or a protocol number ("6" is tcp)
  // FromPort / ToPort; -1 when absent (protocol "-1" has none: all ports).
  int from_port = -1, to_port = -1;
  std::vector<std::string> source_groups;  // UserIdGroupPairs[].GroupId
  std::vector<std::string> cidrs;          // IpRanges[].CidrIp and Ipv6Ranges[].CidrIpv6
  std::vector<std::string> prefix_lists;   // PrefixListIds[].PrefixListId
};

struct SecurityGroup {
  std::string id, name, vpc_id;
  std::vector<IpPermission> ingress;  // IpPermissions
};

// DescribeSecurityGroups' XML reply (exposed for tests): every securityGroupInfo item. An
// unreadable reply is an error; a rule with odd numbers reads them as absent, never throws.
Result<std::vector<SecurityGroup>> parse_security_groups(const std::string& xml);

// DescribeSecurityGroups of these ids (GroupId.N), at most kMaxSecurityGroupsPerCall. A
// missing group is EC2's error InvalidGroup.NotFound, returned as it is.
Result<std::vector<SecurityGroup>> describe_security_groups(AwsClient& client, const std::vector<std::string>& ids);

}  // namespace rb::aws
