// client_name.hpp - the client's reverse name, forward-confirmed (FCrDNS), looked up once per
// session on the loop's resolver: PTR of the client address, then A (or AAAA) of each PTR name
// (at most 10); the first name whose addresses include the client's is confirmed.
//
// Rules: start() ends synchronously when the cache holds every answer (the common case:
// no callback, no timer); otherwise it never calls back inside itself; the whole lookup ends within deadline_ms
// (then what is known stands: a timeout is "temperror"). when_done() runs its function when
// the lookup has ended (at once if it has). Every callback goes through the session's
// DnsScope, so nothing runs after the session is gone; the owner must declare its DnsScope
// after this object.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/io/resolver.hpp"
#include "core/proto/cidr.hpp"

namespace asmtpd::smtp {

class ClientName {
public:
    // The outcome, in the words the connection notes use.
    enum class Result { confirmed, unconfirmed, no_ptr, temperror };
    static const char* result_name(Result r);

    void start(io::DnsScope& dns, const std::string& ip, std::uint64_t deadline_ms);
    bool started() const { return started_; }
    bool done() const { return done_; }
    void when_done(std::function<void()> fn);
    // The name is already known (XCLIENT NAME): done, confirmed (or no_ptr when empty), no lookup.
    void assume(const std::string& name);

    const std::string& confirmed() const { return confirmed_; }   // empty unless confirmed
    const std::vector<std::string>& ptr_names() const { return ptr_names_; }
    Result result() const { return result_; }

private:
    void on_ptr(io::DnsScope& dns, const proto::DnsResult& r, std::uint64_t deadline_ms);
    void on_forward(std::size_t index, const proto::DnsResult& r);
    void finish(Result r);

    bool started_ = false;
    bool done_ = false;
    proto::IpAddress ip_;              // the client address (IPv4 as mapped, like the records)
    bool v6_ = false;
    std::vector<std::string> ptr_names_;
    std::vector<int> forward_;         // per PTR name: 0 pending, 1 matches, 2 no match, 3 temporary failure
    std::string confirmed_;
    Result result_ = Result::temperror;
    std::vector<std::function<void()>> waiters_;
};

}  // namespace asmtpd::smtp
