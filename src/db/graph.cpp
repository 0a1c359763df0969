#include "db/graph.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <deque>
#include <limits>
#include <regex>

#include "util/strings.hpp"

namespace rb::db {

namespace {

const std::vector<std::string> kNone;

constexpr size_t kMaxListedCandidates = 10;  // an ambiguous prefix lists this many ids at most

bool contains_id(const std::vector<std::string>& v, std::string_view id) {
  return std::find(v.begin(), v.end(), id) != v.end();
}

void push_unique(std::vector<std::string>& v, const std::string& id) {
  if (!contains_id(v, id)) v.push_back(id);
}

Error graph_error(std::vector<std::string> problems, std::string tag) {
  std::string message = problems.size() == 1
                            ? "the migration scripts do not form a valid revision graph: " + problems[0]
                            : "the migration scripts do not form a valid revision graph:";
  if (problems.size() > 1)
    for (const auto& p : problems) message += "\n  - " + p;
  Error e = failure(std::move(message),
                    "fix the scripts named above (alembic would refuse them too); `alembic history` shows the graph "
                    "once it is valid");
  e.tag = std::move(tag);
  return e;
}

Error resolve_error(std::string message, std::string hint, std::string tag) {
  Error e = usage_error(std::move(message), std::move(hint));
  e.tag = std::move(tag);
  return e;
}

}  // namespace

Result<RevisionGraph> RevisionGraph::build(std::vector<MigrationScript> scripts) {
  RevisionGraph g;
  g.scripts_ = std::move(scripts);
  g.nodes_.resize(g.scripts_.size());

  std::vector<std::string> problems;
  std::string tag;
  auto problem = [&](std::string text, const char* t) {
    problems.push_back(std::move(text));
    if (tag.empty()) tag = t;
  };

  for (size_t i = 0; i < g.scripts_.size(); ++i) {
    const auto& s = g.scripts_[i];
    if (s.revision.find_first_of("@-+") != std::string::npos)
      problem(fmt::format("{}: revision id '{}' contains '@', '-' or '+', which Alembic does not allow",
                          s.path.string(), s.revision),
              "bad-revision-id");
    auto [it, inserted] = g.index_.emplace(s.revision, i);
    if (!inserted)
      problem(fmt::format("revision '{}' is defined twice: in {} and in {}", s.revision,
                          g.scripts_[it->second].path.string(), s.path.string()),
              "duplicate-revision");
  }
  for (size_t i = 0; i < g.scripts_.size(); ++i) {
    for (const auto& label : g.scripts_[i].branch_labels) {
      if (auto other = g.labels_.find(label); other != g.labels_.end()) {
        problem(fmt::format("branch label '{}' is declared by both {} and {}", label,
                            g.scripts_[g.index_.at(other->second)].path.string(), g.scripts_[i].path.string()),
                "duplicate-label");
      } else if (g.index_.count(label) && label != g.scripts_[i].revision) {
        problem(fmt::format("branch label '{}' in {} is also the id of the revision in {}", label,
                            g.scripts_[i].path.string(), g.scripts_[g.index_.at(label)].path.string()),
                "duplicate-label");
      } else {
        g.labels_.emplace(label, g.scripts_[i].revision);
      }
    }
  }
  if (!problems.empty()) return graph_error(std::move(problems), tag);

  // Edges. A missing parent is reported, not fatal, so that every one is listed at once.
  for (size_t i = 0; i < g.scripts_.size(); ++i) {
    const auto& s = g.scripts_[i];
    if (g.index_.at(s.revision) != i) continue;
    for (const auto& d : s.down_revisions) {
      auto p = g.index_.find(d);
      if (p == g.index_.end()) {
        problem(fmt::format("{}: down_revision '{}' is not the revision of any script", s.path.string(), d),
                "missing-parent");
        continue;
      }
      push_unique(g.nodes_[p->second].children, s.revision);
      push_unique(g.nodes_[p->second].all_children, s.revision);
    }
    for (const auto& dep : s.depends_on) {
      std::string target;
      if (g.index_.count(dep)) target = dep;
      else if (auto l = g.labels_.find(dep); l != g.labels_.end()) target = l->second;
      if (target.empty()) {
        problem(fmt::format("{}: depends_on '{}' is neither a revision nor a branch label", s.path.string(), dep),
                "missing-parent");
        continue;
      }
      push_unique(g.nodes_[i].dependencies, target);
      push_unique(g.nodes_[g.index_.at(target)].all_children, s.revision);
    }
  }
  if (!problems.empty()) return graph_error(std::move(problems), tag);
  for (size_t i = 0; i < g.scripts_.size(); ++i) {
    auto& n = g.nodes_[i];
    for (const auto& d : g.scripts_[i].down_revisions) n.parent_idx.push_back(g.index_.at(d));
    for (const auto& c : n.children) n.child_idx.push_back(g.index_.at(c));
    for (const auto& c : n.all_children) n.all_child_idx.push_back(g.index_.at(c));
  }

  // Cycles: strongly connected components over down_revision and depends_on edges (iterative
  // Tarjan, so that long histories cannot overflow the stack).
  {
    const size_t n = g.scripts_.size();
    auto edges = [&](size_t v) {
      std::vector<size_t> out;
      for (const auto& d : g.scripts_[v].down_revisions) out.push_back(g.index_.at(d));
      for (const auto& d : g.nodes_[v].dependencies) out.push_back(g.index_.at(d));
      return out;
    };
    std::vector<int> index(n, -1), low(n, 0);
    std::vector<bool> on_stack(n, false);
    std::vector<size_t> stack;
    int counter = 0;
    std::vector<std::vector<size_t>> cycles;
    for (size_t root = 0; root < n; ++root) {
      if (index[root] != -1) continue;
      std::vector<std::pair<size_t, size_t>> work{{root, 0}};  // node, next edge
      std::map<size_t, std::vector<size_t>> out_edges;
      while (!work.empty()) {
        auto& [v, next] = work.back();
        if (next == 0 && index[v] == -1) {
          index[v] = low[v] = counter++;
          stack.push_back(v);
          on_stack[v] = true;
          out_edges[v] = edges(v);
        }
        auto& out = out_edges[v];
        if (next < out.size()) {
          size_t w = out[next++];
          if (index[w] == -1) {
            work.emplace_back(w, 0);
          } else if (on_stack[w]) {
            low[v] = std::min(low[v], index[w]);
          }
          continue;
        }
        if (low[v] == index[v]) {
          std::vector<size_t> component;
          size_t w;
          do {
            w = stack.back();
            stack.pop_back();
            on_stack[w] = false;
            component.push_back(w);
          } while (w != v);
          bool self_loop = std::find(out.begin(), out.end(), v) != out.end();
          if (component.size() > 1 || self_loop) cycles.push_back(std::move(component));
        }
        size_t finished = v;
        work.pop_back();
        if (!work.empty()) low[work.back().first] = std::min(low[work.back().first], low[finished]);
      }
    }
    for (auto& cycle : cycles) {
      std::sort(cycle.begin(), cycle.end());
      std::vector<std::string> members;
      for (size_t v : cycle) members.push_back(fmt::format("{} ({})", g.scripts_[v].revision, g.scripts_[v].path.string()));
      problem("these revisions form a cycle through down_revision/depends_on: " + join(members, ", "), "cycle");
    }
    if (!problems.empty()) return graph_error(std::move(problems), tag);
  }

  // Normalized down revisions: drop the dependencies an ancestor already depends on.
  for (size_t i = 0; i < g.scripts_.size(); ++i) {
    auto& node = g.nodes_[i];
    std::vector<std::string> deps = node.dependencies;
    if (!deps.empty()) {
      for (const auto& a : g.ancestors({g.scripts_[i].revision}, false)) {
        if (a == g.scripts_[i].revision) continue;
        for (const auto& ad : g.node(a).dependencies) std::erase(deps, ad);
      }
    }
    node.normalized_down = g.scripts_[i].down_revisions;
    for (const auto& d : deps) push_unique(node.normalized_down, d);
  }
  for (auto& node : g.nodes_)
    for (const auto& d : node.normalized_down) node.norm_idx.push_back(g.index_.at(d));

  // Branch labels: the declaring revision, its descendants, and its ancestors up to the
  // nearest branch point or merge point (Alembic's _add_branches).
  for (const auto& [label, rev] : g.labels_) {
    for (const auto& d : g.descendants({rev}, false)) g.nodes_[g.index_.at(d)].labels.insert(label);
    std::string cur = rev;
    for (;;) {
      const auto& n = g.node(cur);
      if (n.all_children.size() > 1 || g.parents(cur).size() > 1) break;
      g.nodes_[g.index_.at(cur)].labels.insert(label);
      if (g.parents(cur).empty()) break;
      cur = g.parents(cur)[0];
    }
  }
  return g;
}

const MigrationScript* RevisionGraph::find(std::string_view id) const {
  auto it = index_.find(id);
  return it == index_.end() ? nullptr : &scripts_[it->second];
}

const RevisionGraph::Node& RevisionGraph::node(std::string_view id) const { return nodes_[index_.find(id)->second]; }

size_t RevisionGraph::load_index(std::string_view id) const { return index_.find(id)->second; }

bool RevisionGraph::is_real_head(std::string_view id) const { return node(id).all_children.empty(); }
bool RevisionGraph::is_head(std::string_view id) const { return node(id).children.empty(); }

std::vector<std::string> RevisionGraph::heads() const {
  std::vector<std::string> out;
  for (const auto& s : scripts_)
    if (is_real_head(s.revision)) out.push_back(s.revision);
  return out;
}

std::vector<std::string> RevisionGraph::bases() const {
  std::vector<std::string> out;
  for (const auto& s : scripts_)
    if (s.down_revisions.empty()) out.push_back(s.revision);
  return out;
}

std::vector<std::string> RevisionGraph::merge_points() const {
  std::vector<std::string> out;
  for (const auto& s : scripts_)
    if (s.down_revisions.size() > 1) out.push_back(s.revision);
  return out;
}

std::vector<std::string> RevisionGraph::branch_points() const {
  std::vector<std::string> out;
  for (const auto& s : scripts_)
    if (node(s.revision).children.size() > 1) out.push_back(s.revision);
  return out;
}

const std::vector<std::string>& RevisionGraph::parents(std::string_view id) const {
  const auto* s = find(id);
  return s ? s->down_revisions : kNone;
}

const std::vector<std::string>& RevisionGraph::children(std::string_view id) const {
  return contains(id) ? node(id).children : kNone;
}

const std::vector<std::string>& RevisionGraph::dependencies(std::string_view id) const {
  return contains(id) ? node(id).dependencies : kNone;
}

const std::vector<std::string>& RevisionGraph::normalized_down_revisions(std::string_view id) const {
  return contains(id) ? node(id).normalized_down : kNone;
}

std::vector<char> RevisionGraph::reach_idx(std::vector<size_t> todo, bool down, bool with_dependencies) const {
  std::vector<char> seen(scripts_.size(), 0);
  while (!todo.empty()) {
    size_t cur = todo.back();
    todo.pop_back();
    if (seen[cur]) continue;
    seen[cur] = 1;
    const Node& n = nodes_[cur];
    const auto& next = down ? (with_dependencies ? n.norm_idx : n.parent_idx)
                            : (with_dependencies ? n.all_child_idx : n.child_idx);
    for (size_t x : next)
      if (!seen[x]) todo.push_back(x);
  }
  return seen;
}

std::vector<char> RevisionGraph::reach(const std::vector<std::string>& ids, bool down, bool with_dependencies) const {
  std::vector<size_t> starts;
  for (const auto& id : ids)
    if (auto it = index_.find(id); it != index_.end()) starts.push_back(it->second);
  return reach_idx(std::move(starts), down, with_dependencies);
}

std::set<std::string> RevisionGraph::ancestors(const std::vector<std::string>& ids, bool with_dependencies) const {
  auto mask = reach(ids, true, with_dependencies);
  std::set<std::string> out;
  for (size_t i = 0; i < mask.size(); ++i)
    if (mask[i]) out.insert(scripts_[i].revision);
  return out;
}

std::set<std::string> RevisionGraph::descendants(const std::vector<std::string>& ids, bool with_dependencies) const {
  auto mask = reach(ids, false, with_dependencies);
  std::set<std::string> out;
  for (size_t i = 0; i < mask.size(); ++i)
    if (mask[i]) out.insert(scripts_[i].revision);
  return out;
}

bool RevisionGraph::is_ancestor(std::string_view ancestor, std::string_view id) const {
  if (!contains(id) || !contains(ancestor)) return false;
  return reach({std::string(id)}, true, false)[load_index(ancestor)] != 0;
}

std::vector<std::string> RevisionGraph::branch_labels(std::string_view id) const {
  if (!contains(id)) return {};
  const auto& l = node(id).labels;
  return {l.begin(), l.end()};
}

std::optional<std::string> RevisionGraph::label_revision(std::string_view label) const {
  auto it = labels_.find(label);
  if (it == labels_.end()) return std::nullopt;
  return it->second;
}

Result<std::optional<std::string>> RevisionGraph::walk_down(const std::string& start, int steps) const {
  std::optional<std::string> cur = start;
  for (int i = 0; i < steps; ++i) {
    if (!cur) {
      Error e = refusal(fmt::format("walking {} steps down from {} passes base after {} steps", steps, start, i),
                        "there are fewer migrations below; use base to undo all of them");
      e.tag = "walked-too-far";
      return e;
    }
    const auto& p = parents(*cur);
    if (p.empty()) {
      cur.reset();
    } else if (p.size() > 1) {
      Error e = refusal(fmt::format("Ambiguous walk: walking {} steps down from {} reaches merge point {} after {} "
                                    "steps, and it has {} parents: {}",
                                    steps, start, *cur, i, p.size(), join(p, ", ")),
                        fmt::format("name the revision to go to instead of a number of steps: one of {}", join(p, ", ")));
      e.tag = "ambiguous-walk";
      return e;
    } else {
      cur = p[0];
    }
  }
  return cur;
}

std::vector<std::string> RevisionGraph::filter_for_lineage(const std::vector<std::string>& ids,
                                                           std::string_view against) const {
  std::vector<std::string> out;
  for (const auto& id : ids) {
    auto related = ancestors({id}, false);
    related.merge(descendants({id}, false));
    if (related.count(std::string(against))) out.push_back(id);
  }
  return out;
}

Result<std::string> RevisionGraph::resolve_one(std::string_view ident, std::string_view branch) const {
  std::string branch_rev;
  if (!branch.empty()) {
    if (auto l = label_revision(branch)) {
      branch_rev = *l;
    } else if (contains(branch)) {
      branch_rev = std::string(branch);
    } else {
      auto b = resolve_one(branch, {});
      if (!b) return resolve_error(fmt::format("no such branch: '{}'", branch), b.error().hint, "unknown-revision");
      branch_rev = *b;
    }
  }
  std::string found;
  if (contains(ident)) {
    found = std::string(ident);
  } else if (auto l = label_revision(ident)) {
    found = *l;
  } else {
    std::vector<std::string> all_ids;
    for (const auto& s : scripts_) all_ids.push_back(s.revision);
    if (ident.size() < kMinRevisionPrefix) {
      return resolve_error(
          fmt::format("'{}' is not a revision id, and a partial id needs at least {} characters", ident,
                      kMinRevisionPrefix),
          "type more of the revision id (`alembic history` lists them)", "prefix-too-short");
    }
    std::vector<std::string> candidates;
    for (const auto& id : all_ids)
      if (id.size() >= kMinRevisionPrefix && std::string_view(id).starts_with(ident)) candidates.push_back(id);
    if (!branch_rev.empty()) candidates = filter_for_lineage(candidates, branch_rev);
    if (candidates.empty()) {
      auto close = closest_match(ident, all_ids);
      return resolve_error(fmt::format("no revision or branch label '{}' in the migration scripts", ident),
                           close ? fmt::format("did you mean {}?", *close)
                                 : "`alembic history` lists the revisions; check that the scripts match the deployed code",
                           "unknown-revision");
    }
    if (candidates.size() > 1) {
      std::vector<std::string> listed(candidates.begin(),
                                      candidates.begin() + static_cast<long>(std::min(candidates.size(), kMaxListedCandidates)));
      std::string more = candidates.size() > listed.size() ? fmt::format(" and {} more", candidates.size() - listed.size()) : "";
      return resolve_error(fmt::format("'{}' is the start of {} revision ids: {}{}", ident, candidates.size(),
                                       join(listed, ", "), more),
                           "type more characters so that only one revision matches", "ambiguous-prefix");
    }
    found = candidates[0];
  }
  if (!branch_rev.empty() && filter_for_lineage({found}, branch_rev).empty())
    return resolve_error(fmt::format("revision {} is not a member of branch '{}'", found, branch),
                         "pick a revision on that branch, or leave the branch out", "not-on-branch");
  return found;
}

Result<ResolvedRevisions> RevisionGraph::resolve(std::string_view spec_in, const std::vector<std::string>& current) const {
  std::string spec = trim(spec_in);
  if (spec.empty()) return resolve_error("an empty revision was given", "give a revision id, base, head or -N", "empty");
  ResolvedRevisions out;

  // [branch@][symbol](+|-)N, like Alembic's _relative_destination.
  static const std::regex relative(R"(^(?:(.+?)@)?(\w+)?([+-]\d+)$)");
  std::smatch m;
  if (std::regex_match(spec, m, relative)) {
    std::string branch = m[1].str(), symbol = m[2].str(), number = m[3].str();
    if (number[0] == '+')
      return resolve_error(fmt::format("'{}' points upwards; rollback only moves down", spec),
                           "use -N to go down N revisions", "upward-relative");
    RB_TRY_ASSIGN(long long parsed_steps, parse_decimal(number.substr(1), 0, std::numeric_limits<int>::max(), "the step count"));
    int steps = static_cast<int>(parsed_steps);
    std::string start;
    if (symbol.empty()) {
      std::vector<std::string> starts = current.empty() ? heads() : current;
      if (!branch.empty()) {
        RB_TRY_ASSIGN(auto b, resolve_one(branch, {}));
        starts = filter_for_lineage(starts, b);
      }
      if (starts.size() != 1) {
        std::vector<std::string> choices;
        for (const auto& s : starts) choices.push_back(fmt::format("{}@{}", s, number));
        return resolve_error(
            fmt::format("'{}' is ambiguous: it can start from {} revisions ({})", spec, starts.size(), join(starts, ", ")),
            starts.empty() ? "nothing to start from" : "say which one: " + join(choices, " or "), "multiple-heads");
      }
      start = starts[0];
    } else if (symbol == "head" || symbol == "heads") {
      RB_TRY_ASSIGN(auto h, resolve(branch.empty() ? "head" : branch + "@head"));
      start = h.revisions.at(0);
    } else {
      RB_TRY_ASSIGN(start, resolve_one(symbol, branch));
    }
    auto walked = walk_down(start, steps);
    if (!walked) {
      Error e = walked.take_error();
      e.code = ExitCode::Usage;
      return e;
    }
    if (*walked) out.revisions.push_back(**walked);
    out.branch = branch;
    return out;
  }

  std::string branch, rest = spec;
  if (auto at = spec.find('@'); at != std::string::npos) {
    branch = spec.substr(0, at);
    rest = spec.substr(at + 1);
  }
  out.branch = branch;
  if (rest == "base") return out;
  if (rest == "heads" || rest == "head") {
    std::vector<std::string> hs = heads();
    if (!branch.empty()) {
      RB_TRY_ASSIGN(auto b, resolve_one(branch, {}));
      hs = filter_for_lineage(hs, b);
    }
    if (rest == "head" && hs.size() > 1) {
      Error e = resolve_error(fmt::format("the scripts have {} heads ({}), so 'head' is ambiguous", hs.size(), join(hs, ", ")),
                              "name one of them, or use heads", "multiple-heads");
      return e;
    }
    out.revisions = hs;
    return out;
  }
  RB_TRY_ASSIGN(auto id, resolve_one(rest, branch));
  out.revisions.push_back(std::move(id));
  return out;
}

std::vector<std::string> RevisionGraph::topological_order(const std::set<std::string>& revisions,
                                                          const std::vector<std::string>& heads_in) const {
  const size_t n = scripts_.size();
  std::vector<char> todo(n, 0);
  for (const auto& r : revisions)
    if (auto it = index_.find(r); it != index_.end()) todo[it->second] = 1;
  std::vector<size_t> current;  // positions in scripts_, i.e. load order
  for (const auto& h : heads_in) {
    auto it = index_.find(h);
    if (it != index_.end() && todo[it->second] &&
        std::find(current.begin(), current.end(), it->second) == current.end())
      current.push_back(it->second);
  }
  std::sort(current.begin(), current.end());
  std::vector<std::vector<char>> ancestors_by_idx;
  for (size_t h : current) ancestors_by_idx.push_back(reach_idx({h}, true, true));

  std::vector<std::string> output;
  size_t idx = 0;
  while (!current.empty()) {
    const size_t candidate = current[idx];
    bool blocked = false;
    for (size_t k = 0; k < ancestors_by_idx.size(); ++k) {
      if (k != idx && ancestors_by_idx[k][candidate]) {
        // Another head depends on this one: it has to be walked first.
        idx = k;
        blocked = true;
        break;
      }
    }
    if (blocked) continue;
    if (todo[candidate]) {
      output.push_back(scripts_[candidate].revision);
      todo[candidate] = 0;
    }

    const Node& nd = nodes_[candidate];
    std::vector<size_t> to_add;
    for (size_t r : nd.norm_idx)
      if (todo[r] && std::find(current.begin(), current.end(), r) == current.end()) to_add.push_back(r);
    if (to_add.empty()) {
      current.erase(current.begin() + static_cast<long>(idx));
      ancestors_by_idx.erase(ancestors_by_idx.begin() + static_cast<long>(idx));
      idx = idx > 0 ? idx - 1 : 0;
    } else if (nd.norm_idx.size() == 1 && nd.parent_idx.size() == 1) {
      // Plain movement down a line: no merge point, no extra dependency.
      current[idx] = to_add[0];
      ancestors_by_idx[idx][candidate] = 0;
    } else {
      current[idx] = to_add[0];
      ancestors_by_idx[idx] = reach_idx({to_add[0]}, true, true);
      for (size_t k = 1; k < to_add.size(); ++k) {
        current.push_back(to_add[k]);
        ancestors_by_idx.push_back(reach_idx({to_add[k]}, true, true));
      }
    }
  }
  // Unreachable from the heads given (Alembic asserts this never happens): newest first.
  for (size_t i = n; i-- > 0;)
    if (todo[i]) output.push_back(scripts_[i].revision);
  return output;
}

std::string RevisionGraph::history_line(std::string_view id) const {
  const MigrationScript* s = find(id);
  if (!s) return {};
  std::string down = s->down_revisions.empty() ? "<base>" : join(s->down_revisions, ", ");
  std::string text = s->depends_on.empty() ? fmt::format("{} -> {}", down, s->revision)
                                           : fmt::format("{} ({}) -> {}", down, join(s->depends_on, ", "), s->revision);
  auto labels = branch_labels(id);
  if (!labels.empty()) text += fmt::format(" ({})", join(labels, ", "));
  if (is_real_head(id)) text += " (head)";
  if (is_head(id) && !is_real_head(id)) text += " (effective head)";
  if (node(id).children.size() > 1) text += " (branchpoint)";
  if (s->down_revisions.size() > 1) text += " (mergepoint)";
  text += ", " + s->doc;
  return text;
}

std::vector<std::string> RevisionGraph::history() const {
  std::set<std::string> all;
  for (const auto& s : scripts_) all.insert(s.revision);
  std::vector<std::string> out;
  for (const auto& id : topological_order(all, heads())) out.push_back(history_line(id));
  return out;
}

}  // namespace rb::db
