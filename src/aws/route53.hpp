// A thin Route 53 client (REST-XML; botocore data/route53/2013-04-01): hosted zones and their
// record sets, to tell whether a DNS record someone waits for (an ACM validation) exists. Read-only.
#pragma once

#include <string>
#include <vector>

#include "aws/client.hpp"

namespace rb::aws {

struct HostedZone {
  std::string id;    // "/hostedzone/Z123" as Route 53 returns it
  std::string name;  // "example.com." (with the trailing dot)
  bool private_zone = false;
};

struct RecordSet {
  std::string name, type;
  std::vector<std::string> values;
};

// The parsed replies (pure; exposed for tests).
Result<std::vector<HostedZone>> parse_hosted_zones(const std::string& xml, std::string* next_marker);
Result<std::vector<RecordSet>> parse_record_sets(const std::string& xml, std::string* next_name, std::string* next_type);

// Route 53 is global: signed for us-east-1 at route53.amazonaws.com unless an endpoint is configured.
AwsClientConfig route53_config(Credentials credentials, RetryPolicy retry = {});

class Route53Client {
 public:
  explicit Route53Client(AwsClient client) : client_(std::move(client)) {}
  Result<std::vector<HostedZone>> hosted_zones();
  Result<std::vector<RecordSet>> record_sets(const std::string& zone_id);

 private:
  AwsClient client_;
};

// The zone a name belongs to: the longest zone name that is a suffix of it (both with trailing dots).
const HostedZone* zone_for(const std::vector<HostedZone>& zones, const std::string& name);

}  // namespace rb::aws
