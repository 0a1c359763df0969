// Where to send a service's requests, with the AWS CLI's endpoint overrides.
#pragma once

#include <string>
#include <string_view>

namespace rb::aws {

// AWS_ENDPOINT_URL_<SERVICE> (service upper-cased, '-' and ' ' as '_': AWS_ENDPOINT_URL_ECS,
// AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL_DYNAMODB), else AWS_ENDPOINT_URL, else the public
// endpoint https://<service>.<region>.amazonaws.com (S3: https://s3.<region>.amazonaws.com).
// AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true skips the overrides, as in the CLI. No trailing '/'.
std::string endpoint_url(std::string_view service, const std::string& region);
// The same for services whose override name (the serviceId: AWS_ENDPOINT_URL_CLOUDWATCH,
// AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2) differs from their host prefix (monitoring,
// elasticloadbalancing).
std::string endpoint_url(std::string_view service_id, const std::string& region, std::string_view host_prefix);

// Whether the endpoint is AWS's own (*.amazonaws.com / *.amazonaws.com.cn) rather than a
// configured substitute (moto, LocalStack, a VPC endpoint given by URL). S3 uses path-style
// addressing on anything else.
bool is_aws_endpoint(std::string_view endpoint);

}  // namespace rb::aws
