// client_name.cpp - PTR, then forward lookups of the PTR names, then the verdict.
//
// Must never: confirm a name whose forward addresses do not include the client's, or wait
// past the deadline for a forward answer (the resolver's per-caller deadline bounds each
// lookup; the forward ones get what is left of the total).
#include "core/smtp/client_name.hpp"

#include <algorithm>
#include <chrono>

#include "core/proto/cidr.hpp"

namespace asmtpd::smtp {

namespace {
constexpr std::size_t kMaxPtrNames = 10;   // as SPF's ptr mechanism and Postfix limit it

std::uint64_t now_ms() {
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch()).count());
}
}  // namespace

const char* ClientName::result_name(Result r) {
    switch (r) {
    case Result::confirmed: return "confirmed";
    case Result::unconfirmed: return "unconfirmed";
    case Result::no_ptr: return "no PTR";
    case Result::temperror: return "temperror";
    }
    return "?";
}

void ClientName::start(io::DnsScope& dns, const std::string& ip, std::uint64_t deadline_ms) {
    if (started_) return;
    started_ = true;
    auto addr = proto::parse_ip(ip);
    auto reverse = proto::dns_reverse_name(ip);
    if (!addr || !reverse) {   // not an IP client (a Unix socket, a test transport)
        finish(Result::no_ptr);
        return;
    }
    ip_ = *addr;
    v6_ = !addr->is_v4();
    if (auto hit = dns.resolver().cached(*reverse, proto::DnsType::ptr)) {   // the usual case: no callback at all
        on_ptr(dns, *hit, deadline_ms);
        return;
    }
    const std::uint64_t started_at = now_ms();
    dns.query(*reverse, proto::DnsType::ptr, deadline_ms, [this, &dns, started_at, deadline_ms](const proto::DnsResult& r) {
        const std::uint64_t spent = now_ms() - started_at;
        on_ptr(dns, r, deadline_ms > spent ? deadline_ms - spent : 1);
    });
}

void ClientName::on_ptr(io::DnsScope& dns, const proto::DnsResult& r, std::uint64_t left_ms) {
    using proto::DnsStatus;
    if (r.status == DnsStatus::nxdomain || r.status == DnsStatus::nodata) return finish(Result::no_ptr);
    if (r.status != DnsStatus::answer) return finish(Result::temperror);
    for (const auto& rec : r.records) {
        if (ptr_names_.size() == kMaxPtrNames) break;
        if (std::find(ptr_names_.begin(), ptr_names_.end(), rec.value) == ptr_names_.end()) ptr_names_.push_back(rec.value);
    }
    forward_.assign(ptr_names_.size(), 0);
    const auto type = v6_ ? proto::DnsType::aaaa : proto::DnsType::a;
    for (std::size_t i = 0; i < ptr_names_.size() && !done_; ++i) {
        if (auto hit = dns.resolver().cached(ptr_names_[i], type)) on_forward(i, *hit);
        else dns.query(ptr_names_[i], type, left_ms, [this, i](const proto::DnsResult& fr) { on_forward(i, fr); });
    }
}

void ClientName::on_forward(std::size_t index, const proto::DnsResult& r) {
    if (done_) return;
    using proto::DnsStatus;
    int state = 2;
    if (r.status == DnsStatus::answer) {
        for (const auto& rec : r.records) {
            auto a = proto::parse_ip(rec.value);
            if (a && *a == ip_) state = 1;
        }
    } else if (r.status == DnsStatus::servfail || r.status == DnsStatus::timeout) {
        state = 3;
    }
    forward_[index] = state;
    // The first PTR name (in answer order) that confirms wins, once every earlier one is known.
    for (std::size_t i = 0; i < forward_.size(); ++i) {
        if (forward_[i] == 0) return;
        if (forward_[i] == 1) {
            confirmed_ = ptr_names_[i];
            return finish(Result::confirmed);
        }
    }
    const bool temporary = std::count(forward_.begin(), forward_.end(), 3) > 0;
    finish(temporary ? Result::temperror : Result::unconfirmed);
}

void ClientName::finish(Result r) {
    result_ = r;
    done_ = true;
    auto waiters = std::move(waiters_);
    waiters_.clear();
    for (auto& fn : waiters) fn();
}

void ClientName::assume(const std::string& name) {
    started_ = true;
    confirmed_ = name;
    finish(name.empty() ? Result::no_ptr : Result::confirmed);
}

void ClientName::when_done(std::function<void()> fn) {
    if (done_) {
        fn();
        return;
    }
    waiters_.push_back(std::move(fn));
}

}  // namespace asmtpd::smtp
