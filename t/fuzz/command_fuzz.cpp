// command_fuzz.cpp - libFuzzer target for core/proto/command.cpp: a whole command line goes
// through parse_command, then parse_mail_args / parse_rcpt_args, parse_path and decode_xtext,
// the way the session chains them. Invariants: verbs are upper-cased and validity matches the
// grammar; accepted params are clean; paths are bracketed; errors are valid 501 replies.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/proto/address.hpp"
#include "core/proto/command.hpp"
#include "core/proto/text.hpp"
#include "t/fuzz/fuzz_check.hpp"

using namespace asmtpd::proto;
using asmtpd::fuzz::has_ctl;
using asmtpd::fuzz::well_formed_wire;

namespace {

void check_path_args(const Expected<PathArgs>& r, bool mail) {
    if (!r.ok()) {
        FUZZ_CHECK(r.error().code == 501 && r.error().esc == "5.5.4");
        FUZZ_CHECK(well_formed_wire(r.error().wire(true)));
        return;
    }
    const PathArgs& p = *r;
    FUZZ_CHECK(p.path.size() >= 2 && p.path.front() == '<' && p.path.back() == '>');
    for (const auto& prm : p.params) {
        FUZZ_CHECK(!prm.keyword.empty() && is_alnum(prm.keyword.front()));
        for (char c : prm.keyword) FUZZ_CHECK((is_alnum(c) && !(c >= 'a' && c <= 'z')) || c == '-');
        if (prm.value) {
            FUZZ_CHECK(!prm.value->empty() && !has_ctl(*prm.value));
            FUZZ_CHECK(prm.value->find(' ') == std::string::npos && prm.value->find('=') == std::string::npos);
            FUZZ_CHECK(valid_utf8(*prm.value));
            if (auto x = decode_xtext(*prm.value)) FUZZ_CHECK(!has_ctl(*x) && valid_utf8(*x));
        }
        FUZZ_CHECK(p.find(prm.keyword) == &prm);  // keywords are unique
    }
    for (bool utf8 : {false, true}) {
        auto a = parse_path(p.path, mail ? sender_rules(utf8) : recipient_rules(utf8));
        if (a.ok()) {
            FUZZ_CHECK(!has_ctl(a->format()));
            FUZZ_CHECK(!has_ctl(a->bare()));
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view line(reinterpret_cast<const char*>(data), size);
    Command c = parse_command(line);
    FUZZ_CHECK(c.verb.size() <= line.size());
    for (char ch : c.verb) FUZZ_CHECK(!(ch >= 'a' && ch <= 'z'));
    bool grammar_ok = !c.verb.empty() && c.verb.size() <= 12;
    for (char ch : c.verb) grammar_ok = grammar_ok && is_alnum(ch);
    FUZZ_CHECK(c.valid_verb == grammar_ok);
    FUZZ_CHECK(c.args.empty() || (c.args.back() != ' ' && c.args.back() != '\t'));

    check_path_args(parse_mail_args(c.args), true);
    check_path_args(parse_rcpt_args(c.args), false);
    // also the raw line as arguments, so paths and params get the whole input
    check_path_args(parse_mail_args(line), true);
    check_path_args(parse_rcpt_args(line), false);

    if (auto x = decode_xtext(line)) {
        FUZZ_CHECK(!has_ctl(*x));
        FUZZ_CHECK(x->size() <= line.size());
    }
    return 0;
}
