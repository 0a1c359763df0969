#include "core/team_lock.hpp"

#include <condition_variable>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "util/fs.hpp"
#include "util/hash.hpp"
#include "util/redact.hpp"
#include "util/strings.hpp"

namespace rb::team {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

namespace {

// Bytes of randomness in a holder id: enough that two acquisitions never collide.
constexpr size_t kHolderIdBytes = 12;

nlohmann::json s(const std::string& v) { return {{"S", v}}; }
nlohmann::json n(long v) { return {{"N", std::to_string(v)}}; }

std::string get_s(const nlohmann::json& item, const char* name) {
  if (!item.contains(name) || !item[name].contains("S")) return "";
  return item[name]["S"].get<std::string>();
}

long get_n(const nlohmann::json& item, const char* name) {
  if (!item.contains(name) || !item[name].contains("N")) return 0;
  try {
    return std::stol(item[name]["N"].get<std::string>());
  } catch (...) {
    return 0;
  }
}

bool is_ambiguous(const Error& e) { return e.tag == aws::kTagAmbiguous || aws::is_transport_error(e); }

std::string dur(milliseconds d) { return format_duration(d); }

Error held_error(const std::string& env, const TeamLockItem& item, milliseconds lease) {
  return lock_error(fmt::format("{} is locked: another rollback is running, by {}", env, item.describe()),
                    fmt::format("wait for it to finish (`rollback status --env {0}` shows it). If its process died, "
                                "`rollback unlock --env {0}` breaks the lock once nobody has renewed it for a full "
                                "lease ({1})",
                                env, dur(lease)));
}

class TeamHeldLock final : public HeldLock {
 public:
  TeamHeldLock(std::unique_ptr<TeamStore> store, std::unique_ptr<TeamStore> heartbeat_store, Clock& clock,
               std::string app, std::string env, TeamLockItem item, milliseconds lease, Warn warn)
      : store_(std::move(store)), heartbeat_store_(std::move(heartbeat_store)), clock_(clock), app_(std::move(app)),
        env_(std::move(env)), item_(std::move(item)), lease_(lease), warn_(std::move(warn)) {
    last_renewed_ = clock_.now();
    heartbeat_ = std::thread([this] { heartbeat_loop(); });
  }
  ~TeamHeldLock() override { release(); }

  void set_rollback_id(const std::string& id) override {
    if (released_) return;
    if (auto st = renew(*store_, id); !st)
      warn_(fmt::format("could not record rollback {} on the team lock of {}: {}", id, env_, st.error().message));
  }

  void release() override {
    if (released_) return;
    released_ = true;
    {
      std::lock_guard<std::mutex> g(mutex_);
      stop_ = true;
    }
    cv_.notify_all();
    if (heartbeat_.joinable()) heartbeat_.join();
    std::string holder_id;
    {
      std::lock_guard<std::mutex> g(mutex_);
      if (lost_) return;
      holder_id = item_.holder_id;
    }
    aws::DynamoDbWrite w;
    w.condition_expression = "#h = :h";
    w.attribute_names = {{"#h", "holder_id"}};
    w.attribute_values = {{":h", s(holder_id)}};
    for (int attempt = 1; attempt <= kLockWriteAttempts; ++attempt) {
      auto r = store_->db().delete_item(store_->table(), key(lock_pk(app_, env_), kLockSk), w);
      if (r || is_conditional_failure(r.error())) return;  // gone, or no longer ours
      if (!is_ambiguous(r.error())) {
        warn_(fmt::format("could not release the team lock of {}: {}; it expires after {} without renewal, then "
                          "`rollback unlock --env {}` breaks it",
                          env_, r.error().message, dur(lease_), env_));
        return;
      }
    }
    warn_(fmt::format("could not release the team lock of {} (DynamoDB kept failing); `rollback unlock --env {}` "
                      "breaks it after {}",
                      env_, env_, dur(lease_)));
  }

  std::string describe() const override {
    return fmt::format("team lock in DynamoDB table {} (lease {})", store_->table(), dur(lease_));
  }

 private:
  // Writes a new version (and the rollback id when given), conditional on our holder id and the
  // version we last wrote. Serialised: the heartbeat thread and the command share item_.
  Status renew(TeamStore& store, const std::string& rollback_id = {}) {
    std::lock_guard<std::mutex> g(mutex_);
    if (lost_) return failure("the lock was lost");
    long next = item_.version + 1;
    std::string expr = "SET #v = :nv, #hb = :hb";
    aws::DynamoDbWrite w;
    w.condition_expression = "#h = :h AND #v = :v";
    w.attribute_names = {{"#h", "holder_id"}, {"#v", "version"}, {"#hb", "heartbeat_at"}};
    w.attribute_values = {{":h", s(item_.holder_id)}, {":v", n(item_.version)}, {":nv", n(next)},
                          {":hb", s(iso8601(wall_now(clock_)))}};
    if (!rollback_id.empty()) {
      expr += ", #r = :r";
      w.attribute_names["#r"] = "rollback_id";
      w.attribute_values[":r"] = s(rollback_id);
    }
    Error last;
    for (int attempt = 1; attempt <= kLockWriteAttempts; ++attempt) {
      auto r = store.db().update_item(store.table(), key(lock_pk(app_, env_), kLockSk), expr, w);
      if (r) {
        item_.version = next;
        if (!rollback_id.empty()) item_.holder.rollback_id = rollback_id;
        return {};
      }
      last = r.take_error();
      if (!is_conditional_failure(last) && !is_ambiguous(last)) return last;
      // Did our write land (an ambiguous failure, or a resend after one), or is the item not ours?
      auto now = read_team_lock(store, app_, env_);
      if (!now) return now.take_error();
      if (*now && (*now)->holder_id == item_.holder_id && (*now)->version == next) {
        item_.version = next;
        if (!rollback_id.empty()) item_.holder.rollback_id = rollback_id;
        return {};
      }
      if (!*now || (*now)->holder_id != item_.holder_id || (*now)->version != item_.version) {
        lost_ = true;
        std::string by = *now ? (*now)->describe() : std::string("nobody (it was deleted)");
        return failure(fmt::format("the team lock of {} was taken over: it is now held by {}", env_, by));
      }
    }
    return last;
  }

  void heartbeat_loop() {
    const milliseconds interval = lease_ / 3;
    bool warned_stale = false;
    for (;;) {
      {
        std::unique_lock<std::mutex> g(mutex_);
        if (cv_.wait_for(g, interval, [this] { return stop_; })) return;
      }
      auto st = renew(*heartbeat_store_);
      if (st) {
        last_renewed_ = clock_.now();
        warned_stale = false;
        continue;
      }
      bool lost;
      {
        std::lock_guard<std::mutex> g(mutex_);
        lost = lost_;
      }
      if (lost) {
        warn_(fmt::format("{}; this rollback no longer holds {}: another operator may be changing it now",
                          st.error().message, env_));
        return;
      }
      if (!warned_stale && clock_.now() - last_renewed_ >= lease_) {
        warned_stale = true;
        warn_(fmt::format("could not renew the team lock of {} for a full lease ({}): {}; another operator may "
                          "break it now",
                          env_, dur(lease_), st.error().message));
      }
    }
  }

  std::unique_ptr<TeamStore> store_;
  std::unique_ptr<TeamStore> heartbeat_store_;
  Clock& clock_;
  std::string app_, env_;
  TeamLockItem item_;
  milliseconds lease_;
  Warn warn_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool lost_ = false;
  bool released_ = false;
  std::chrono::steady_clock::time_point last_renewed_;
  std::thread heartbeat_;
};

fs::path observation_path(const fs::path& dir, const std::string& app, const std::string& env) {
  return dir / fmt::format("{}.{}.observed.json", app, env);
}

std::optional<Observation> load_observation(const fs::path& path) {
  auto text = read_file(path);
  if (!text) return std::nullopt;
  auto j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  Observation o;
  o.holder_id = j.value("holder_id", "");
  o.version = j.value("version", 0L);
  o.first_seen = std::chrono::system_clock::time_point(milliseconds(j.value("first_seen_ms", 0LL)));
  return o;
}

void save_observation(const fs::path& path, const Observation& o) {
  long long ms = std::chrono::duration_cast<milliseconds>(o.first_seen.time_since_epoch()).count();
  (void)write_private_file(path, nlohmann::json{{"holder_id", o.holder_id}, {"version", o.version},
                                                {"first_seen_ms", ms}}.dump() + "\n");
}

}  // namespace

nlohmann::json TeamLockItem::to_item(const std::string& app, const std::string& env) const {
  nlohmann::json item = key(lock_pk(app, env), kLockSk);
  item["holder_id"] = s(holder_id);
  item["version"] = n(version);
  item["user"] = s(holder.user);
  item["host"] = s(holder.host);
  item["pid"] = n(holder.pid);
  item["command"] = s(redact(holder.command));
  item["since"] = s(holder.since);
  item["rollback_id"] = s(holder.rollback_id.empty() ? "-" : holder.rollback_id);
  item["identity"] = s(identity.empty() ? "-" : identity);
  item["heartbeat_at"] = s(heartbeat_at);
  item["lease_ms"] = n(lease_ms);
  return item;
}

std::optional<TeamLockItem> TeamLockItem::from_item(const nlohmann::json& item) {
  if (!item.is_object() || !item.contains("holder_id")) return std::nullopt;
  TeamLockItem t;
  t.holder_id = get_s(item, "holder_id");
  t.version = get_n(item, "version");
  t.holder.user = get_s(item, "user");
  t.holder.host = get_s(item, "host");
  t.holder.pid = get_n(item, "pid");
  t.holder.command = get_s(item, "command");
  t.holder.since = get_s(item, "since");
  t.holder.rollback_id = get_s(item, "rollback_id");
  if (t.holder.rollback_id == "-") t.holder.rollback_id.clear();
  t.identity = get_s(item, "identity");
  if (t.identity == "-") t.identity.clear();
  t.heartbeat_at = get_s(item, "heartbeat_at");
  t.lease_ms = get_n(item, "lease_ms");
  return t;
}

std::string TeamLockItem::describe() const {
  std::string who = holder.user;
  if (!identity.empty()) who += fmt::format(" ({})", identity);
  std::string out = fmt::format("{} on {} (pid {}", who, holder.host, holder.pid);
  if (!holder.command.empty()) out += fmt::format(", `{}`", holder.command);
  if (!holder.rollback_id.empty()) out += fmt::format(", rollback {}", holder.rollback_id);
  out += ")";
  if (!holder.since.empty()) out += " since " + holder.since;
  out += fmt::format("; last heartbeat {} (version {})", heartbeat_at.empty() ? "-" : heartbeat_at, version);
  return out;
}

Result<std::optional<TeamLockItem>> read_team_lock(TeamStore& store, const std::string& app, const std::string& env) {
  RB_TRY_ASSIGN(auto reply, store.db().get_item(store.table(), key(lock_pk(app, env), kLockSk)));
  if (!reply.contains("Item")) return std::optional<TeamLockItem>();
  return TeamLockItem::from_item(reply["Item"]);
}

Result<std::unique_ptr<HeldLock>> acquire_team_lock(TeamStore& store, Clock& clock, const std::string& app,
                                                    const std::string& env, LockHolder holder, std::string identity,
                                                    milliseconds lease, Warn warn) {
  TeamLockItem item;
  item.holder_id = random_hex(kHolderIdBytes);
  item.version = 1;
  item.holder = std::move(holder);
  item.identity = std::move(identity);
  item.heartbeat_at = iso8601(wall_now(clock));
  item.lease_ms = static_cast<long>(lease.count());
  aws::DynamoDbWrite w;
  w.condition_expression = "attribute_not_exists(pk)";
  Error last;
  for (int attempt = 1; attempt <= kLockWriteAttempts; ++attempt) {
    auto put = store.db().put_item(store.table(), item.to_item(app, env), w);
    if (put) {
      return std::unique_ptr<HeldLock>(new TeamHeldLock(store.clone(), store.clone(), clock, app, env, std::move(item),
                                                        lease, std::move(warn)));
    }
    last = put.take_error();
    if (!is_conditional_failure(last) && !is_ambiguous(last))
      return cannot_start(last, store.table(), fmt::format("take the team lock of {}", env));
    auto now = read_team_lock(store, app, env);
    if (!now) return cannot_start(now.error(), store.table(), fmt::format("take the team lock of {}", env));
    if (!*now) continue;  // released meanwhile, or our write did not land: try again
    if ((*now)->holder_id == item.holder_id)  // an ambiguous failure after our write landed
      return std::unique_ptr<HeldLock>(new TeamHeldLock(store.clone(), store.clone(), clock, app, env, std::move(item),
                                                        lease, std::move(warn)));
    milliseconds their_lease = (*now)->lease_ms > 0 ? milliseconds((*now)->lease_ms) : lease;
    return held_error(env, **now, their_lease);
  }
  return cannot_start(last, store.table(), fmt::format("take the team lock of {}", env));
}

BreakJudgement judge_expiry(const std::optional<Observation>& previous, const TeamLockItem& now_item,
                            std::chrono::system_clock::time_point now, milliseconds lease) {
  BreakJudgement j;
  if (previous && previous->holder_id == now_item.holder_id && previous->version == now_item.version &&
      previous->first_seen <= now) {
    j.observation = *previous;
  } else {
    j.observation = Observation{now_item.holder_id, now_item.version, now};
  }
  j.unchanged_for = std::chrono::duration_cast<milliseconds>(now - j.observation.first_seen);
  j.expired = j.unchanged_for >= lease;
  return j;
}

Result<BreakResult> break_team_lock(TeamStore& store, Clock& clock, const std::string& app, const std::string& env,
                                    milliseconds lease, const fs::path& observations_dir, bool wait,
                                    const std::function<void(const std::string&)>& progress) {
  fs::path path = observation_path(observations_dir, app, env);
  RB_TRY_ASSIGN(auto item, read_team_lock(store, app, env));
  if (!item) {
    std::error_code ec;
    fs::remove(path, ec);
    return BreakResult{true, std::nullopt};
  }
  if (item->lease_ms > lease.count()) lease = milliseconds(item->lease_ms);
  auto judgement = judge_expiry(load_observation(path), *item, wall_now(clock), lease);
  save_observation(path, judgement.observation);
  if (!judgement.expired && !wait)
    return lock_error(
        fmt::format("{} is locked by {}. Nobody has renewed it for {} as seen from this machine; it can be broken "
                    "once that reaches the full lease ({})",
                    env, item->describe(), dur(judgement.unchanged_for), dur(lease)),
        fmt::format("run `rollback unlock --env {}` again in {} (or without --no-wait, to watch it until then). "
                    "A live holder renews it every {} and is never broken",
                    env, dur(lease - judgement.unchanged_for), dur(lease / 3)));
  if (!judgement.expired)
    progress(fmt::format("watching the lock for {} more: a live holder renews it every {}, a dead one does not",
                         dur(lease - judgement.unchanged_for), dur(lease / 3)));
  while (!judgement.expired) {
    if (!clock.sleep_for(kBreakPollInterval)) return interrupted_error("interrupted while watching the lock");
    RB_TRY_ASSIGN(auto again, read_team_lock(store, app, env));
    if (!again) {
      std::error_code ec;
      fs::remove(path, ec);
      return BreakResult{true, std::nullopt};
    }
    if (again->holder_id != item->holder_id || again->version != item->version)
      return lock_error(fmt::format("{} is held by a live rollback: its lock was renewed while we watched: {}", env,
                                    again->describe()),
                        "a live lock is not broken: wait for that rollback, or ask its holder to stop it");
    judgement = judge_expiry(judgement.observation, *again, wall_now(clock), lease);
  }
  aws::DynamoDbWrite w;
  w.condition_expression = "#h = :h AND #v = :v";
  w.attribute_names = {{"#h", "holder_id"}, {"#v", "version"}};
  w.attribute_values = {{":h", s(item->holder_id)}, {":v", n(item->version)}};
  for (int attempt = 1; attempt <= kLockWriteAttempts; ++attempt) {
    auto del = store.db().delete_item(store.table(), key(lock_pk(app, env), kLockSk), w);
    if (del) break;
    Error e = del.take_error();
    if (is_conditional_failure(e)) {
      auto now = read_team_lock(store, app, env);
      std::string what = now && *now ? "it is now held by " + (*now)->describe() : std::string("it is gone");
      return lock_error(fmt::format("the lock of {} changed while breaking it ({}): someone else broke it, or its "
                                    "holder renewed it",
                                    env, what),
                        fmt::format("check `rollback status --env {}` before doing anything", env));
    }
    if (!is_ambiguous(e)) return e;
    RB_TRY_ASSIGN(auto now, read_team_lock(store, app, env));
    if (!now) break;  // our delete landed
    if (now->holder_id != item->holder_id || now->version != item->version)
      return lock_error(fmt::format("the lock of {} changed while breaking it: it is now held by {}", env,
                                    now->describe()));
    if (attempt == kLockWriteAttempts) return e;
  }
  std::error_code ec;
  fs::remove(path, ec);
  return BreakResult{false, std::move(item)};
}

}  // namespace rb::team
