#include "core/team_store.hpp"

#include <cstdlib>

#include <fmt/format.h>

#include "aws/credentials.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace rb::team {

std::string lock_pk(const std::string& app, const std::string& env) { return fmt::format("LOCK#{}#{}", app, env); }
std::string env_pk(const std::string& app, const std::string& env) { return fmt::format("ENV#{}#{}", app, env); }
std::string entry_sk(const std::string& rollback_id) { return "R#" + rollback_id; }
std::string rollback_pk(const std::string& rollback_id) { return "RB#" + rollback_id; }
std::string event_sk(long seq, const std::string& host) { return fmt::format("E#{:06}#{}", seq, host); }

nlohmann::json key(const std::string& pk, const std::string& sk) {
  return {{kPartitionKey, {{"S", pk}}}, {kSortKey, {{"S", sk}}}};
}

nlohmann::json create_table_input(const std::string& table) {
  return {{"TableName", table},
          {"AttributeDefinitions",
           {{{"AttributeName", kPartitionKey}, {"AttributeType", "S"}},
            {{"AttributeName", kSortKey}, {"AttributeType", "S"}}}},
          {"KeySchema",
           {{{"AttributeName", kPartitionKey}, {"KeyType", "HASH"}}, {{"AttributeName", kSortKey}, {"KeyType", "RANGE"}}}},
          {"BillingMode", "PAY_PER_REQUEST"}};
}

std::chrono::milliseconds test_clock_offset() {
  const char* v = getenv("ROLLBACK_TEST_CLOCK_OFFSET");
  if (!v || !*v) return std::chrono::milliseconds(0);
  std::string_view text(v);
  bool negative = text.front() == '-';
  if (negative || text.front() == '+') text.remove_prefix(1);
  auto d = parse_duration(text);
  if (!d) return std::chrono::milliseconds(0);
  return negative ? -*d : *d;
}

std::chrono::system_clock::time_point wall_now(const Clock& clock) {
  return clock.wall_now() + std::chrono::duration_cast<std::chrono::system_clock::duration>(test_clock_offset());
}

TeamStore::TeamStore(aws::AwsClientConfig config, std::string table, Clock& clock)
    : config_(std::move(config)), table_(std::move(table)), clock_(clock),
      transport_(std::make_unique<aws::CurlTransport>()),
      db_(std::make_unique<aws::DynamoDbClient>(aws::AwsClient(config_, *transport_, clock_))) {}

Result<std::unique_ptr<TeamStore>> TeamStore::open(const Config& config, Clock& clock) {
  if (!config.team) return usage_error("this configuration has no `team:` block", "see docs/TEAM.md");
  RB_TRY_ASSIGN(auto credentials, aws::resolve_credentials());
  RB_TRY_ASSIGN(auto region, aws::resolve_region({}, config.region));
  auto client_config = aws::AwsClientConfig::for_service("dynamodb", region, std::move(credentials));
  log_debug("team table {} at {} (region {})", config.team->table, client_config.endpoint, region);
  return std::unique_ptr<TeamStore>(new TeamStore(std::move(client_config), config.team->table, clock));
}

std::unique_ptr<TeamStore> TeamStore::clone() const {
  return std::unique_ptr<TeamStore>(new TeamStore(config_, table_, clock_));
}

bool is_conditional_failure(const Error& e) { return e.tag == "ConditionalCheckFailedException"; }

Error cannot_start(const Error& cause, const std::string& table, const std::string& what) {
  std::string hint = fmt::format(
      "check the network and credentials for DynamoDB table {} (`aws dynamodb describe-table --table-name {}`); "
      "`rollback team init` creates it. In an emergency, --local-lock uses this machine's file lock instead "
      "(journaled; it does not keep other machines out)",
      table, table);
  return Error{ExitCode::CannotStart, fmt::format("cannot {}: {}", what, cause.message), hint, cause.tag};
}

}  // namespace rb::team
