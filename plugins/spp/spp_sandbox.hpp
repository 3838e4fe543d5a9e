// spp_sandbox.hpp - who spp programs run as and what they may use (SPP.md 5.2.1): the `user`,
// `rlimit_cpu` and `rlimit_as` arguments of the spp plugin line.
//
//   user NAME|UID[:GROUP|GID]   run every program as this user (its primary group unless one is
//                               given; supplementary groups dropped). Needs asmtpd to run as root,
//                               unless it names asmtpd's own uid and gid (then nothing changes):
//                               plugins load after the privilege drop, so with asmtpd.yaml's
//                               user: NAME this is refused at start-up; user: root keeps root.
//   rlimit_cpu SECONDS          RLIMIT_CPU for each program (the kernel kills it past that)
//   rlimit_as BYTES[K|M|G]      RLIMIT_AS (address space) for each program
// Must never: accept uid 0 as a sandbox target silently ("user root" is allowed, but it is what
// it says), or turn a lookup failure into "run as root". Reads the passwd/group databases at
// start-up only.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/io/spawn.hpp"

namespace asmtpd::plugins::spp {

struct Sandbox {
    std::optional<io::SpawnCredentials> run_as;   // nullopt: keep asmtpd's own
    io::SpawnLimits limits;
};

// Each argument may be absent (nullopt). Returns the error text for the plugin line, or the
// sandbox. `self_uid`/`self_gid` are asmtpd's effective ids (passed in for tests).
struct SandboxArgs {
    std::optional<std::string> user, rlimit_cpu, rlimit_as;
};
std::optional<std::string> parse_sandbox(const SandboxArgs& args, uid_t self_uid, gid_t self_gid, Sandbox& out);

// "64M" -> 67108864; digits with an optional K, M or G (powers of 1024).
std::optional<std::uint64_t> parse_byte_size(std::string_view text);

}  // namespace asmtpd::plugins::spp
