// rename_no_replace.hpp - move a finished file into place without ever replacing another.
//
// Maildir delivery and similar hand-offs end with a rename; a plain rename(2) silently
// overwrites a file that already has the name, losing the mail already delivered there.
// renameat2(RENAME_NOREPLACE) refuses instead; on file systems without it (EINVAL) link(2) +
// unlink(2) gives the same guarantee, as qmail's maildir delivery does.
// Blocking: call from a worker thread, never the loop.
#pragma once

namespace asmtpd::io {

// 0 on success, else the errno (EEXIST when `to` exists; `from` is then left in place).
int rename_no_replace(const char* from, const char* to);

}  // namespace asmtpd::io
