// Text from outside (command line, environment, files, AWS, git) is bytes. Before it reaches
// JSON, the journal or a terminal it goes through these: valid UTF-8, no control characters
// that could move the cursor, recolour the terminal or forge a line of output.
#pragma once

#include <string>
#include <string_view>

namespace rb {

// The Unicode replacement character U+FFFD, which stands for every invalid byte.
inline constexpr std::string_view kReplacementCharacter = "\xEF\xBF\xBD";

// Whether `text` is well-formed UTF-8 (no overlong forms, surrogates or code points past U+10FFFF).
bool is_valid_utf8(std::string_view text);

// `text` with every byte that is not part of a well-formed UTF-8 sequence replaced by U+FFFD.
// Valid text comes back unchanged. Linear time.
std::string to_valid_utf8(std::string_view text);

// Valid UTF-8 (as to_valid_utf8) in which control characters are shown as escapes instead of
// acting on a terminal: ESC becomes "\x1b", CR "\r", DEL "\x7f", C1 controls (U+0080..U+009F)
// "\u009b", and the bidirectional overrides that reorder what is shown (U+202A..U+202E,
// U+2066..U+2069) "\u202e". Tab is kept. A newline is kept when `keep_newlines`, so
// multi-line messages stay readable; otherwise it is shown as "\n" and the text stays on one
// line (a field such as a --reason cannot forge a line of its own).
std::string printable(std::string_view text, bool keep_newlines);

// printable(text, false): for one field of outside text inside a line of output or a commit
// message subject.
inline std::string printable_inline(std::string_view text) { return printable(text, false); }

}  // namespace rb
