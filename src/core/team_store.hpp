// The team table on DynamoDB: its key schema, and a client for it whose region and
// credentials are resolved like every other AWS call (AWS_ENDPOINT_URL_DYNAMODB honoured).
//
// One table, two string keys, every kind of item told apart by its keys:
//   pk "LOCK#<app>#<env>"  sk "LOCK"            the environment's lock
//   pk "ENV#<app>#<env>"   sk "R#<rollback id>" a rollback, for Query newest first per environment
//   pk "RB#<rollback id>"  sk "ENTRY"           the same rollback, for lookups by id
//   pk "RB#<rollback id>"  sk "E#<seq>#<host>"  one of its events
// Rollback ids start with their UTC start time (20261126-103724-3f9a), so sk order is time order.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "aws/dynamodb.hpp"
#include "aws/http.hpp"
#include "core/config.hpp"
#include "util/clock.hpp"

namespace rb::team {

inline constexpr const char* kPartitionKey = "pk";
inline constexpr const char* kSortKey = "sk";

std::string lock_pk(const std::string& app, const std::string& env);
inline constexpr const char* kLockSk = "LOCK";
std::string env_pk(const std::string& app, const std::string& env);
std::string entry_sk(const std::string& rollback_id);  // "R#<id>"
std::string rollback_pk(const std::string& rollback_id);
inline constexpr const char* kEntrySk = "ENTRY";
std::string event_sk(long seq, const std::string& host);  // "E#000042#host"
nlohmann::json key(const std::string& pk, const std::string& sk);

// The CreateTable input `rollback team init` sends (on-demand billing).
nlohmann::json create_table_input(const std::string& table);

// A test-only clock offset (ROLLBACK_TEST_CLOCK_OFFSET, e.g. "3600s" or "-90s") added to the
// wall clock this process writes into and judges team locks with, to prove that clock skew
// between machines cannot let two holders in. Zero when unset.
std::chrono::milliseconds test_clock_offset();
std::chrono::system_clock::time_point wall_now(const Clock& clock);

// A DynamoDB client for the team table with its own HTTP connection: one per thread.
class TeamStore {
 public:
  // Resolves credentials and region (top-level `region`, AWS_REGION, the profile) once.
  static Result<std::unique_ptr<TeamStore>> open(const Config& config, Clock& clock);

  TeamStore(const TeamStore&) = delete;
  TeamStore& operator=(const TeamStore&) = delete;

  aws::DynamoDbClient& db() { return *db_; }
  const std::string& table() const { return table_; }
  // Another store on the same table with its own connection (for the heartbeat thread).
  std::unique_ptr<TeamStore> clone() const;

 private:
  TeamStore(aws::AwsClientConfig config, std::string table, Clock& clock);
  aws::AwsClientConfig config_;
  std::string table_;
  Clock& clock_;
  std::unique_ptr<aws::CurlTransport> transport_;
  std::unique_ptr<aws::DynamoDbClient> db_;
};

// Whether an error means the team table cannot be reached or used at all (network, 5xx,
// credentials, missing table), as opposed to an answer about the item (a failed condition).
bool is_conditional_failure(const Error& e);

// The error for "the team table could not be used before anything changed" (exit 5).
Error cannot_start(const Error& cause, const std::string& table, const std::string& what);

}  // namespace rb::team
