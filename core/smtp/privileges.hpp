// privileges.hpp - who the daemon runs as: asmtpd.yaml's user:/group: weighed against the ids it
// was started with, and the drop itself.
//
// Start-up order (main.cpp): settings -> resolve_run_as -> as root: TLS key, spool dir,
// listening sockets -> drop_privileges -> plugins (dso .so files too), workers, the first accept.
// So nothing that parses what a client sends, and no plugin code, ever runs as root unless
// asmtpd.yaml says `user: root`.
//
//   started as root, user: absent       error: naming the key (root must be asked for)
//   started as root, user: root (uid 0) keep root; group: is an error (it would change nothing)
//   started as root, user: NAME|UID     setgroups(the user's groups), setgid, setuid; verified
//   not root, user: absent or ourselves keep our ids (group: must then be our own gid)
//   not root, user: someone else        error: only root can switch users
//
// Must never: return a RunAs for a name that does not resolve (never "no such user, stay root");
// report a drop as done unless getresuid/getresgid/getgroups read back exactly the target and
// setuid(0) then fails. Reads passwd/group at start-up only.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "core/smtp/settings.hpp"

namespace asmtpd::smtp {

struct RunAs {
    bool drop = false;             // false: keep the ids the daemon was started with
    std::string name;              // for log lines ("nobody"); the uid when it has no entry
    uid_t uid = 0;
    gid_t gid = 0;
    std::vector<gid_t> groups;     // supplementary groups after the drop: the user's, gid first
};

// The ids the daemon was started with (geteuid/getegid), passed in so tests can play root.
struct StartIds {
    uid_t euid = 0;
    gid_t egid = 0;
};
StartIds current_ids();

// user:/group: against `ids`; errors are "FILE:LINE: user: ..." (FILE is asmtpd.yaml's path).
std::optional<RunAs> resolve_run_as(const RunAsSettings& s, const std::string& file, StartIds ids,
                                    std::string& error);

// A group name or number, as group: takes it; nullopt when it does not resolve.
std::optional<gid_t> lookup_group(const std::string& spec);

// setgroups, setgid, setuid, then reads every id back. Nothing to do when !run_as.drop.
bool drop_privileges(const RunAs& run_as, std::string& error);

// A directory the daemon writes (spool_dir): created 0700 when missing, and then given to the
// user it drops to; an existing one is left as its owner made it (never chown a path an admin
// may share, like /tmp). Call before the drop.
bool prepare_private_dir(const std::string& path, const RunAs& run_as, std::string& error);

}  // namespace asmtpd::smtp
