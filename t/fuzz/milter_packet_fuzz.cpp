// milter_packet_fuzz.cpp - libFuzzer target for core/proto/milter_packet.cpp. The input is
// what a broken or hostile milter sends on its socket: a stream of packets.
// Invariants: take_packet never consumes more than it was given nor less than one header;
// every reply that parses is well-formed for its kind (a REPLYCODE is 4xx/5xx with at least
// one line and no control characters in its text, a header reply has a name); re-encoding a
// packet's data gives back the bytes it was read from.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/proto/milter_packet.hpp"
#include "t/fuzz/fuzz_check.hpp"

using namespace asmtpd::proto::milter;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    for (int guard = 0; guard < 10000; ++guard) {
        Packet p;
        std::size_t used = 0;
        std::string error;
        auto need = take_packet(in, p, used, error, 1 << 16);
        if (need == Need::More) break;
        if (need == Need::Error) {
            FUZZ_CHECK(!error.empty());
            break;
        }
        FUZZ_CHECK(used >= 5 && used <= in.size());
        FUZZ_CHECK(packet(p.command, p.data) == in.substr(0, used));
        in.remove_prefix(used);
        auto r = parse_reply(p, error);
        if (!r) {
            FUZZ_CHECK(!error.empty());
            continue;
        }
        switch (r->kind) {
            case ReplyKind::ReplyCode:
                FUZZ_CHECK(r->code >= 400 && r->code <= 599);
                FUZZ_CHECK(!r->lines.empty());
                for (const auto& l : r->lines) FUZZ_CHECK(!asmtpd::fuzz::has_ctl(l));
                break;
            case ReplyKind::AddHeader:
            case ReplyKind::ChangeHeader:
            case ReplyKind::InsertHeader: FUZZ_CHECK(!r->name.empty()); break;
            default: break;
        }
        FUZZ_CHECK(!reply_name(r->kind).empty());
    }
    return 0;
}
