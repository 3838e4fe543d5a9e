// plugin_list_fuzz.cpp - libFuzzer target for core/proto/plugin_list.cpp.
// Invariants: accepted entries have safe names (no controls, no ".." segment, no leading "/"),
// unique instances, printable arguments, line numbers within the file; every error is
// "file:line: message" and control-free.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>

#include "core/proto/plugin_list.hpp"
#include "t/fuzz/fuzz_check.hpp"

using namespace asmtpd::proto;
using asmtpd::fuzz::has_ctl;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    PluginList l = parse_plugin_list(text, "fz");
    int lines = 1;
    for (char c : text) lines += c == '\n';
    std::set<std::string> instances;
    int last_line = 0;
    for (const auto& p : l.plugins) {
        FUZZ_CHECK(!p.name.empty() && !has_ctl(p.name));
        FUZZ_CHECK(p.name.front() != '/' && ("/" + p.name + "/").find("/../") == std::string::npos);
        FUZZ_CHECK(p.instance.rfind(p.name, 0) == 0);
        FUZZ_CHECK(instances.insert(p.instance).second);
        FUZZ_CHECK(p.line > last_line && p.line <= lines);
        last_line = p.line;
        FUZZ_CHECK(p.file == "fz");
        for (const auto& a : p.args) {
            FUZZ_CHECK(!a.empty());
            for (char c : a) FUZZ_CHECK(c > 0x20 && c < 0x7f);
        }
    }
    for (const auto& e : l.errors) {
        FUZZ_CHECK(e.rfind("fz:", 0) == 0);
        FUZZ_CHECK(!has_ctl(e));
    }
    return 0;
}
