#include "infra/tfstate.hpp"

#include <fmt/format.h>

#include <set>

#include "infra/json_doc.hpp"

namespace rb::infra {

namespace {

Error invalid_state(std::string_view what, const std::string& detail) {
  Error err = failure(fmt::format("{} is not a Terraform state file: {}", what, detail),
                      "check that the object is a raw state file (terraform state pull), not a plan or `terraform show -json` output");
  err.tag = "invalid_state";
  return err;
}

// Reads an optional string member; an Error when present with another type (null counts as absent).
Result<std::string> optional_string(const nlohmann::json& object, const char* key, std::string_view what,
                                    const std::string& where) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return std::string();
  if (!it->is_string()) return invalid_state(what, fmt::format("{}\"{}\" is {}, not a string", where, key, it->type_name()));
  return it->get<std::string>();
}

}  // namespace

std::string hcl_quoted(std::string_view s) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    switch (c) {
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '$':
      case '%':
        out += static_cast<char>(c);
        if (i + 1 < s.size() && s[i + 1] == '{') out += static_cast<char>(c);
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          out += fmt::format("\\u{:04x}", c);
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
  return out;
}

std::string instance_key_string(const nlohmann::json& key) {
  if (key.is_number_integer()) return fmt::format("[{}]", key.get<int64_t>());
  if (key.is_number()) return fmt::format("[{}]", key.dump());
  if (key.is_string()) return "[" + hcl_quoted(key.get<std::string>()) + "]";
  return {};
}

std::string StateInstance::display_address() const {
  if (deposed.empty()) return address;
  return fmt::format("{} (deposed object {})", address, deposed);
}

std::string StateResource::address() const {
  std::string out;
  if (!module.empty()) out = module + ".";
  if (mode == "data") out += "data.";
  out += type + "." + name;
  return out;
}

std::vector<std::string> StateFile::instance_addresses() const {
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (const auto& resource : resources) {
    for (const auto& instance : resource.instances) {
      if (seen.insert(instance.address).second) out.push_back(instance.address);
    }
  }
  return out;
}

bool StateFile::empty() const {
  for (const auto& resource : resources) {
    if (!resource.instances.empty()) return false;
  }
  return outputs.empty();
}

bool is_encrypted_state(const nlohmann::json& document) {
  return document.is_object() && document.contains("encrypted_data") && document.contains("encryption_version");
}

Result<StateFile> parse_state(std::string_view bytes, std::string_view what) {
  RB_TRY_ASSIGN(nlohmann::json doc, parse_json_document(bytes, what));
  if (!doc.is_object()) return invalid_state(what, fmt::format("the document is {}, not an object", doc.type_name()));

  if (is_encrypted_state(doc)) {
    std::string enc_version = doc["encryption_version"].is_string() ? doc["encryption_version"].get<std::string>() : doc["encryption_version"].dump();
    Error err = failure(
        fmt::format("{} is encrypted by OpenTofu state encryption (encryption_version {}); rollback cannot read encrypted state", what,
                    enc_version),
        "restore it with OpenTofu itself: download the version and run `tofu state push` with the same encryption configuration");
    err.tag = "encrypted";
    return err;
  }

  auto version_it = doc.find("version");
  if (version_it == doc.end()) return invalid_state(what, "it has no \"version\"");
  if (!version_it->is_number_integer()) return invalid_state(what, fmt::format("\"version\" is {}, not an integer", version_it->dump()));
  StateFile state;
  state.version = version_it->get<int>();
  if (state.version != kStateFormatVersion) {
    std::string detail = state.version < kStateFormatVersion
                             ? "written by Terraform before 0.12; run a current Terraform against it once (it upgrades the state) and retry"
                             : "written by a Terraform newer than this tool understands";
    Error err = failure(fmt::format("{} uses state format version {}, but only version {} is supported ({})", what, state.version,
                                    kStateFormatVersion, detail),
                        "use Terraform's own `terraform state push` for this state");
    err.tag = "state_version";
    return err;
  }

  RB_TRY_ASSIGN(state.terraform_version, optional_string(doc, "terraform_version", what, ""));
  RB_TRY_ASSIGN(state.lineage, optional_string(doc, "lineage", what, ""));
  auto serial_it = doc.find("serial");
  if (serial_it == doc.end()) return invalid_state(what, "it has no \"serial\"");
  if (!serial_it->is_number_integer() || serial_it->get<int64_t>() < 0)
    return invalid_state(what, fmt::format("\"serial\" is {}, not a non-negative integer", serial_it->dump()));
  state.serial = serial_it->get<int64_t>();

  if (auto it = doc.find("outputs"); it != doc.end() && !it->is_null()) {
    if (!it->is_object()) return invalid_state(what, fmt::format("\"outputs\" is {}, not an object", it->type_name()));
    state.outputs = *it;
  }

  if (auto it = doc.find("resources"); it != doc.end() && !it->is_null()) {
    if (!it->is_array()) return invalid_state(what, fmt::format("\"resources\" is {}, not an array", it->type_name()));
    for (size_t r = 0; r < it->size(); ++r) {
      const auto& raw = (*it)[r];
      std::string where = fmt::format("resources[{}]: ", r);
      if (!raw.is_object()) return invalid_state(what, where + "not an object");
      StateResource resource;
      RB_TRY_ASSIGN(resource.module, optional_string(raw, "module", what, where));
      RB_TRY_ASSIGN(resource.mode, optional_string(raw, "mode", what, where));
      RB_TRY_ASSIGN(resource.type, optional_string(raw, "type", what, where));
      RB_TRY_ASSIGN(resource.name, optional_string(raw, "name", what, where));
      RB_TRY_ASSIGN(resource.each, optional_string(raw, "each", what, where));
      RB_TRY_ASSIGN(resource.provider, optional_string(raw, "provider", what, where));
      if (resource.mode != "managed" && resource.mode != "data")
        return invalid_state(what, fmt::format("{}mode \"{}\" is neither \"managed\" nor \"data\"", where, resource.mode));
      if (resource.type.empty() || resource.name.empty()) return invalid_state(what, where + "\"type\" or \"name\" is missing");
      if (!resource.each.empty() && resource.each != "list" && resource.each != "map")
        return invalid_state(what, fmt::format("{}\"each\" is \"{}\", expected \"list\" or \"map\"", where, resource.each));
      std::string base = resource.address();

      auto instances = raw.find("instances");
      if (instances != raw.end() && !instances->is_null()) {
        if (!instances->is_array()) return invalid_state(what, where + "\"instances\" is not an array");
        for (size_t i = 0; i < instances->size(); ++i) {
          const auto& obj = (*instances)[i];
          std::string iwhere = fmt::format("{} instances[{}]: ", base, i);
          if (!obj.is_object()) return invalid_state(what, iwhere + "not an object");
          StateInstance instance;
          instance.object = obj;
          if (auto key = obj.find("index_key"); key != obj.end() && !key->is_null()) {
            if (!key->is_number_integer() && !key->is_string())
              return invalid_state(what, fmt::format("{}index_key {} is neither an integer nor a string", iwhere, key->dump()));
            instance.index_key = *key;
          }
          RB_TRY_ASSIGN(instance.deposed, optional_string(obj, "deposed", what, iwhere));
          instance.address = base + instance_key_string(instance.index_key);
          resource.instances.push_back(std::move(instance));
        }
      }
      state.resources.push_back(std::move(resource));
    }
  }
  state.document = std::move(doc);
  return state;
}

}  // namespace rb::infra
