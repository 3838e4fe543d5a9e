// dso_load_test.cpp - tests how plugins/dso/dso.cpp (with dso_library) loads a library: which
// functions of an IndiMail plugin register, load and argument errors, symbol NAME, a FILE
// relative to the config directory, the native entry's refusals, and destroy().
#include <doctest/doctest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "hooks/defaults.hpp"
#include "t/plugins/dso/dso_calls.hpp"
#include "t/support/fake_context.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd;
using namespace asmtpd::test::dso_calls;
using test::FakeContext;
using test::PluginHarness;
using test::result_name;

TEST_CASE("dso: an IndiMail plugin registers only its non-NULL functions") {
    FakeContext ctx;
    PluginHarness h(ctx, "dso", {fixture("indimail_reject")});
    REQUIRE_FALSE(h.init_error);
    CHECK(h.handlers(hooks::Hook::Mail) == 0);   // mail_func NULL: skipped (#50)
    CHECK(h.handlers(hooks::Hook::Rcpt) == 1);
    CHECK(h.handlers(hooks::Hook::DataPost) == 0);
    CHECK(h.handlers(hooks::Hook::Data) == 0);
    PluginHarness all(ctx, "dso", {fixture("indimail_record")});
    REQUIRE_FALSE(all.init_error);
    CHECK(all.handlers(hooks::Hook::Mail) == 1);
    CHECK(all.handlers(hooks::Hook::Rcpt) == 1);
    CHECK(all.handlers(hooks::Hook::DataPost) == 1);   // data_func: after the whole body
    CHECK(all.handlers(hooks::Hook::Data) == 0);
}

TEST_CASE("dso: load errors are init errors with the reason") {
    FakeContext ctx;
    auto err = [&](std::vector<std::string> args) {
        PluginHarness h(ctx, "dso", std::move(args));
        REQUIRE(h.init_error);
        return *h.init_error;
    };
    CHECK(err({}).find("usage: dso FILE") != std::string::npos);
    CHECK(err({"/nonexistent/x.so"}).find("cannot load /nonexistent/x.so") != std::string::npos);
    CHECK(err({"/nonexistent/x.so"}).find("No such file") != std::string::npos);   // dlerror()
    CHECK(err({fixture("no_entry")}).find("neither asmtpd_plugin_entry_v1 nor plugin_init") != std::string::npos);
    CHECK(err({fixture("indimail_record"), "symbol", "null_init"}).find("null_init() returned NULL") !=
          std::string::npos);
    CHECK(err({fixture("indimail_record"), "symbol", "nope"}).find("symbol nope not found") != std::string::npos);
    CHECK(err({fixture("indimail_reject"), "--", "x"}).find("takes no arguments") != std::string::npos);
    CHECK(err({fixture("indimail_reject"), "timeout", "0"}).find("timeout") != std::string::npos);
    CHECK(err({fixture("indimail_reject"), "timeout", "-1"}).find("timeout") != std::string::npos);
    CHECK(err({fixture("indimail_reject"), "concurrency", "2"}).find("THREAD_SAFE") != std::string::npos);
}

TEST_CASE("dso: symbol NAME picks IndiMail's init function (SMTP_PLUGIN_SYMB)") {
    FakeContext ctx;
    PluginHarness h(ctx, "dso", {fixture("indimail_record"), "symbol", "custom_init"});
    REQUIRE_FALSE(h.init_error);
    CHECK(h.handlers(hooks::Hook::Rcpt) == 1);
}

TEST_CASE("dso: a relative FILE is resolved against the config directory") {
    FakeContext ctx;
    std::filesystem::copy_file(fixture("indimail_reject"), ctx.dir() / "local.so");
    PluginHarness h(ctx, "dso", {"local.so"});
    REQUIRE_FALSE(h.init_error);
    open_txn(ctx);
    CHECK(wire(hooks::Hook::Rcpt, h.call(hooks::Hook::Rcpt, addr("blocked"))) == "553 no\r\n");
}

TEST_CASE("dso: native entry refusals are init errors; destroy runs when the struct was sound") {
    FakeContext ctx;
    auto err = [&](std::vector<std::string> args) {
        std::vector<std::string> a{fixture("native_probe"), "--"};
        a.insert(a.end(), args.begin(), args.end());
        PluginHarness h(ctx, "dso", a);
        return h.init_error.value_or("");
    };
    CHECK(err({"fail"}).find("returned -1") != std::string::npos);
    CHECK(err({"major2"}).find("ABI major version 2 is not supported") != std::string::npos);
    CHECK(err({"small"}).find("struct_size 16 is impossible") != std::string::npos);
    std::string marker = ctx.dir() / "destroyed";
    CHECK(err({"nohooks", "destroy_file", marker}).find("sets no hook") != std::string::npos);
    CHECK(test::read_file(marker) == "destroyed\n");
    CHECK(err({"thread_safe"}).empty());
}

TEST_CASE("dso: destroy() runs once when the plugin goes") {
    FakeContext ctx;
    std::string marker = ctx.dir() / "destroyed";
    {
        PluginHarness h(ctx, "dso", {fixture("native_probe"), "--", "destroy_file", marker});
        REQUIRE_FALSE(h.init_error);
        CHECK(h.handlers(hooks::Hook::Connect) == 1);
        CHECK(h.handlers(hooks::Hook::Helo) == 1);
        CHECK(h.handlers(hooks::Hook::Ehlo) == 1);
        CHECK(h.handlers(hooks::Hook::Mail) == 1);
        CHECK(h.handlers(hooks::Hook::Rcpt) == 1);
        CHECK(h.handlers(hooks::Hook::Data) == 1);
        CHECK(h.handlers(hooks::Hook::DataPost) == 1);
        CHECK(test::read_file(marker).empty());
    }
    CHECK(test::read_file(marker) == "destroyed\n");
}

}  // namespace ASMTPD_TEST_UNIT
