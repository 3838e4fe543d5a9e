// rename_no_replace.cpp - see rename_no_replace.hpp.
#include "core/io/rename_no_replace.hpp"

#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <unistd.h>

#include <cerrno>

namespace asmtpd::io {

int rename_no_replace(const char* from, const char* to) {
    if (::renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0) return 0;
    if (errno != EINVAL && errno != ENOSYS) return errno;
    if (::link(from, to) != 0) return errno;
    // The message is now in place; a tmp/ name left behind is harmless and cleaned by readers.
    ::unlink(from);
    return 0;
}

}  // namespace asmtpd::io
