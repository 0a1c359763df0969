// Files: reading, private (0600) atomic writes, temporary directories.
#pragma once

#include <filesystem>
#include <string>

#include "util/result.hpp"

namespace rb {

// The most read_file() reads by default: the largest files read whole are migration scripts
// and AWS credential files (kilobytes); 64 MiB is far beyond any of them yet keeps a wrong
// path (a disk image, a log) from filling memory. Callers with a tighter natural size pass
// their own limit.
inline constexpr size_t kMaxFileRead = size_t{64} << 20;

// Reads a regular file whole. A folder is refused as "is a directory", anything else that is
// not a regular file (a device such as /dev/zero, a FIFO, a socket) as "is not a regular
// file", and a file larger than `max_bytes` as too large: never an endless read.
Result<std::string> read_file(const std::filesystem::path& path, size_t max_bytes = kMaxFileRead);

// Writes `data` to `path` atomically (a temporary file in the same folder, then rename),
// with mode 0600 from the moment it is created. Creates missing parent folders with 0700.
Status write_private_file(const std::filesystem::path& path, const std::string& data);

// Creates the folder (and parents) with mode 0700 if missing.
Status ensure_private_dir(const std::filesystem::path& path);

// A uniquely named folder under $TMPDIR (mode 0700), removed with everything in it on destruction.
class TempDir {
 public:
  static Result<TempDir> create(const std::string& prefix);
  TempDir(TempDir&& other) noexcept;
  TempDir& operator=(TempDir&&) = delete;
  TempDir(const TempDir&) = delete;
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }

 private:
  explicit TempDir(std::filesystem::path p) : path_(std::move(p)) {}
  std::filesystem::path path_;
};

// $XDG_STATE_HOME/rollback, or ~/.local/state/rollback.
std::filesystem::path default_state_dir();

}  // namespace rb
