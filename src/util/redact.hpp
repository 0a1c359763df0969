// Keeping secrets out of output, logs, the journal and reports.
// Every line the tool writes anywhere passes through redact().
#pragma once

#include <string>
#include <string_view>

namespace rb {

// Registers a secret value (an AWS secret key, a session token, a database password, a
// webhook URL) so that redact() replaces it wherever it appears. Values shorter than
// 4 characters are ignored (they would mask ordinary text).
void register_secret(std::string_view secret);

// Replaces registered secrets with "****", and masks the password in URLs of the form
// scheme://user:password@host and well-known secret-bearing fields.
std::string redact(std::string_view text);

}  // namespace rb
