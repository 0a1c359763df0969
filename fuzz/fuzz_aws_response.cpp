// libFuzzer target: everything the tool parses out of an AWS reply or the AWS config files:
// JSON and XML error bodies, ECS services, task definitions and tasks, the shared INI files,
// credential_process output and its command line, and what diagnose reads: EC2 security groups,
// ElastiCache clusters and replication groups, RDS instances, Secrets Manager descriptions, the
// secrets a task definition references and a service's security groups.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "aws/client.hpp"
#include "aws/credentials.hpp"
#include "aws/ec2.hpp"
#include "aws/elasticache.hpp"
#include "aws/rds.hpp"
#include "aws/secretsmanager.hpp"
#include "core/diagnose.hpp"
#include "ecs/model.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  rb::aws::HttpResponse response;
  response.status = 400;
  response.body = std::string(bytes);
  (void)rb::aws::parse_json_error(response);
  (void)rb::aws::parse_xml_error(response);
  (void)rb::aws::normalize_error_code(bytes);
  (void)rb::aws::parse_ini(bytes, "fuzz-config");
  (void)rb::aws::parse_credential_process_output(bytes, "fuzz");
  (void)rb::aws::shell_split(bytes);
  (void)rb::ecs::parse_task_def(bytes);
  (void)rb::ecs::image_tag(bytes);
  (void)rb::ecs::short_task_id(bytes);
  std::string text(bytes);
  (void)rb::aws::parse_security_groups(text);
  (void)rb::aws::parse_cache_clusters(text);
  (void)rb::aws::parse_replication_groups(text);
  (void)rb::aws::parse_db_instances(text);
  (void)rb::cidr_contains(bytes, bytes);

  auto json = nlohmann::json::parse(bytes, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return 0;
  (void)rb::ecs::parse_service(json);
  (void)rb::ecs::parse_task_definition(json);
  (void)rb::ecs::parse_task(json);
  (void)rb::ecs::parse_timestamp(json);
  (void)rb::aws::parse_secret_description(json);
  (void)rb::secrets_manager_references(json);
  (void)rb::task_security_groups(json);
  return 0;
}
