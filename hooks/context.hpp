// context.hpp - the narrow view of a live session that a plugin gets (never the Session).
//
// Rules: a handler may use its Context until it resolves its HookCall. A plugin that keeps
// working after that (or across loop iterations) must check lifetime() before touching the
// Context again: the session may be gone. Nothing here blocks.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/io/child_process.hpp"
#include "core/io/log.hpp"
#include "core/io/reactor.hpp"
#include "core/io/resolver.hpp"
#include "core/io/state_store.hpp"
#include "core/proto/config_path.hpp"
#include "core/proto/connection_info.hpp"
#include "core/proto/setting_tree.hpp"
#include "hooks/flat_config.hpp"
#include "hooks/notes.hpp"
#include "hooks/transaction.hpp"

namespace asmtpd::hooks {

// Server-wide facts a plugin may need (from asmtpd.yaml), fixed for one configuration load.
struct ServerFacts {
    std::string hostname = "localhost";         // "me": greeting, Received, maildir names
    // The configuration directory (absolute once the daemon loaded it). Every relative path a
    // plugin is given (an argument naming a file, directory or program) means a path in it:
    // open path(arg), never arg itself (the working directory is not the base; issue 15).
    std::string config_dir = "./config";
    std::string path(std::string_view p) const { return proto::resolve_config_path(config_dir, p); }
    std::string spool_dir = "./var/spool";
    std::chrono::milliseconds plugin_timeout{30000};
    std::uint64_t databytes = 26214400;
    std::size_t max_rcpts = 100;
    std::size_t max_connections_per_ip = 50;
    // asmtpd.yaml sections owned by plugins, by key (CatalogEntry::settings_key).
    std::map<std::string, proto::SettingNode> plugin_settings;
    // `asmtpd --check`: validate only. init() must create nothing (no directory, no file) and
    // report what it would fail on instead.
    bool check_only = false;
};

class Context {
public:
    virtual ~Context() = default;

    virtual proto::ConnectionInfo& connection() = 0;
    // Null outside a transaction (before MAIL is accepted, after queueing or RSET).
    virtual Transaction* transaction() = 0;
    virtual Notes& notes() = 0;                       // connection notes
    virtual const FlatConfig& config() const = 0;
    virtual const ServerFacts& server() const = 0;
    // The worker loop: timers, the thread pool, the clock, per-loop state keyed by its address.
    virtual const io::Reactor& reactor() const = 0;
    virtual const io::Log& log() const = 0;           // tagged with the session id

    // Bytes the client sent that the session has not acted on (early talkers, pipelining).
    virtual std::size_t unread_input() const = 0;
    // Runs fn after ms unless the session ends first (then fn never runs).
    virtual void after(std::uint64_t ms, std::function<void()> fn) = 0;
    // Expires when the session is destroyed.
    virtual std::weak_ptr<const void> lifetime() const = 0;
    // The loop's shared runner for external programs (global concurrency cap, FIFO).
    virtual io::ChildRunner& children() = 0;
    // DNS lookups on the loop's resolver (cache shared by the loop's sessions); callbacks still
    // pending when the session ends are dropped. Give every query a deadline below the plugin
    // timeout. See core/io/resolver.hpp.
    virtual io::DnsScope& dns() = 0;
    // The loop's state store (asmtpd.yaml `state:`, embedded LMDB or Redis): batches of get/set/
    // counter/window ops, one round trip each; callbacks still pending when the session ends are
    // dropped. Every answer may be a failure (StateStatus): apply your documented fail mode.
    virtual io::StateScope& state() = 0;
    // Runs `work` on the loop's CPU thread (io::CpuThread: one thread, jobs in the order posted,
    // OpenSSL state released at exit), then `after` on the loop, never inside this call. For
    // CPU-bound work (signature checks, signing) that would stall every session of the loop.
    // `after` runs even if the session has ended: check lifetime() there.
    virtual void run_on_cpu_thread(std::function<void()> work, std::function<void()> after) = 0;
    // run_on_cpu_thread() without `after`, cheaper (io::CpuThread::post): the loop is not woken
    // when it is done. For work whose result a later run_on_cpu_thread() job reads (jobs run in
    // the order posted), e.g. dkim's body hashing. `work` and its captures are destroyed on the
    // CPU thread: capture only owned values and shared_ptr to state that guards itself (a mutex),
    // never the session or the transaction.
    virtual void post_to_cpu_thread(std::function<void()> work) { run_on_cpu_thread(std::move(work), [] {}); }
    // Adds a line in front of the next reply to the client (qmail-spp's "P"). A leading
    // "NNN-" or "NNN " is dropped: the reply's own code frames every line, so the client always
    // gets exactly one well-formed reply.
    virtual void prefix_reply(std::string line) = 0;
    // Counts `n` events named `event` for the plugin instance named `plugin` (its name()):
    // asmtpd_plugin_events_total{plugin,event} on the metrics page when `metrics:` is on, summed
    // over the workers (docs/OPERATIONS.md). A plugin's first 16 event names get a series each,
    // later ones count as event="_other": use a fixed set of names, never a client's data.
    virtual void count(std::string_view plugin, std::string_view event, std::uint64_t n = 1) {
        (void)plugin, (void)event, (void)n;
    }
};

}  // namespace asmtpd::hooks
