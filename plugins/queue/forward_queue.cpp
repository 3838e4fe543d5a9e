// forward_queue.cpp - queue hook plumbing shared by the SMTP and LMTP forwarders (see header).
//
// Must never: resolve before the pool answers (except when there is nothing to send or no
// route), say OK unless every recipient domain's next hop said 2xx, try another address once
// anything of the transaction went out (that could deliver twice in one go), capture the
// Context or the plugin past the DNS lookups (the session may be gone by then), or let a path
// end without resolving the call.
#include "plugins/queue/forward_queue.hpp"

#include <chrono>
#include <map>
#include <mutex>
#include <random>

#include "core/client/route_lookup.hpp"
#include "core/proto/dsn.hpp"
#include "core/proto/text.hpp"
#include "plugins/queue/delivery_verdict.hpp"

namespace asmtpd::plugins {

namespace {

using Clock = std::chrono::steady_clock;
constexpr std::uint64_t kMinAttemptMs = 1000;   // less budget than this: no further address
constexpr std::size_t kPruneAbove = 256;        // pools per plugin before unused ones go

std::size_t random_index(std::size_t n) {
    thread_local std::mt19937 rng{std::random_device{}()};
    return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng);
}

}  // namespace

std::optional<client::Envelope> envelope_of(const hooks::Transaction& t, std::string& why) {
    if (!t.sender) {
        why = "no sender";
        return std::nullopt;
    }
    if (t.recipients.empty()) {
        why = "no recipient";
        return std::nullopt;
    }
    if (!t.body) {
        why = "no message body";
        return std::nullopt;
    }
    if (t.body->failed()) {
        why = "the message spool failed";
        return std::nullopt;
    }
    client::Envelope e;
    e.id = t.id;
    e.sender = t.sender->format();
    for (const auto& r : t.recipients) {
        e.recipients.push_back(r.format());
        const auto* params = t.params_of(r);
        auto dsn = params ? proto::dsn_rcpt_params(*params) : proto::DsnRcptParams{};
        e.dsn_rcpts.push_back(dsn ? proto::format_dsn_rcpt(*dsn) : std::string());
    }
    if (auto dsn = proto::dsn_mail_params(t.mail_params)) e.dsn_mail = proto::format_dsn_mail(*dsn);
    for (const auto& p : t.mail_params) {
        if (p.keyword == "BODY" && p.value && proto::to_lower(*p.value) == "8bitmime") e.body_8bit = true;
        if (p.keyword == "SMTPUTF8") e.smtputf8 = true;
    }
    e.header_prefix = t.header_prefix();
    e.body = t.body;
    e.body_offset = t.body_offset;
    return e;
}

struct PoolSet::State {
    client::ClientConfig config;
    std::string helo_name;
    std::mutex mu;
    std::map<std::pair<const void*, std::string>, std::shared_ptr<client::SmtpPool>> pools;   // by Reactor::loop_id()
    bool draining = false;

    // The pool of this loop for one address (or the Unix socket).
    std::shared_ptr<client::SmtpPool> pool_for(const io::Reactor& reactor, const client::NextHop& target) {
        const void* loop = reactor.loop_id();
        std::lock_guard<std::mutex> lock(mu);
        auto key = std::make_pair(loop, target.describe());
        auto it = pools.find(key);
        if (it != pools.end()) return it->second;
        if (pools.size() >= kPruneAbove) {
            // Only this loop's pools: another loop's are touched only on its own thread.
            for (auto p = pools.begin(); p != pools.end();)
                p = (p->first.first == loop && p->second->unused()) ? pools.erase(p) : std::next(p);
        }
        client::ClientConfig c = config;
        c.hop = target;
        auto pool = client::SmtpPool::create(reactor, std::move(c), helo_name);
        if (draining) pool->shutdown();   // a delivery that outlived a reload: no reuse after it
        pools.emplace(std::move(key), pool);
        return pool;
    }

    void shutdown() {
        std::lock_guard<std::mutex> lock(mu);
        draining = true;
        for (auto& [key, pool] : pools) pool->shutdown();
    }
};

PoolSet::PoolSet(client::ClientConfig config, std::string helo_name) : state_(std::make_shared<State>()) {
    state_->config = std::move(config);
    state_->helo_name = std::move(helo_name);
}

PoolSet::~PoolSet() { state_->shutdown(); }

const client::ClientConfig& PoolSet::config() const { return state_->config; }

namespace {

// One queue hook call in flight: its routes, then the deliveries one route after another.
class Forward final : public std::enable_shared_from_this<Forward> {
public:
    struct Group {
        std::string domain;              // empty: the configured next hop
        client::Envelope envelope;       // this group's recipients
        client::Route route;
    };

    Forward(hooks::HookCall call, io::Log log, std::string tag, Decide decide, io::Reactor reactor,
            std::shared_ptr<PoolSet::State> pools)
        : call_(std::move(call)), log_(std::move(log)), tag_(std::move(tag)), decide_(std::move(decide)), reactor_(reactor),
          pools_(std::move(pools)), started_(Clock::now()) {}

    // dns: the session's lookups; used (and needed) only for a host name or "mx".
    void start(io::DnsScope* dns, client::Envelope env) {
        id_ = env.id;
        const client::NextHop& hop = pools_->config.hop;
        if (!hop.mx) {
            groups_.push_back({{}, std::move(env), {}});
            if (!hop.needs_dns()) {   // a Unix socket, an IP literal or localhost: as configured
                groups_[0].route.status = client::Route::Status::Ok;
                groups_[0].route.addresses = {hop.host};
                return deliver_group();
            }
            auto self = shared_from_this();
            client::lookup_host_route(*dns, hop.host, dns_budget(), [self](client::Route r) { self->routed(0, std::move(r)); });
            return;
        }
        for (const auto& g : client::group_by_domain(env.recipients)) {
            client::Envelope part = env;
            part.recipients.clear();
            part.dsn_rcpts.clear();
            for (std::size_t i : g.indexes) {
                part.recipients.push_back(env.recipients[i]);
                part.dsn_rcpts.push_back(i < env.dsn_rcpts.size() ? env.dsn_rcpts[i] : std::string());
            }
            groups_.push_back({g.domain, std::move(part), {}});
        }
        awaiting_ = groups_.size();
        auto self = shared_from_this();
        for (std::size_t i = 0; i < groups_.size(); ++i)
            client::lookup_mx_route(*dns, groups_[i].domain, dns_budget(), &random_index,
                                    [self, i](client::Route r) { self->routed(i, std::move(r)); });
    }

private:
    std::uint64_t elapsed_ms() const {
        return static_cast<std::uint64_t>(
            std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started_).count());
    }
    std::uint64_t left_ms() const {
        const std::uint64_t total = pools_->config.limits.total_ms, spent = elapsed_ms();
        return total > spent ? total - spent : 0;
    }
    std::uint64_t dns_budget() const { return std::max<std::uint64_t>(1, std::min(pools_->config.dns_ms, left_ms())); }

    void routed(std::size_t i, client::Route r) {
        groups_[i].route = std::move(r);
        if (awaiting_ > 0 && --awaiting_ > 0) return;
        // Every route is known before anything is sent: a domain that cannot be reached now
        // stops the message before any other domain gets a copy it would get again.
        for (const auto* want : {&kTemp, &kPermanent}) {
            for (const auto& g : groups_) {
                if (std::find(want->begin(), want->end(), g.route.status) == want->end()) continue;
                // In mx mode an empty domain is a recipient without one ("<postmaster>").
                const bool mx = pools_->config.hop.mx;
                hooks::Verdict v = route_failure(g.route, mx && g.domain.empty() ? "(no domain)" : g.domain);
                log_.warn("{}: {} no route{}{}: {} -> {}", tag_, id_, g.domain.empty() ? "" : " to ", g.domain,
                          g.route.why, v.reply ? v.reply->summary() : v.text);
                return resolve(std::move(v));
            }
        }
        deliver_group();
    }

    // The current group on its next address.
    void deliver_group() {
        Group& g = groups_[tried_.size()];
        client::NextHop target;
        const client::NextHop& hop = pools_->config.hop;
        if (hop.unix_socket) {
            target = hop;
        } else {
            target.host = g.route.addresses.at(address_);
            target.port = hop.port;
        }
        if (!call_.wanted()) return resolve(soft_failure("client session ended"));
        auto self = shared_from_this();
        auto wanted = [self] { return self->call_.wanted(); };
        const std::string where = target.describe();
        pools_->pool_for(reactor_, target)
            ->deliver(g.envelope, log_, std::move(wanted),
                      [self, where](client::DeliveryReport r) { self->attempted(where, std::move(r)); },
                      std::max<std::uint64_t>(1, left_ms()));
    }

    void attempted(const std::string& where, client::DeliveryReport r) {
        Group& g = groups_[tried_.size()];
        const std::string dom = g.domain.empty() ? "" : " (" + g.domain + ")";
        // RFC 5321 §5.1: a host that cannot be reached or will not talk to us -> the next one.
        const bool nothing_sent = r.stage == client::Stage::Connect || r.stage == client::Stage::Greeting ||
                                  r.stage == client::Stage::Hello;
        if (nothing_sent && r.failure != client::Failure::Loop && address_ + 1 < g.route.addresses.size() &&
            left_ms() >= kMinAttemptMs && call_.wanted()) {
            log_.info("{}: {}{} next hop {} failed ({}), trying the next address", tag_, id_, dom, where, describe(r));
            ++address_;
            return deliver_group();
        }
        hooks::Verdict v = decide_(r, g.envelope);
        if (v.result == hooks::Result::Ok)
            log_.info("{}: {}{} handed to {}: {}", tag_, id_, dom, where, describe(r));
        else
            log_.warn("{}: {}{} not accepted by {}: {} -> {}", tag_, id_, dom, where, describe(r),
                      v.reply ? v.reply->summary() : v.text);
        tried_.push_back({g.domain, std::move(v)});
        address_ = 0;
        if (tried_.back().verdict.result == hooks::Result::Ok && tried_.size() < groups_.size()) return deliver_group();
        hooks::Verdict out = combine_domains(tried_, groups_.size(), id_);
        if (out.result != hooks::Result::Ok && tried_.size() > 1)
            for (std::size_t i = 0; i + 1 < tried_.size(); ++i)
                log_.warn("{}: {} recipient domain {} holds the message already; the client's retry will give it "
                          "a duplicate", tag_, id_, tried_[i].domain);
        resolve(std::move(out));
    }

    void resolve(hooks::Verdict v) { call_.resolve(std::move(v)); }

    static inline const std::vector<client::Route::Status> kTemp = {client::Route::Status::TempFail};
    static inline const std::vector<client::Route::Status> kPermanent = {client::Route::Status::NullMx,
                                                                        client::Route::Status::NoRoute};

    hooks::HookCall call_;
    io::Log log_;
    std::string tag_;
    Decide decide_;
    io::Reactor reactor_;           // the session's loop (outlives every session)
    std::shared_ptr<PoolSet::State> pools_;
    Clock::time_point started_;
    std::string id_;
    std::vector<Group> groups_;
    std::size_t awaiting_ = 0;      // routes still being looked up
    std::size_t address_ = 0;       // of the current group's route
    std::vector<DomainVerdict> tried_;
};

}  // namespace

void forward_message(hooks::Context& ctx, hooks::HookCall call, PoolSet& pools, const std::string& tag, Decide decide) {
    io::Log log = ctx.log();
    const hooks::Transaction* txn = ctx.transaction();
    std::string why = "no transaction";
    std::optional<client::Envelope> env = txn ? envelope_of(*txn, why) : std::nullopt;
    if (!env) {
        log.error("{}: nothing to forward: {}", tag, why);
        call.resolve(soft_failure("local error"));
        return;
    }
    auto f = std::make_shared<Forward>(std::move(call), log, tag, std::move(decide), ctx.reactor(), pools.state());
    const client::NextHop& hop = pools.config().hop;
    // Only a name or "mx" needs the resolver (a context without DNS never creates one then).
    f->start(hop.mx || hop.needs_dns() ? &ctx.dns() : nullptr, std::move(*env));
}

}  // namespace asmtpd::plugins
