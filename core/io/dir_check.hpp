// dir_check.hpp - would creating this directory work? For `asmtpd --check`, which must create
// nothing (no spool, no maildir) yet still say what start-up would fail on.
#pragma once

#include <string>

namespace asmtpd::io {

// "" when `path` is a directory, or when its nearest existing ancestor is a directory this
// process may write into (so create_directories would succeed); else why not, naming the path.
std::string creatable_directory(const std::string& path);

}  // namespace asmtpd::io
