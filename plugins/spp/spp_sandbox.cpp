// spp_sandbox.cpp - see spp_sandbox.hpp. getpwnam_r/getgrnam_r run once, when the plugin line is
// loaded; the loop never looks anything up.
#include "plugins/spp/spp_sandbox.hpp"

#include <grp.h>
#include <pwd.h>

#include <fmt/format.h>

#include <vector>

#include "core/proto/plugin_args.hpp"

namespace asmtpd::plugins::spp {

namespace {

std::optional<uid_t> lookup_user(const std::string& name, gid_t* primary) {
    if (auto n = proto::parse_count(name)) {
        if (*n > 0xfffffffeULL) return std::nullopt;
        passwd pw {}, *found = nullptr;
        std::vector<char> buf(16384);
        if (::getpwuid_r(static_cast<uid_t>(*n), &pw, buf.data(), buf.size(), &found) == 0 && found)
            *primary = pw.pw_gid;
        else
            *primary = static_cast<gid_t>(*n);   // numeric uid without an entry: same-numbered group
        return static_cast<uid_t>(*n);
    }
    passwd pw {}, *found = nullptr;
    std::vector<char> buf(16384);
    if (::getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &found) != 0 || !found) return std::nullopt;
    *primary = pw.pw_gid;
    return pw.pw_uid;
}

std::optional<gid_t> lookup_group(const std::string& name) {
    if (auto n = proto::parse_count(name)) {
        if (*n > 0xfffffffeULL) return std::nullopt;
        return static_cast<gid_t>(*n);
    }
    group gr {}, *found = nullptr;
    std::vector<char> buf(16384);
    if (::getgrnam_r(name.c_str(), &gr, buf.data(), buf.size(), &found) != 0 || !found) return std::nullopt;
    return gr.gr_gid;
}

}  // namespace

std::optional<std::uint64_t> parse_byte_size(std::string_view text) {
    std::uint64_t scale = 1;
    if (!text.empty()) {
        switch (text.back()) {
            case 'K': case 'k': scale = 1ULL << 10; break;
            case 'M': case 'm': scale = 1ULL << 20; break;
            case 'G': case 'g': scale = 1ULL << 30; break;
            default: break;
        }
        if (scale != 1) text.remove_suffix(1);
    }
    auto n = proto::parse_count(text);
    if (!n || *n == 0 || *n > UINT64_MAX / scale) return std::nullopt;
    return *n * scale;
}

std::optional<std::string> parse_sandbox(const SandboxArgs& args, uid_t self_uid, gid_t self_gid, Sandbox& out) {
    out = Sandbox{};
    if (args.rlimit_cpu) {
        auto n = proto::parse_count(*args.rlimit_cpu);
        if (!n || *n == 0) return fmt::format("rlimit_cpu: expected whole seconds > 0, got '{}'", *args.rlimit_cpu);
        out.limits.cpu_seconds = *n;
    }
    if (args.rlimit_as) {
        auto n = parse_byte_size(*args.rlimit_as);
        // Below a few MiB not even /bin/sh starts: that is a typo, not a policy.
        if (!n || *n < (4ULL << 20))
            return fmt::format("rlimit_as: expected bytes >= 4M (suffix K, M or G), got '{}'", *args.rlimit_as);
        out.limits.as_bytes = *n;
    }
    if (args.user) {
        const std::string& spec = *args.user;
        auto colon = spec.find(':');
        std::string user = spec.substr(0, colon);
        gid_t gid = 0;
        auto uid = user.empty() ? std::nullopt : lookup_user(user, &gid);
        if (!uid) return fmt::format("user: no such user '{}'", user);
        if (colon != std::string::npos) {
            std::string grp = spec.substr(colon + 1);
            auto g = grp.empty() ? std::nullopt : lookup_group(grp);
            if (!g) return fmt::format("user: no such group '{}'", grp);
            gid = *g;
        }
        if (*uid == self_uid && gid == self_gid && self_uid != 0) return std::nullopt;   // nothing to change
        if (self_uid != 0)
            return fmt::format("user: running programs as uid {} gid {} needs asmtpd to run as root (it runs as uid {}; "
                               "asmtpd.yaml's user: root keeps root after the ports are bound)",
                               *uid, gid, self_uid);
        out.run_as = io::SpawnCredentials{*uid, gid};
    }
    return std::nullopt;
}

}  // namespace asmtpd::plugins::spp
