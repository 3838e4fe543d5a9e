// spp_scripts.hpp - helpers of the spp plugin tests (spp_*_test.cpp that drive plugins/spp/spp.cpp
// on a real loop): /bin/sh programs in the config dir, the wire text of a verdict, reading a
// file, whether a pid is gone, running the loop until a condition, HELO and AUTH hook arguments.
//
// Must never: block the loop without a deadline (spin gives up after its time).
#pragma once

#include <doctest/doctest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <optional>
#include <string>
#include <thread>

#include "hooks/defaults.hpp"
#include "t/support/fake_context.hpp"

namespace asmtpd::test::spp_scripts {

// A /bin/sh program in the config dir (qmail's home in these tests).
inline std::string script(FakeContext& ctx, const std::string& name, const std::string& body) {
    std::string path = ctx.dir() / name;
    ctx.dir().write(name, "#!/bin/sh\n" + body);
    REQUIRE(::chmod(path.c_str(), 0755) == 0);
    return path;
}

inline std::string wire(hooks::Hook h, const std::optional<hooks::Verdict>& v) {
    REQUIRE(v);
    return hooks::dispose(h, *v).reply.wire(true);
}

inline std::string slurp(const std::string& path) { return test::read_file(path); }

inline bool process_gone(int pid) { return ::kill(pid, 0) != 0 && errno == ESRCH; }

// Runs the loop without blocking until pred() or the time is up.
template <class P>
bool spin(FakeContext& ctx, P pred, int ms = 5000) {
    auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (std::chrono::steady_clock::now() < end) {
        if (pred()) return true;
        uv_run(ctx.loop(), UV_RUN_NOWAIT);
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return pred();
}

inline hooks::HookArgs helo(const std::string& h) {
    return hooks::HeloArgs{h};
}

inline hooks::HookArgs auth_args(const std::string& mech, const std::string& user) {
    return hooks::AuthArgs{mech, user, {}, {}};
}

}  // namespace asmtpd::test::spp_scripts
