// result.hpp - plugin answers (qpsmtpd's return constants) and the Verdict a handler resolves.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/proto/address.hpp"
#include "core/proto/reply.hpp"

namespace asmtpd::hooks {

enum class Result { Declined, Ok, Deny, DenySoft, DenyDisconnect, DenySoftDisconnect, Done };

// qpsmtpd spelling: "DECLINED", "OK", "DENY", "DENYSOFT", "DENY_DISCONNECT", ...
std::string_view to_string(Result r);
std::optional<Result> result_from_string(std::string_view s);

inline bool is_deny(Result r) {
    return r == Result::Deny || r == Result::DenySoft || r == Result::DenyDisconnect ||
           r == Result::DenySoftDisconnect;
}
inline bool is_soft(Result r) { return r == Result::DenySoft || r == Result::DenySoftDisconnect; }
inline bool disconnects(Result r) {
    return r == Result::DenyDisconnect || r == Result::DenySoftDisconnect;
}

struct Verdict {
    Result result = Result::Declined;
    // Reply text replacing the hook's default text (may hold '\n' for multi-line replies).
    // For mail_pre / rcpt_pre with Ok it is the rewritten path ("<new@addr>").
    std::string text;
    // A full reply overriding code and text; its class is corrected to fit the result.
    std::optional<proto::Reply> reply;
    // mail_pre, rcpt_pre, mail, rcpt, rcpt_post: the address to store instead of the client's
    // (qmail-spp's "C", a RELAYCLIENT suffix, an alias). A DECLINED verdict carrying one lets
    // the chain go on, later plugins still see the client's address in their arguments, and the
    // last rewrite of the chain wins. At mail_pre/rcpt_pre it replaces the path before parsing.
    std::optional<proto::Address> address = std::nullopt;
    // Reply shaping the defaults table alone cannot express. qmail-spp and IndiMail need them
    // (plugins/spp, plugins/dso), but they mean the same for any plugin:
    bool verbatim = false;          // send `reply` as given: no enhanced status code is added
    bool close_silently = false;    // close the connection without any reply (spp "D")
    bool keep_session = false;      // connect refusal: the reply replaces the greeting, the
                                    // session goes on (qmail-spp's [connection] E)
    bool keep_transaction = false;  // data refusal: the transaction survives (another RCPT or
                                    // DATA may follow, as in qmail)

    static Verdict declined() { return {}; }
    static Verdict ok(std::string text = {}) { return {Result::Ok, std::move(text), {}}; }
    static Verdict deny(std::string text = {}) { return {Result::Deny, std::move(text), {}}; }
    static Verdict deny_soft(std::string text = {}) { return {Result::DenySoft, std::move(text), {}}; }
    static Verdict deny_disconnect(std::string text = {}) {
        return {Result::DenyDisconnect, std::move(text), {}};
    }
    static Verdict deny_soft_disconnect(std::string text = {}) {
        return {Result::DenySoftDisconnect, std::move(text), {}};
    }
    static Verdict done() { return {Result::Done, {}, {}}; }
    static Verdict rewrite(proto::Address a) {
        Verdict v;
        v.address = std::move(a);
        return v;
    }
};

}  // namespace asmtpd::hooks
