// Terraform's lock information (statemgr.LockInfo): what rollback writes when it takes
// Terraform's own state lock, and what it reads back to say who holds a lock.
// Stored as the DynamoDB item's "Info" attribute and as the body of the S3 "<key>.tflock" object.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "util/result.hpp"

namespace rb::infra {

// The Operation rollback records while it replaces the state (Terraform uses e.g.
// "OperationTypeApply", "OperationTypePlan", "init").
inline constexpr std::string_view kRestoreOperation = "rollback state restore";

struct LockInfo {
  std::string id;         // unique per lock; Unlock must present it
  std::string operation;  // what the holder is doing
  std::string info;       // free text
  std::string who;        // user@host
  std::string version;    // the holder's version (Terraform's, or "rollback X.Y.Z")
  std::chrono::system_clock::time_point created;
  std::string path;  // "<bucket>/<key>" for the S3 backend
};

// A new lock: random UUID v4 id, who = current_user_at_host(), version "rollback <ROLLBACK_VERSION>",
// created = `now`.
LockInfo new_lock_info(std::string operation, std::string path, std::string info, std::chrono::system_clock::time_point now);

// Compact JSON with Terraform's field order: {"ID","Operation","Info","Who","Version","Created","Path"},
// Created as Go's time.Time JSON (RFC 3339, UTC, nanoseconds without trailing zeros).
std::string lock_info_json(const LockInfo& info);

// Reads a LockInfo written by Terraform, OpenTofu or rollback. Missing fields are left empty;
// an Error (tag "invalid_lock_info") when it is not a JSON object, a field has the wrong type,
// or Created is not an RFC 3339 time.
Result<LockInfo> parse_lock_info(std::string_view json);

// "alice@laptop (OperationTypeApply, version 1.9.5) since 2024-06-01T12:34:56Z (12m ago), lock ID 2b6a...".
std::string describe_lock_holder(const LockInfo& info, std::chrono::system_clock::time_point now);

// A random (version 4, RFC 9562) UUID in lowercase 8-4-4-4-12 form.
std::string uuid_v4();

// "user@host" like Terraform: the effective user's login name (else $USER) and the host name.
std::string current_user_at_host();

// Go's time.Time JSON form in UTC: "2024-06-01T12:34:56.7891Z" (trailing zeros of the fraction
// dropped, no fraction when whole seconds).
std::string format_rfc3339_nano(std::chrono::system_clock::time_point t);

// "YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)"; up to 9 fraction digits are kept. Error
// (code Failed) for anything else, or a year outside what system_clock can hold (1678..2261).
Result<std::chrono::system_clock::time_point> parse_rfc3339(std::string_view text);

}  // namespace rb::infra
