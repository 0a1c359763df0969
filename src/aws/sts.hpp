// STS GetCallerIdentity: who the resolved credentials belong to (account, ARN, user id).
// A minimal stand-in; the credentials work replaces it with the full client at merge.
#pragma once

#include <string>

#include "aws/client.hpp"

namespace rb::aws {

struct CallerIdentity {
  std::string account;
  std::string arn;
  std::string user_id;
};

// POST Action=GetCallerIdentity&Version=2011-06-15 (query protocol); the XML reply parsed.
Result<CallerIdentity> get_caller_identity(AwsClient& client);

}  // namespace rb::aws
