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

// Whether the endpoint is AWS's own (*.amazonaws.com / *.amazonaws.com.cn) rather than a
// configured substitute (moto, LocalStack, a VPC endpoint given by URL). S3 uses path-style
// addressing on anything else.
bool is_aws_endpoint(std::string_view endpoint);

}  // namespace rb::aws
