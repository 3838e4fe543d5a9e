// smtp_client_text_test.cpp - tests core/client/smtp_client_text.cpp: the loop check's reading of
// a next hop's greeting or EHLO reply, and that every stage and failure has a name.
#include <doctest/doctest.h>

#include "core/client/smtp_client.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd;
using proto::Reply;

TEST_CASE("reply_names_host: the first word, case-insensitive, one final dot ignored") {
    CHECK(client::reply_names_host(Reply::make(220, "", "mx.example.org ESMTP Postfix"), "mx.example.org"));
    CHECK(client::reply_names_host(Reply::make(220, "", "MX.Example.ORG. ready"), "mx.example.org"));
    CHECK(client::reply_names_host(Reply::make(250, "", "mx.example.org\nPIPELINING\nSIZE 100"), "mx.example.org"));
    CHECK(client::reply_names_host(Reply::make(250, "", "mx.example.org"), "mx.example.org"));
    CHECK_FALSE(client::reply_names_host(Reply::make(220, "", "mx.example.org.evil ESMTP"), "mx.example.org"));
    CHECK_FALSE(client::reply_names_host(Reply::make(220, "", "relay.example.org ESMTP mx.example.org"), "mx.example.org"));
    CHECK_FALSE(client::reply_names_host(Reply::make(220, "", "x.mx.example.org"), "mx.example.org"));
    CHECK_FALSE(client::reply_names_host(Reply::make(220, "", ""), "mx.example.org"));
    CHECK_FALSE(client::reply_names_host(Reply::make(220, "", "mx.example.org"), ""));
}

TEST_CASE("to_string: the loop has a name the client may read") {
    CHECK(client::to_string(client::Failure::Loop) == "mail loops back to me");
    CHECK(client::to_string(client::Stage::Greeting) == "greeting");
}

}  // namespace ASMTPD_TEST_UNIT
