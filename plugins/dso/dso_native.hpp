// dso_native.hpp - the host side of hooks/plugin_abi.h: one call's state (asmtpd_call), the
// host API functions, the session snapshot a hook reads, the body reader, and the mapping of a
// hook's return value onto a hooks::Verdict.
//
// Rules: everything a hook can reach is owned by its NativeJob and touched by one thread at a
// time (the thread running the hook, then the loop thread once it returned); host API calls only
// record effects, which apply_effects() applies on the loop thread after the call, in order.
// Nothing here blocks except BodySource::read (pool threads only). No exception crosses the C
// boundary: every host function catches everything.
// Ownership: NativeJob is shared by the pending call and the pool request; it never moves once
// built (session_info points into it).
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/io/log.hpp"
#include "core/io/spool.hpp"
#include "core/proto/address.hpp"
#include "core/proto/reply.hpp"
#include "hooks/context.hpp"
#include "hooks/hook.hpp"
#include "hooks/plugin.hpp"
#include "hooks/plugin_abi.h"
#include "plugins/common/rcpthosts.hpp"

namespace asmtpd::plugins::dso {

using EnvMap = std::map<std::string, std::string>;

// Limits on what one call may ask for (plugin_abi.h section 6).
struct EffectLimits {
    std::size_t reply_bytes = 4096;
    std::size_t prefix_lines = 32;
    std::size_t header_line = 998;
    std::size_t header_bytes = 65536;
    std::size_t var_bytes = 4096;
    std::size_t env_changes = 256;
    std::size_t address_bytes = 900;
    std::size_t log_lines = 64;
    std::size_t log_line_bytes = 1024;
};

// What one call asked the host to do, in order of kind (each list keeps the plugin's order).
struct CallEffects {
    std::optional<proto::Reply> reply;   // set_reply; esc empty + default_esc: the hook's default
    bool default_esc = false;
    std::vector<std::string> prefix;
    std::vector<std::string> headers;    // "Name: value"
    std::vector<std::pair<std::string, std::optional<std::string>>> env;   // nullopt: unset
    std::optional<proto::Address> address;
    std::vector<std::pair<io::Level, std::string>> logs;
};

}  // namespace asmtpd::plugins::dso

// The opaque handle of the C header; global namespace because the header declares it there.
struct asmtpd_call {
    asmtpd::hooks::Hook hook = asmtpd::hooks::Hook::Count_;
    bool has_transaction = false;
    asmtpd::plugins::dso::EnvMap env;   // the client environment as this call sees it
    asmtpd::plugins::dso::EffectLimits limits;
    asmtpd::plugins::dso::CallEffects fx;
};

namespace asmtpd::plugins::dso {

// The host API table for a plugin (function pointers only; entry-time fields left empty).
void fill_host_api(asmtpd_host_api_v1& api);

// The message as on_data_end reads it: `head` (Received + added headers), then the spool.
struct BodySource {
    std::string head;
    std::shared_ptr<io::Spool> body;
    std::uint64_t body_offset = 0;   // the message goes on from here in body (Transaction::body_offset)
    std::uint64_t size() const {
        return head.size() + (body && body->size() > body_offset ? body->size() - body_offset : 0);
    }
    // Pool threads only (Spool::read_at may pread).
    std::int64_t read(std::uint64_t off, char* buf, std::size_t n) const;
};

// Everything one native hook call owns. Built on the loop thread by capture(); then used by the
// thread that runs the hook; then read back on the loop thread.
struct NativeJob {
    NativeJob() = default;
    NativeJob(const NativeJob&) = delete;
    NativeJob& operator=(const NativeJob&) = delete;

    // Copies what the hook may see. count_all: qmail-spp's SMTPRCPTCOUNTALL for on_rcpt.
    void capture(hooks::Context& ctx, hooks::Hook hook, const hooks::HookArgs& args,
                 const plugins::RcptHosts& rcpthosts, std::uint32_t count_all);
    // Runs the plugin's hook for `hook` (the thread that calls this is the hook's thread).
    void run(const asmtpd_plugin_v1& plugin);

    asmtpd_call call;
    asmtpd_session_info_v1 info{};
    asmtpd_body_reader_v1 reader{};
    BodySource source;
    int rc = ASMTPD_CONTINUE;
    bool threw = false;

private:
    std::deque<std::string> strings_;             // storage behind info's pointers (stable)
    std::deque<std::string> recipients_;
    std::vector<const char*> recipient_ptrs_;
    const char* keep(std::string s);
};

// The verdict for a hook's return value and effects (pure).
struct NativeOutcome {
    hooks::Verdict verdict;
    bool disable = false;    // DISABLE_PLUGINS
    bool bad_return = false; // not one of the ASMTPD_* verdicts
};
NativeOutcome native_verdict(hooks::Hook hook, int rc, const CallEffects& fx);

// Loop thread, after the call: logs, environment, headers, address (unless refused), prefix.
void apply_effects(hooks::Context& ctx, const io::Log& log, hooks::Hook hook, CallEffects& fx,
                   hooks::Verdict& v);

}  // namespace asmtpd::plugins::dso
