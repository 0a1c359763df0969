#include "aws/sts.hpp"

#include <pugixml.hpp>

#include <fmt/format.h>

namespace rb::aws {

Result<CallerIdentity> get_caller_identity(AwsClient& client) {
  RestRequest r;
  r.operation = "GetCallerIdentity";
  r.method = "POST";
  r.path = "/";
  r.headers = {{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}};
  r.body = "Action=GetCallerIdentity&Version=2011-06-15";
  RB_TRY_ASSIGN(HttpResponse response, client.rest_call(r));
  pugi::xml_document doc;
  if (!doc.load_string(response.body.c_str()))
    return failure("STS GetCallerIdentity answered with a reply that is not XML",
                   "check AWS_ENDPOINT_URL_STS / AWS_ENDPOINT_URL: it must point at STS");
  pugi::xml_node result = doc.child("GetCallerIdentityResponse").child("GetCallerIdentityResult");
  CallerIdentity id{result.child_value("Account"), result.child_value("Arn"), result.child_value("UserId")};
  if (id.arn.empty())
    return failure("STS GetCallerIdentity answered without an Arn",
                   "check AWS_ENDPOINT_URL_STS / AWS_ENDPOINT_URL: it must point at STS");
  return id;
}

}  // namespace rb::aws
