// Helpers shared by the infra unit tests: where the fixtures are, reading them.
// Two sources: the project's own small fixtures under tests/fixtures/ (every unit test may use
// them; they travel with a clone), and the shared conformance fixtures under
// $ROLLBACK_SHARED_DIR/fixtures (only tests in a `conformance_*` suite may read them; each starts
// with RB_REQUIRE_SHARED_FIXTURES() so it is skipped, with the reason, when the folder is absent).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace rb::infra::testing {

// The shared folder (fixtures/, DOMAIN.md): $ROLLBACK_SHARED_DIR first, else the compile definition
// (which assumes the source tree sits next to it; worktrees elsewhere set the variable or a symlink).
inline std::filesystem::path shared_dir() {
  if (const char* env = std::getenv("ROLLBACK_SHARED_DIR"); env != nullptr && *env != '\0') return env;
  return ROLLBACK_SHARED_DIR;
}

inline std::filesystem::path fixture_path(const std::string& relative) { return shared_dir() / "fixtures" / relative; }

// A fixture the project writes itself: tests/fixtures/<relative> in the source tree.
inline std::filesystem::path project_fixture_path(const std::string& relative) {
  return std::filesystem::path(ROLLBACK_SOURCE_DIR) / "tests" / "fixtures" / relative;
}

// Whether the shared conformance fixtures are there (they are not in a clone of the project alone).
inline bool shared_fixtures_present() { return std::filesystem::is_directory(shared_dir() / "fixtures"); }

// The exact bytes of a project fixture; fails the test (and returns "") when it cannot be read.
inline std::string read_project_fixture(const std::string& relative) {
  std::ifstream in(project_fixture_path(relative), std::ios::binary);
  if (!in) {
    ADD_FAILURE() << "cannot read project fixture " << project_fixture_path(relative);
    return {};
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The exact bytes of a fixture; fails the test (and returns "") when it cannot be read.
inline std::string read_fixture(const std::string& relative) {
  std::ifstream in(fixture_path(relative), std::ios::binary);
  if (!in) {
    ADD_FAILURE() << "cannot read fixture " << fixture_path(relative)
                  << " (set ROLLBACK_SHARED_DIR to the folder holding fixtures/)";
    return {};
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// File names in a fixture folder ending in `suffix`, sorted.
inline std::vector<std::string> fixture_names(const std::string& folder, const std::string& suffix) {
  std::vector<std::string> names;
  std::error_code ec;
  std::filesystem::directory_iterator it(fixture_path(folder), ec);
  if (ec) {
    ADD_FAILURE() << "cannot list fixtures in " << fixture_path(folder) << ": " << ec.message()
                  << " (set ROLLBACK_SHARED_DIR to the folder holding fixtures/)";
    return names;
  }
  for (const auto& entry : it) {
    std::string name = entry.path().filename().string();
    if (name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace rb::infra::testing

// First statement of every conformance test: skips it, saying why, when the shared fixtures are absent.
#define RB_REQUIRE_SHARED_FIXTURES()                                                                      \
  do {                                                                                                   \
    if (!::rb::infra::testing::shared_fixtures_present())                                                \
      GTEST_SKIP() << "conformance fixtures not found at " << ::rb::infra::testing::shared_dir() / "fixtures" \
                   << " (set ROLLBACK_SHARED_DIR to the folder holding fixtures/ to run this tier)";     \
  } while (0)
