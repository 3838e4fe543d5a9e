// unix_listen.cpp - bind_unix_socket and remove_unix_socket (see the header).
#include "core/io/unix_listen.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace asmtpd::io {

namespace {

std::string why(const char* step, const std::string& path) {
    return fmt::format("{} {}: {}", step, path, std::strerror(errno));
}

// Someone answers on the socket at path.
bool answers(const sockaddr_un& addr) {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    const bool yes = ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    return yes;
}

}  // namespace

UnixSocketFile bind_unix_socket(const std::string& path, unsigned mode, uid_t uid, gid_t gid, std::string& error) {
    UnixSocketFile out;
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.empty() || path.size() >= sizeof addr.sun_path) {
        error = fmt::format("socket path '{}' must have 1 to {} bytes", path, sizeof addr.sun_path - 1);
        return out;
    }
    std::memcpy(addr.sun_path, path.data(), path.size());
    if (const auto slash = path.rfind('/'); slash != std::string::npos && slash > 0) {
        const std::string dir = path.substr(0, slash);
        if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
            error = why("mkdir", dir);
            return out;
        }
    }
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            error = fmt::format("{} exists and is not a socket; not replacing it", path);
            return out;
        }
        if (answers(addr)) {
            error = fmt::format("{}: another process (an asmtpd still running?) answers on it", path);
            return out;
        }
        if (::unlink(path.c_str()) != 0) {
            error = why("unlink stale socket", path);
            return out;
        }
    }
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        error = why("socket", path);
        return out;
    }
    const mode_t old = ::umask(0177);   // start-up is single-threaded: nobody else sees this umask
    const int bound = ::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
    ::umask(old);
    const char* step = bound != 0 ? "bind" : nullptr;
    if (!step && (uid != static_cast<uid_t>(-1) || gid != static_cast<gid_t>(-1)) && ::chown(path.c_str(), uid, gid) != 0)
        step = "chown";
    if (!step && ::chmod(path.c_str(), static_cast<mode_t>(mode & 07777)) != 0) step = "chmod";
    if (!step && ::listen(fd, 16) != 0) step = "listen";
    if (!step && ::stat(path.c_str(), &st) != 0) step = "stat";
    if (step) {
        error = why(step, path);
        if (bound == 0) ::unlink(path.c_str());
        ::close(fd);
        return out;
    }
    out.fd = fd;
    out.dev = st.st_dev;
    out.ino = st.st_ino;
    return out;
}

void remove_unix_socket(const std::string& path, const UnixSocketFile& file) {
    struct stat st {};
    if (file.ino == 0 || ::lstat(path.c_str(), &st) != 0) return;
    if (S_ISSOCK(st.st_mode) && st.st_dev == file.dev && st.st_ino == file.ino) ::unlink(path.c_str());
}

}  // namespace asmtpd::io
