// milter_edits_test.cpp - tests plugins/milter/milter_edits.cpp: a milter's end-of-message
// modifications on a transaction. Header indexes count the fields the milter saw (our Received,
// the headers plugins added, then the client's block); only negotiated actions apply.
#include "plugins/milter/milter_edits.hpp"

#include <doctest/doctest.h>

#include <string>

#include "core/proto/header_edit.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd;
namespace pm = proto::milter;
using plugins::milter::EditPolicy;

namespace {

pm::Reply header(pm::ReplyKind k, std::uint32_t index, std::string name, std::string value) {
    pm::Reply r;
    r.kind = k;
    r.index = index;
    r.name = std::move(name);
    r.value = std::move(value);
    return r;
}

pm::Reply address(pm::ReplyKind k, std::string addr, std::string args = {}) {
    pm::Reply r;
    r.kind = k;
    r.name = std::move(addr);
    r.value = std::move(args);
    return r;
}

hooks::Transaction txn() {
    hooks::Transaction t;
    t.received = "Received: from x by y\r\n";
    t.added_headers = {"X-Spam-Status: No", "X-Other: 1"};
    t.sender = *proto::parse_path("<s@example.org>", proto::sender_rules());
    t.recipients.push_back(*proto::parse_path("<a@example.com>", proto::recipient_rules()));
    t.recipients.push_back(*proto::parse_path("<b@example.com>", proto::recipient_rules()));
    return t;
}

const EditPolicy kAll{pm::kAllActions, false, "milter"};
const io::Log kLog;

std::string edited(const hooks::Transaction& t, std::string_view block) {
    return proto::apply_header_edits(block, t.header_edits);
}

}  // namespace

TEST_CASE("milter edits: add, change, insert, delete headers") {
    auto t = txn();
    const std::string block = "From: a@example.org\r\nSubject: hi\r\nX-Spam-Status: forged\r\n";
    std::vector<pm::Reply> ch = {
        header(pm::ReplyKind::AddHeader, 0, "X-Added", "yes"),
        header(pm::ReplyKind::ChangeHeader, 1, "Subject", "changed"),
        header(pm::ReplyKind::ChangeHeader, 2, "X-Spam-Status", ""),   // 1 = the added one, 2 = the client's
        header(pm::ReplyKind::InsertHeader, 3, "X-Top", "first"),       // Received + 2 added = the block's top
        header(pm::ReplyKind::InsertHeader, 1, "X-Early", "e"),         // among the added headers
        header(pm::ReplyKind::ChangeHeader, 1, "X-Other", "2"),
    };
    CHECK(plugins::milter::apply_changes(t, ch, kAll, kLog) == 6);
    CHECK(edited(t, block) == "X-Top: first\r\nFrom: a@example.org\r\nSubject: changed\r\nX-Added: yes\r\n");
    CHECK(t.added_headers == std::vector<std::string>{"X-Early: e", "X-Spam-Status: No", "X-Other: 2"});
}

TEST_CASE("milter edits: our Received is never changed; delete of an added header") {
    auto t = txn();
    CHECK(plugins::milter::apply_changes(t, {header(pm::ReplyKind::ChangeHeader, 1, "Received", "forged"),
                                             header(pm::ReplyKind::ChangeHeader, 1, "X-Spam-Status", "")},
                                         kAll, kLog) == 2);
    CHECK(t.received == "Received: from x by y\r\n");
    CHECK(t.added_headers == std::vector<std::string>{"X-Other: 1"});
    CHECK(t.header_edits.empty());
}

TEST_CASE("milter edits: leading space kept by the filter is not doubled") {
    auto t = txn();
    EditPolicy p = kAll;
    p.leading_space = true;
    plugins::milter::apply_changes(t, {header(pm::ReplyKind::AddHeader, 0, "X-A", " spaced")}, p, kLog);
    CHECK(edited(t, "From: a\r\n") == "From: a\r\nX-A: spaced\r\n");
}

TEST_CASE("milter edits: recipients and sender") {
    auto t = txn();
    std::vector<pm::Reply> ch = {
        address(pm::ReplyKind::AddRcpt, "<c@example.com>"),
        address(pm::ReplyKind::AddRcpt, "A@example.com"),          // already there (case aside)
        address(pm::ReplyKind::AddRcptPar, "d@example.com", "NOTIFY=NEVER"),
        address(pm::ReplyKind::DeleteRcpt, "<b@example.com>"),
        address(pm::ReplyKind::ChangeFrom, "<new@example.org>", "SIZE=10 BODY=8BITMIME"),
        address(pm::ReplyKind::AddRcpt, "not an address"),
    };
    CHECK(plugins::milter::apply_changes(t, ch, kAll, kLog) == 5);
    REQUIRE(t.recipients.size() == 3);
    CHECK(t.recipients[0].format() == "<a@example.com>");
    CHECK(t.recipients[1].format() == "<c@example.com>");
    CHECK(t.recipients[2].format() == "<d@example.com>");
    CHECK(t.sender->format() == "<new@example.org>");
    REQUIRE(t.mail_params.size() == 2);
    CHECK(t.mail_params[0].keyword == "SIZE");
    CHECK(t.mail_params[1].value == "8BITMIME");
}

TEST_CASE("milter edits: quarantine, and actions that were not negotiated") {
    auto t = txn();
    pm::Reply q;
    q.kind = pm::ReplyKind::Quarantine;
    q.value = "held\r\nfor review";
    CHECK(plugins::milter::apply_changes(t, {q}, kAll, kLog) == 1);
    CHECK(t.notes["quarantine"] == "heldfor review");
    CHECK(t.added_headers.back() == "X-Quarantine: milter: heldfor review");

    auto u = txn();
    EditPolicy none{pm::kAddHeaders, false, "milter"};
    CHECK(plugins::milter::apply_changes(u, {address(pm::ReplyKind::DeleteRcpt, "<a@example.com>"),
                                             header(pm::ReplyKind::ChangeHeader, 1, "Subject", "x"), q},
                                         none, kLog) == 0);
    CHECK(u.recipients.size() == 2);
    CHECK(u.header_edits.empty());
    CHECK(u.notes.count("quarantine") == 0);
}

}  // namespace ASMTPD_TEST_UNIT
