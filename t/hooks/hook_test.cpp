// hook_test.cpp - tests hooks/hook.cpp: names round-trip, qpsmtpd's dash spellings, the
// ignored-result set.
#include "hooks/hook.hpp"

#include <doctest/doctest.h>

#include <set>
#include <string>

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd::hooks;

TEST_CASE("hook_name / hook_from_name round-trip for every hook") {
    std::set<std::string_view> seen;
    for (std::size_t i = 0; i < kHookCount; ++i) {
        auto h = static_cast<Hook>(i);
        auto name = hook_name(h);
        CAPTURE(i);
        CHECK_FALSE(name.empty());
        CHECK(name.find('-') == std::string_view::npos);
        CHECK(seen.insert(name).second);   // unique
        auto back = hook_from_name(name);
        REQUIRE(back);
        CHECK(*back == h);
    }
    CHECK(seen.size() == kHookCount);
}

TEST_CASE("hook names are qpsmtpd's") {
    CHECK(hook_name(Hook::PreConnection) == "pre_connection");
    CHECK(hook_name(Hook::Connect) == "connect");
    CHECK(hook_name(Hook::Helo) == "helo");
    CHECK(hook_name(Hook::Ehlo) == "ehlo");
    CHECK(hook_name(Hook::MailPre) == "mail_pre");
    CHECK(hook_name(Hook::Mail) == "mail");
    CHECK(hook_name(Hook::RcptPre) == "rcpt_pre");
    CHECK(hook_name(Hook::Rcpt) == "rcpt");
    CHECK(hook_name(Hook::RcptPost) == "rcpt_post");   // asmtpd extension (qmail-spp [pass])
    CHECK(hook_name(Hook::Data) == "data");
    CHECK(hook_name(Hook::DataPost) == "data_post");
    CHECK(hook_name(Hook::QueuePre) == "queue_pre");
    CHECK(hook_name(Hook::Queue) == "queue");
    CHECK(hook_name(Hook::QueuePost) == "queue_post");
    CHECK(hook_name(Hook::ResetTransaction) == "reset_transaction");
    CHECK(hook_name(Hook::Quit) == "quit");
    CHECK(hook_name(Hook::Disconnect) == "disconnect");
    CHECK(hook_name(Hook::PostConnection) == "post_connection");
    CHECK(hook_name(Hook::UnrecognizedCommand) == "unrecognized_command");
    CHECK(hook_name(Hook::Vrfy) == "vrfy");
    CHECK(hook_name(Hook::Noop) == "noop");
    CHECK(hook_name(Hook::Help) == "help");
    CHECK(hook_name(Hook::Auth) == "auth");
    CHECK(hook_name(Hook::AuthPlain) == "auth_plain");
    CHECK(hook_name(Hook::AuthLogin) == "auth_login");
    CHECK(hook_name(Hook::AuthCramMd5) == "auth_cram_md5");
    CHECK(hook_name(Hook::AuthPost) == "auth_post");   // asmtpd extension (qmail-spp [auth])
    CHECK(hook_name(Hook::ReceivedLine) == "received_line");
    CHECK(hook_name(Hook::Logging) == "logging");
    CHECK(hook_name(Hook::Deny) == "deny");
    CHECK(hook_name(Hook::Ok) == "ok");
    CHECK(hook_name(Hook::Count_) == "invalid");
}

TEST_CASE("hook_from_name accepts qpsmtpd's dashed spellings") {
    CHECK(hook_from_name("pre-connection") == Hook::PreConnection);
    CHECK(hook_from_name("post-connection") == Hook::PostConnection);
    CHECK(hook_from_name("auth-plain") == Hook::AuthPlain);
    CHECK(hook_from_name("auth-login") == Hook::AuthLogin);
    CHECK(hook_from_name("auth-cram-md5") == Hook::AuthCramMd5);
    CHECK(hook_from_name("auth_cram-md5") == Hook::AuthCramMd5);
    CHECK(hook_from_name("rcpt-pre") == Hook::RcptPre);
    CHECK(hook_from_name("rcpt-post") == Hook::RcptPost);
    CHECK(hook_from_name("auth-post") == Hook::AuthPost);
    CHECK(hook_from_name("data_headers_end") == Hook::DataHeadersEnd);
    CHECK(hook_from_name("data-post-headers") == Hook::DataPostHeaders);
}

TEST_CASE("hook_from_name refuses anything else") {
    for (const char* bad : {"", "Connect", "RCPT", "pre connection", "pre__connection", "preconnection",
                            "rcpt ", " rcpt", "rcpt_parse", "config", "user_config", "post-fork",
                            "data_headers", "auth-", "invalid", "Count_", "ok\n", "auth_post ",
                            "Auth_Post", "authpost", "rcpt_posts", "pass"}) {
        CAPTURE(std::string(bad));
        CHECK_FALSE(hook_from_name(bad));
    }
    CHECK_FALSE(hook_from_name(std::string_view("rcpt\0", 5)));
}

TEST_CASE("hook_result_ignored: exactly the bookkeeping hooks") {
    std::set<Hook> ignored = {Hook::QueuePost, Hook::ResetTransaction, Hook::Disconnect,
                              Hook::PostConnection, Hook::Logging, Hook::Deny, Hook::Ok};
    for (std::size_t i = 0; i < kHookCount; ++i) {
        auto h = static_cast<Hook>(i);
        CAPTURE(hook_name(h));
        CHECK(hook_result_ignored(h) == (ignored.count(h) == 1));
    }
}

}  // namespace ASMTPD_TEST_UNIT
