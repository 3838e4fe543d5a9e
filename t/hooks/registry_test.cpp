// registry_test.cpp - tests hooks/registry.cpp with a tiny fake catalog: config order is
// hook order, name:N instances, unknown plugins and init errors with file:line, identity.
#include "hooks/registry.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd::hooks;
using asmtpd::proto::PluginLine;
using asmtpd::proto::PluginList;

namespace {

// Registers on rcpt (and on helo when given the argument "helo"); init fails on "bad".
class Recorder : public Plugin {
public:
    std::optional<std::string> init(const PluginInit& in) override {
        args_ = in.line.args;
        for (const auto& a : args_) {
            if (a == "bad") return std::string("bad argument 'bad'");
            if (a == "slow") set_timeout(std::chrono::milliseconds(5));
        }
        config_dir_ = in.config.dir();
        return std::nullopt;
    }
    void register_hooks(Registrar& r) override {
        r.on<Hook::Rcpt>(&Recorder::on_rcpt);
        for (const auto& a : args_)
            if (a == "helo") r.on<Hook::Helo>([](Context&, const HeloArgs&, HookCall c) { c.declined(); });
    }
    void on_rcpt(Context&, const AddressArgs&, HookCall call) { call.declined(); }

    std::vector<std::string> args_;
    std::string config_dir_;
};

class Quiet : public Plugin {
public:
    void register_hooks(Registrar&) override {}
};

std::unique_ptr<Plugin> make_recorder() { return std::make_unique<Recorder>(); }
std::unique_ptr<Plugin> make_quiet() { return std::make_unique<Quiet>(); }
std::unique_ptr<Plugin> make_null() { return nullptr; }

const CatalogEntry kCatalog[] = {
    {"recorder", &make_recorder},
    {"queue/quiet", &make_quiet},
    {"broken", &make_null},
};

PluginLine line(std::string name, std::string instance, std::vector<std::string> args, int n) {
    PluginLine l;
    l.name = std::move(name);
    l.instance = instance.empty() ? l.name : std::move(instance);
    l.args = std::move(args);
    l.file = "config/plugins";
    l.line = n;
    return l;
}

struct Fixture {
    FlatConfig config{"/tmp/asmtpd-config"};
    ServerFacts server;
    std::vector<std::string> errors;
    Fixture() { server.plugin_timeout = std::chrono::milliseconds(1234); }
    std::unique_ptr<Registry> build(std::vector<PluginLine> lines) {
        PluginList list;
        list.plugins = std::move(lines);
        return Registry::build(list, kCatalog, config, server, errors);
    }
};

}  // namespace

TEST_CASE("Registry: plugins in config order, handlers per hook in that order") {
    Fixture f;
    auto reg = f.build({line("recorder", "", {"helo"}, 3), line("queue/quiet", "", {}, 4),
                        line("recorder", "recorder:2", {}, 7)});
    REQUIRE(reg);
    CHECK(f.errors.empty());
    CHECK(reg->plugin_count() == 3);

    const auto& rcpt = reg->entries(Hook::Rcpt);
    REQUIRE(rcpt.size() == 2);
    CHECK(rcpt[0].plugin->name() == "recorder");
    CHECK(rcpt[1].plugin->name() == "recorder:2");
    CHECK(rcpt[0].handler);
    CHECK(reg->has(Hook::Rcpt));

    const auto& helo = reg->entries(Hook::Helo);
    REQUIRE(helo.size() == 1);
    CHECK(helo[0].plugin == reg->find("recorder"));
    CHECK_FALSE(reg->has(Hook::Queue));
    CHECK(reg->entries(Hook::Queue).empty());

    // Identity and the arguments each instance got.
    auto* first = dynamic_cast<const Recorder*>(reg->find("recorder"));
    auto* second = dynamic_cast<const Recorder*>(reg->find("recorder:2"));
    REQUIRE(first);
    REQUIRE(second);
    CHECK(first != second);
    CHECK(first->args_ == std::vector<std::string>{"helo"});
    CHECK(second->args_.empty());
    CHECK(first->config_dir_ == "/tmp/asmtpd-config");
    CHECK(first->timeout() == std::chrono::milliseconds(1234));
    CHECK(reg->find("queue/quiet") != nullptr);
    CHECK(reg->find("quiet") == nullptr);
    CHECK(reg->find("recorder:3") == nullptr);
}

TEST_CASE("Registry: a plugin may override the server's timeout in init") {
    Fixture f;
    auto reg = f.build({line("recorder", "", {"slow"}, 1)});
    CHECK(f.errors.empty());
    CHECK(reg->find("recorder")->timeout() == std::chrono::milliseconds(5));
}

TEST_CASE("Registry: unknown plugin is an error with file:line, others still load") {
    Fixture f;
    auto reg = f.build({line("nosuch", "", {}, 2), line("recorder", "", {}, 5), line("Recorder", "", {}, 9)});
    REQUIRE(f.errors.size() == 2);
    CHECK(f.errors[0] == "config/plugins:2: unknown plugin 'nosuch'");
    CHECK(f.errors[1] == "config/plugins:9: unknown plugin 'Recorder'");   // names are case-sensitive
    CHECK(reg->plugin_count() == 1);
    CHECK(reg->entries(Hook::Rcpt).size() == 1);
}

TEST_CASE("Registry: init error names the plugin and its line; it registers nothing") {
    Fixture f;
    auto reg = f.build({line("recorder", "", {"helo", "bad"}, 4), line("recorder", "recorder:2", {}, 6)});
    REQUIRE(f.errors.size() == 1);
    CHECK(f.errors[0] == "config/plugins:4: plugin 'recorder': bad argument 'bad'");
    CHECK(reg->plugin_count() == 1);
    CHECK(reg->find("recorder") == nullptr);
    REQUIRE(reg->entries(Hook::Rcpt).size() == 1);
    CHECK(reg->entries(Hook::Rcpt)[0].plugin->name() == "recorder:2");
    CHECK(reg->entries(Hook::Helo).empty());
}

TEST_CASE("Registry: every error is reported, not only the first") {
    Fixture f;
    auto reg = f.build({line("a", "", {}, 1), line("recorder", "", {"bad"}, 2), line("b", "", {}, 3),
                        line("broken", "", {}, 4)});
    REQUIRE(f.errors.size() == 4);
    CHECK(f.errors[0].rfind("config/plugins:1:", 0) == 0);
    CHECK(f.errors[1].rfind("config/plugins:2:", 0) == 0);
    CHECK(f.errors[2].rfind("config/plugins:3:", 0) == 0);
    CHECK(f.errors[3] == "config/plugins:4: plugin 'broken': could not be created");
    CHECK(reg->plugin_count() == 0);
}

TEST_CASE("Registry: the same instance name twice is an error") {
    Fixture f;
    auto reg = f.build({line("recorder", "", {}, 1), line("recorder", "", {}, 2)});
    REQUIRE(f.errors.size() == 1);
    CHECK(f.errors[0].rfind("config/plugins:2: plugin 'recorder' is already loaded", 0) == 0);
    CHECK(reg->plugin_count() == 1);
    CHECK(reg->entries(Hook::Rcpt).size() == 1);
}

TEST_CASE("Registry: an empty list builds an empty registry") {
    Fixture f;
    auto reg = f.build({});
    REQUIRE(reg);
    CHECK(f.errors.empty());
    CHECK(reg->plugin_count() == 0);
    for (std::size_t i = 0; i < kHookCount; ++i) CHECK_FALSE(reg->has(static_cast<Hook>(i)));
}

}  // namespace ASMTPD_TEST_UNIT
