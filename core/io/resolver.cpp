// resolver.cpp - cache, coalescing, in-flight cap and per-caller deadlines over AresChannel.
//
// Must never: call a callback twice, after its handle died, or from inside query(); let one
// slow question hold up an unrelated caller past its deadline. Ownership: a Pending owns the
// waiters of one question (shared with their DnsQuery handles); pending_ owns the Pendings.
// c-ares' callback argument is the Pending, alive until that callback (ares_destroy ends
// every question, so none outlives the channel).
#include "core/io/resolver.hpp"

#include <fmt/format.h>

#include <utility>

namespace asmtpd::io {

using proto::DnsResult;
using proto::DnsStatus;
using proto::DnsType;

struct DnsQuery::Waiter {
    DnsCallback cb;
    std::unique_ptr<Timer> deadline;
    bool done = false;
};

struct Resolver::Pending {
    Resolver* owner;
    std::string key;
    std::string name;
    DnsType type;
    std::vector<std::shared_ptr<DnsQuery::Waiter>> waiters;
};

namespace {

void deliver(const std::shared_ptr<DnsQuery::Waiter>& w, const DnsResult& r) {
    if (w->done || !w->cb) return;
    w->done = true;
    auto cb = std::move(w->cb);
    w->cb = nullptr;
    w->deadline.reset();   // may be the timer whose callback runs now: Timer allows that
    cb(r);
}

bool valid_name(std::string_view n) {
    if (!n.empty() && n.back() == '.') n.remove_suffix(1);
    if (n.empty() || n.size() > 253) return false;
    std::size_t label = 0;
    for (char c : n) {
        auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u == 0x7f || c == '\\') return false;
        if (c == '.') {
            if (label == 0) return false;
            label = 0;
        } else if (++label > 63) {
            return false;
        }
    }
    return label > 0;
}

DnsResult failure(DnsStatus s, std::string error) {
    DnsResult r;
    r.status = s;
    r.error = std::move(error);
    return r;
}

// c-ares' status (and answer, when there is one) as a result.
DnsResult to_result(int status, const unsigned char* abuf, int alen, const std::string& name, DnsType type) {
    const bool has_answer = abuf != nullptr && alen > 0 &&
                            (status == ARES_SUCCESS || status == ARES_ENOTFOUND || status == ARES_ENODATA);
    if (has_answer) {
        auto m = proto::parse_dns_message(std::string_view(reinterpret_cast<const char*>(abuf), static_cast<std::size_t>(alen)));
        if (!m) return failure(DnsStatus::servfail, "malformed answer");
        return proto::dns_result(*m, name, type);
    }
    switch (status) {
    case ARES_ENOTFOUND: return failure(DnsStatus::nxdomain, "");
    case ARES_ENODATA: return failure(DnsStatus::nodata, "");
    case ARES_ETIMEOUT: return failure(DnsStatus::timeout, "no answer from the DNS servers");
    case ARES_EBADNAME: return failure(DnsStatus::nxdomain, "invalid name");
    default: return failure(DnsStatus::servfail, ares_strerror(status));
    }
}

AresOptions ares_options(const ResolverOptions& o, std::string& error) {
    AresOptions a;
    a.timeout_ms = o.timeout_ms;
    a.attempts = o.attempts;
    for (const auto& s : o.servers) {
        auto item = dns_server_item(s);
        if (!item) error = "dns.servers: \"" + s + "\" is not IP or IP:port";
        else a.servers.push_back(*item);
    }
    return a;
}

}  // namespace

DnsQuery::~DnsQuery() {
    waiter_->done = true;
    waiter_->cb = nullptr;
    waiter_->deadline.reset();
}

std::unique_ptr<Resolver> Resolver::create(uv_loop_t* loop, const ResolverOptions& options, std::string& error) {
    error.clear();
    ares_options(options, error);
    if (!error.empty()) return nullptr;
    std::unique_ptr<Resolver> r(new Resolver(loop, options, error));
    if (!error.empty()) return nullptr;
    return r;
}

Resolver::Resolver(uv_loop_t* loop, const ResolverOptions& options, std::string& error)
    : loop_(loop), options_(options), channel_(std::make_unique<AresChannel>(loop, ares_options(options, error), error)),
      cache_(options.cache_entries), post_timer_(loop) {}

Resolver::~Resolver() {
    // The channel goes first: ares_destroy() calls on_answer for every question still out, and
    // those callbacks read their Pending, which pending_ frees later.
    destroying_ = true;
    channel_.reset();
}

std::unique_ptr<DnsQuery> Resolver::query(std::string_view name, DnsType type, std::uint64_t deadline_ms, DnsCallback cb) {
    ++stats_.lookups;
    auto w = std::make_shared<DnsQuery::Waiter>();
    w->cb = std::move(cb);
    auto handle = std::make_unique<DnsQuery>(w);
    if (!valid_name(name)) {
        post(w, failure(DnsStatus::nxdomain, "invalid name"));
        return handle;
    }
    const std::string key = DnsCache::key(name, type);
    if (auto hit = cache_.find(key, uv_now(loop_))) {
        ++stats_.cache_hits;
        post(w, std::move(*hit));
        return handle;
    }
    if (deadline_ms > 0) {
        w->deadline = std::make_unique<Timer>(loop_);
        std::weak_ptr<DnsQuery::Waiter> weak = w;
        w->deadline->start(deadline_ms, [this, weak, deadline_ms] {
            auto strong = weak.lock();
            if (!strong || strong->done) return;
            ++stats_.deadlines;
            deliver(strong, failure(DnsStatus::timeout, fmt::format("no answer within {} ms", deadline_ms)));
        });
    }
    auto [it, fresh] = pending_.try_emplace(key);
    if (!fresh) {
        ++stats_.coalesced;
        it->second->waiters.push_back(std::move(w));
        return handle;
    }
    std::string bare(name);
    if (bare.back() == '.') bare.pop_back();
    it->second = std::make_unique<Pending>(Pending{this, key, std::move(bare), type, {std::move(w)}});
    if (in_flight_ >= options_.max_in_flight) queued_.push_back(key);
    else send(*it->second);
    return handle;
}

std::optional<DnsResult> Resolver::cached(std::string_view name, DnsType type) {
    if (!valid_name(name)) return std::nullopt;
    auto hit = cache_.find(DnsCache::key(name, type), uv_now(loop_));
    if (hit) {
        ++stats_.lookups;
        ++stats_.cache_hits;
    }
    return hit;
}

void Resolver::send(Pending& p) {
    ++stats_.sent;
    ++in_flight_;
    submitting_ = true;
    channel_->query(p.name, static_cast<int>(p.type), &Resolver::on_answer, &p);
    submitting_ = false;
}

void Resolver::on_answer(void* arg, int status, int /*timeouts*/, unsigned char* abuf, int alen) {
    auto* p = static_cast<Pending*>(arg);
    Resolver* self = p->owner;
    --self->in_flight_;
    if (self->destroying_) return;
    DnsResult r = to_result(status, abuf, alen, p->name, p->type);
    self->cache_.store(p->key, r, uv_now(self->loop_));
    self->finish(*p, r);
    self->send_queued();
}

void Resolver::finish(Pending& p, const DnsResult& r) {
    auto node = pending_.extract(p.key);   // p stays alive in node until this returns
    if (submitting_) {
        for (auto& w : node.mapped()->waiters) post(w, r);
        return;
    }
    for (auto& w : node.mapped()->waiters) deliver(w, r);
}

void Resolver::send_queued() {
    while (!queued_.empty() && in_flight_ < options_.max_in_flight) {
        auto it = pending_.find(queued_.front());
        queued_.pop_front();
        if (it == pending_.end()) continue;
        bool wanted = false;
        for (const auto& w : it->second->waiters) wanted = wanted || !w->done;
        if (!wanted) {   // every caller gave up while it waited for a slot
            pending_.erase(it);
            continue;
        }
        send(*it->second);
    }
}

void Resolver::post(std::shared_ptr<DnsQuery::Waiter> w, DnsResult r) {
    posted_.emplace_back(std::move(w), std::move(r));
    if (!post_timer_.active()) post_timer_.start(0, [this] { run_posted(); });
}

void Resolver::run_posted() {
    auto batch = std::move(posted_);
    posted_.clear();
    for (auto& [w, r] : batch) deliver(w, r);
}

void DnsScope::query(std::string_view name, proto::DnsType type, std::uint64_t deadline_ms, DnsCallback cb) {
    const std::uint64_t id = next_++;
    live_[id] = resolver_.query(name, type, deadline_ms, [this, id, cb = std::move(cb)](const DnsResult& r) {
        // The handle leaves the scope before the callback runs: the callback may end the session
        // (and with it this scope); nothing here touches `this` afterwards.
        auto node = live_.extract(id);
        cb(r);
    });
}

}  // namespace asmtpd::io
