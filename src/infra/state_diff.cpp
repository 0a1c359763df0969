#include "infra/state_diff.hpp"

#include <algorithm>
#include <map>
#include <set>

namespace rb::infra {

namespace {

// Instance fields that identify the instance or hold its attributes: not compared as "other fields".
bool is_identity_or_attributes(const std::string& key) {
  return key == "index_key" || key == "deposed" || key == "attributes" || key == "attributes_flat";
}

const nlohmann::json& attributes_of(const nlohmann::json& object) {
  static const nlohmann::json kEmpty = nlohmann::json::object();
  if (auto it = object.find("attributes"); it != object.end() && it->is_object()) return *it;
  if (auto it = object.find("attributes_flat"); it != object.end() && it->is_object()) return *it;
  return kEmpty;
}

std::vector<std::string> differing_keys(const nlohmann::json& a, const nlohmann::json& b, bool skip_identity) {
  std::set<std::string> keys;
  for (const auto& [k, v] : a.items()) keys.insert(k);
  for (const auto& [k, v] : b.items()) keys.insert(k);
  std::vector<std::string> out;
  for (const auto& key : keys) {
    if (skip_identity && is_identity_or_attributes(key)) continue;
    auto ia = a.find(key);
    auto ib = b.find(key);
    bool in_a = ia != a.end();
    bool in_b = ib != b.end();
    if (in_a != in_b || (in_a && *ia != *ib)) out.push_back(key);
  }
  return out;
}

struct Indexed {
  std::vector<std::string> order;  // display addresses in file order
  std::map<std::string, const StateInstance*> by_key;
};

Indexed index_instances(const StateFile& state) {
  Indexed idx;
  for (const auto& resource : state.resources) {
    for (const auto& instance : resource.instances) {
      std::string key = instance.display_address();
      if (idx.by_key.emplace(key, &instance).second) idx.order.push_back(key);
    }
  }
  return idx;
}

}  // namespace

bool StateDiff::empty() const {
  return only_in_a.empty() && only_in_b.empty() && changed.empty() && outputs_only_in_a.empty() && outputs_only_in_b.empty() &&
         outputs_changed.empty();
}

StateDiff diff_states(const StateFile& a, const StateFile& b) {
  StateDiff diff;
  Indexed ia = index_instances(a);
  Indexed ib = index_instances(b);
  for (const auto& key : ia.order) {
    auto other = ib.by_key.find(key);
    if (other == ib.by_key.end()) {
      diff.only_in_a.push_back(key);
      continue;
    }
    const nlohmann::json& oa = ia.by_key[key]->object;
    const nlohmann::json& ob = other->second->object;
    if (oa == ob) continue;
    InstanceDifference d;
    d.address = key;
    const bool flat_a = oa.contains("attributes_flat") && !oa.contains("attributes");
    const bool flat_b = ob.contains("attributes_flat") && !ob.contains("attributes");
    if (flat_a != flat_b) {
      d.other_fields.push_back(flat_a ? "attributes_flat" : "attributes");
    }
    d.attributes = differing_keys(attributes_of(oa), attributes_of(ob), false);
    auto others = differing_keys(oa, ob, true);
    d.other_fields.insert(d.other_fields.end(), others.begin(), others.end());
    std::sort(d.other_fields.begin(), d.other_fields.end());
    if (!d.attributes.empty() || !d.other_fields.empty()) diff.changed.push_back(std::move(d));
  }
  for (const auto& key : ib.order) {
    if (!ia.by_key.count(key)) diff.only_in_b.push_back(key);
  }

  for (const auto& [name, value] : a.outputs.items()) {
    auto other = b.outputs.find(name);
    if (other == b.outputs.end()) {
      diff.outputs_only_in_a.push_back(name);
    } else if (*other != value) {
      diff.outputs_changed.push_back(name);
    }
  }
  for (const auto& [name, value] : b.outputs.items()) {
    if (!a.outputs.contains(name)) diff.outputs_only_in_b.push_back(name);
  }
  return diff;
}

}  // namespace rb::infra
