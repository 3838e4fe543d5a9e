// spf_zone.hpp - a DNS zone as data for the SPF evaluator tests: records per (name, type),
// SERVFAIL/timeout per (name, type), NXDOMAIN for names with no record, NODATA for names
// that exist with other types. Records every question asked.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/proto/dns_message.hpp"
#include "core/proto/spf_eval.hpp"
#include "core/proto/text.hpp"

namespace spf_test {

using namespace asmtpd::proto::spf;

struct Zone {
    std::map<std::pair<std::string, QType>, DnsAnswer> rr;
    std::vector<Query> asked;

    Zone& add(std::string name, QType t, std::vector<std::string> records) {
        auto& slot = rr[{asmtpd::proto::to_lower(name), t}];
        slot.status = DnsStatus::Answer;
        for (auto& r : records) slot.records.push_back(std::move(r));
        return *this;
    }
    Zone& txt(std::string name, std::vector<std::string> r) { return add(std::move(name), QType::TXT, std::move(r)); }
    Zone& a(std::string name, std::vector<std::string> r) { return add(std::move(name), QType::A, std::move(r)); }
    Zone& aaaa(std::string name, std::vector<std::string> r) { return add(std::move(name), QType::AAAA, std::move(r)); }
    Zone& mx(std::string name, std::vector<std::string> r) { return add(std::move(name), QType::MX, std::move(r)); }
    Zone& ptr(std::string name, std::vector<std::string> r) { return add(std::move(name), QType::PTR, std::move(r)); }
    Zone& fail(std::string name, QType t, DnsStatus s = DnsStatus::ServFail) {
        rr[{asmtpd::proto::to_lower(name), t}] = DnsAnswer::status_only(s);
        return *this;
    }

    DnsAnswer operator()(const Query& q) {
        asked.push_back(q);
        auto it = rr.find({q.name, q.type});
        if (it != rr.end()) return it->second;
        for (const auto& [key, _] : rr)
            if (key.first == q.name) return DnsAnswer::status_only(DnsStatus::NoData);
        return DnsAnswer::status_only(DnsStatus::NxDomain);
    }
    std::size_t count(const std::string& name, QType t) const {
        std::size_t n = 0;
        for (const auto& q : asked) n += (q.name == name && q.type == t);
        return n;
    }
};

inline Outcome check(Zone& z, std::string ip, std::string sender, std::string helo = "mx.example.org",
                     Identity id = Identity::MailFrom) {
    Request r;
    r.identity = id;
    r.ip = std::move(ip);
    r.sender = std::move(sender);
    r.helo = std::move(helo);
    r.receiver = "mybox.example.org";
    r.now = 1234567890;
    return evaluate(std::move(r), [&z](const Query& q) { return z(q); });
}

inline Result result(Zone& z, std::string ip, std::string sender = "user@example.com") {
    return check(z, std::move(ip), std::move(sender)).result;
}

}  // namespace spf_test
