#include "cli/mistakes.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <algorithm>

#include "util/strings.hpp"

namespace rb::cli {

namespace {

std::vector<std::string> subcommand_names(const CLI::App& app) {
  std::vector<std::string> names;
  for (const CLI::App* s : app.get_subcommands([](const CLI::App* sub) { return !sub->get_name().empty(); }))
    names.push_back(s->get_name());
  return names;
}

// "--env=prod" -> "--env"
std::string option_name(const std::string& word) {
  auto eq = word.find('=');
  return eq == std::string::npos ? word : word.substr(0, eq);
}

bool has_positionals(const CLI::App& app) {
  return !app.get_options([](const CLI::Option* o) { return o->get_positional(); }).empty();
}

}  // namespace

std::optional<Error> check_command_words(const CLI::App& app, const std::vector<std::string>& args) {
  const CLI::App* level = &app;
  std::string path = "rollback";
  bool env_given = false;
  for (const auto& a : args)
    if (option_name(a) == "--env" || a == "-e" || (a.size() > 2 && a.compare(0, 2, "-e") == 0)) env_given = true;

  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& w = args[i];
    if (w == "--") break;  // everything after is positional by definition
    if (!w.empty() && w[0] == '-') {
      // Skip the value of an option that takes one ("--env prod", not "--env=prod"; flags take none).
      const CLI::Option* opt = level->get_option_no_throw(option_name(w));
      if (opt != nullptr && opt->get_items_expected_max() > 0 && w.find('=') == std::string::npos) ++i;
      continue;
    }
    std::vector<std::string> names = subcommand_names(*level);
    auto found = std::find(names.begin(), names.end(), w);
    if (found != names.end()) {
      auto subs = level->get_subcommands([&w](const CLI::App* sub) { return sub->get_name() == w; });
      if (subs.empty()) return std::nullopt;
      level = subs.front();
      path += " " + w;
      continue;
    }
    if (!names.empty() && level->get_require_subcommand_min() > 0) {
      Error e = usage_error(fmt::format("unknown command '{}'{}", w, level == &app ? "" : " for `" + path + "`"));
      e.error_code = ErrorCode::UnknownCommand;
      if (auto close = closest_match(w, names))
        e.hint = fmt::format("did you mean `{} {}`? (commands: {})", path, *close, join(names, ", "));
      else
        e.hint = fmt::format("commands: {}; see `{} --help`", join(names, ", "), path);
      return e;
    }
    if (!names.empty()) {
      // A level whose subcommand is optional (`rollback db` or `rollback db status`): a word close
      // to one of them is a misspelt subcommand, not an argument.
      if (auto close = closest_match(w, names); close && !has_positionals(*level)) {
        Error e = usage_error(fmt::format("unknown command '{}' for `{}`", w, path),
                              fmt::format("did you mean `{} {}`?", path, *close));
        e.error_code = ErrorCode::UnknownCommand;
        return e;
      }
    }
    // A bare word where the command takes none: most likely the environment, given without --env.
    if (!has_positionals(*level) && level->get_option_no_throw("--env") != nullptr) {
      std::vector<std::string> fixed = args;
      if (env_given) {
        return usage_error(fmt::format("unexpected argument '{}' for `{}`", w, path),
                           fmt::format("`{}` takes no arguments besides its options; see `{} --help`", path, path));
      }
      fixed[i] = "--env " + w;
      return usage_error(fmt::format("unexpected argument '{}' for `{}`: environments are named with --env", w, path),
                         fmt::format("if you meant the environment {}, run: rollback {}", w, join(fixed, " ")));
    }
  }
  return std::nullopt;
}

}  // namespace rb::cli
