// Terraform state files (format version 4): parsing and resource instance addresses.
// The raw file is what the S3 backend stores and `terraform state pull` prints, not the
// `terraform show -json` rendering.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "util/result.hpp"

namespace rb::infra {

// The only state format this tool reads or writes: Terraform >= 0.12 and OpenTofu write it.
inline constexpr int kStateFormatVersion = 4;

struct StateInstance {
  nlohmann::json index_key;  // null (no count/for_each), a number (count) or a string (for_each)
  std::string deposed;       // the deposed key of an object left over by create_before_destroy, else ""
  std::string address;       // as Terraform prints it: module.modB.null_resource.bar["a"]
  nlohmann::json object;     // the instance object as stored (attributes, private, dependencies, ...)

  // The address, with " (deposed object KEY)" for a deposed object (how Terraform's plan names it).
  std::string display_address() const;
};

struct StateResource {
  std::string module;  // "" for the root module, else e.g. module.a or module.a["x"].module.b
  std::string mode;    // "managed" or "data"
  std::string type;
  std::string name;
  std::string each;  // "", "list" (count) or "map" (for_each)
  std::string provider;
  std::vector<StateInstance> instances;

  // The resource address without an instance key: module.a.data.aws_ami.x
  std::string address() const;
};

struct StateFile {
  int version = 0;
  std::string terraform_version;
  int64_t serial = 0;
  std::string lineage;
  nlohmann::json outputs = nlohmann::json::object();
  std::vector<StateResource> resources;
  nlohmann::json document;  // the whole file as parsed

  // Every resource instance address once, in file order (Terraform writes resources sorted), the
  // list `terraform state list` prints. Deposed objects share their instance's address.
  std::vector<std::string> instance_addresses() const;
  // No resource instances and no outputs: Terraform lets any state overwrite such a state.
  bool empty() const;
};

// Whether a parsed document is an OpenTofu encrypted state
// ({"meta": ..., "encrypted_data": ..., "encryption_version": ...}).
bool is_encrypted_state(const nlohmann::json& document);

// Parses a raw state file; `what` names it in errors ("state version 3Jx...", "the current state").
// Errors (Error::tag): "invalid_json" (with line and column), "encrypted" (OpenTofu state
// encryption), "state_version" (a format version other than 4, saying which), "invalid_state" (not
// a state file, or a field of the wrong type). Code Failed; callers that refuse turn it into Refused.
Result<StateFile> parse_state(std::string_view bytes, std::string_view what = "state file");

// "[0]" for a number, "[\"a\"]" (HCL quoting, like Terraform) for a string, "" for null.
std::string instance_key_string(const nlohmann::json& key);

// A string quoted the way HCL (and Terraform's addresses) quote it: \n \r \t \" \\ escaped,
// "${" and "%{" doubled to "$${" and "%%{", other control characters as \uXXXX.
std::string hcl_quoted(std::string_view s);

}  // namespace rb::infra
