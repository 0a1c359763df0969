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

// For folders that hold state (journal, locks): creates it like ensure_private_dir, then refuses
// it (ExitCode::Refused, tag "unsafe-dir") unless it is a real folder (not a symbolic link) owned
// by this user and not writable by group or others, and every folder above it is owned by this
// user or root and writable by others only with the sticky bit (like /tmp). The error names the
// folder and the command that fixes it.
Status ensure_state_dir(const std::filesystem::path& path);

// Opens a state file (lock, journal) for reading and writing, creating it with mode 0600 when
// missing, without ever following a symbolic link (O_NOFOLLOW), and refuses (Refused, tag
// "unsafe-file") anything but a regular file owned by this user with a single link. Returns the
// file descriptor (close-on-exec).
Result<int> open_state_file(const std::filesystem::path& path);

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

// $XDG_STATE_HOME/rollback, or ~/.local/state/rollback; with HOME unset, the home folder of the
// user's passwd entry; without one, /tmp/rollback-<uid> (checked by ensure_state_dir like any other).
std::filesystem::path default_state_dir();

}  // namespace rb
