// unix_listen.hpp - a listening Unix-domain stream socket at a path (the control socket,
// core/smtp/control_server.hpp), made before the privilege drop like the SMTP ports.
//
// Rules: the socket file never exists with more permissions than asked: it is bound under a
// umask that leaves it 0600, then given its owner and group, then its mode. A socket file left
// by a daemon that is gone (connect is refused) is replaced; a live one (another instance
// answers), or a path that is not a socket, is an error and is never removed. The parent
// directory is created (0755) when missing, its parent is not.
#pragma once

#include <sys/types.h>

#include <string>

namespace asmtpd::io {

struct UnixSocketFile {
    int fd = -1;          // listening, non-blocking, close-on-exec; -1 on failure
    dev_t dev = 0;        // the file bound, so only that one is removed at exit
    ino_t ino = 0;
};

// uid/gid: the file's owner and group ((uid_t)-1 / (gid_t)-1: leave as created).
UnixSocketFile bind_unix_socket(const std::string& path, unsigned mode, uid_t uid, gid_t gid, std::string& error);

// Removes path if it is still the socket `file` bound (a later instance may own the path now).
// Errors are ignored: after the privilege drop the directory may not be ours to change.
void remove_unix_socket(const std::string& path, const UnixSocketFile& file);

}  // namespace asmtpd::io
