// milter_packet.hpp - the milter wire protocol (version 6, as sendmail's libmilter and Postfix
// speak it): packets to the filter, and the filter's replies read back into values.
//
// Grammar (all integers network byte order):
//   packet   = len:uint32 cmd:char data:(len-1 octets)         len >= 1, len <= kMaxPacket
//   OPTNEG   = 'O' version:uint32 actions:uint32 protocol:uint32 *(stage:uint32 macros:str0)
//   CONNECT  = 'C' host:str0 family:char [port:uint16 address:str0]   (family 'U': no more)
//   HELO 'H' host:str0      MAIL 'M' / RCPT 'R' 1*arg:str0  ("<addr>" then ESMTP args)
//   MACRO    = 'D' stage-cmd:char *(name:str0 value:str0)
//   HEADER 'L' name:str0 value:str0   BODY 'B' octets (<= kMaxBodyChunk)   EOH 'N', BODYEOB 'E',
//   DATA 'T', ABORT 'A', QUIT 'Q', QUIT_NC 'K' (no data)   UNKNOWN 'U' command:str0
// Replies: ACCEPT 'a', CONTINUE 'c', DISCARD 'd', REJECT 'r', TEMPFAIL 't', SKIP 's',
//   PROGRESS 'p' (no data); REPLYCODE 'y' text:str0 ("550 5.7.1 no", or multi-line
//   "550-5.7.1 a\r\n550 5.7.1 b"); ADDHEADER 'h' name:str0 value:str0; CHGHEADER 'm' /
//   INSHEADER 'i' index:uint32 name:str0 value:str0; ADDRCPT '+' rcpt:str0; ADDRCPT_PAR '2'
//   rcpt:str0 [args:str0]; DELRCPT '-' rcpt:str0; CHGFROM 'e' from:str0 [args:str0];
//   REPLBODY 'b' octets; QUARANTINE 'q' reason:str0; OPTNEG 'O' as above.
// Rules: pure (no I/O); every length is checked before it is read, so a hostile filter can
// only make a parse fail (an error text, never an exception, never a read past the data).
// A REPLYCODE is accepted only with a 4xx or 5xx code and the same code on every line, as
// libmilter's smfi_setmlreply builds it; its text lines are sanitized for an SMTP reply.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace asmtpd::proto::milter {

constexpr std::uint32_t kVersion = 6;
constexpr std::size_t kMaxBodyChunk = 65535;
constexpr std::size_t kMaxPacket = 2 * 1024 * 1024;   // a filter's packet above this is an error

// Action flags (SMFIF_*): what the filter may do at end of message.
enum Action : std::uint32_t {
    kAddHeaders = 0x01, kChangeBody = 0x02, kAddRcpt = 0x04, kDeleteRcpt = 0x08, kChangeHeaders = 0x10,
    kQuarantine = 0x20, kChangeFrom = 0x40, kAddRcptPar = 0x80, kSetSymList = 0x100,
};
constexpr std::uint32_t kAllActions = 0x1ff;

// Protocol flags (SMFIP_*): steps the filter does not want, or will not answer.
enum Protocol : std::uint32_t {
    kNoConnect = 0x01, kNoHelo = 0x02, kNoMail = 0x04, kNoRcpt = 0x08, kNoBody = 0x10, kNoHeaders = 0x20,
    kNoEoh = 0x40, kNoReplyHeader = 0x80, kNoUnknown = 0x100, kNoData = 0x200, kSkip = 0x400,
    kRcptRej = 0x800, kNoReplyConnect = 0x1000, kNoReplyHelo = 0x2000, kNoReplyMail = 0x4000,
    kNoReplyRcpt = 0x8000, kNoReplyData = 0x10000, kNoReplyUnknown = 0x20000, kNoReplyEoh = 0x40000,
    kNoReplyBody = 0x80000, kHeaderLeadingSpace = 0x100000,
};
// What this client offers: every step flag, every no-reply flag, SKIP, leading space. Not
// RCPT_REJ (refused recipients are not shown) nor the MDS_* size flags (64 KB body chunks).
constexpr std::uint32_t kOfferedProtocol = 0x1fffff & ~static_cast<std::uint32_t>(kRcptRej);

// Macro stages (SMFIM_*), the index of OptNeg::macros.
enum class Stage : std::uint32_t { Connect = 0, Helo = 1, Mail = 2, Rcpt = 3, Data = 4, Eom = 5, Eoh = 6 };
constexpr std::size_t kStageCount = 7;

using Macros = std::vector<std::pair<std::string, std::string>>;

// ---- encoding (to the filter) ------------------------------------------------------------

std::string packet(char command, std::string_view data = {});
std::string optneg(std::uint32_t version, std::uint32_t actions, std::uint32_t protocol);
// family: '4', '6', 'L' (Unix socket; port 0), 'U' (unknown: no port, no address).
std::string connect(std::string_view host, char family, std::uint16_t port, std::string_view address);
std::string helo(std::string_view host);
// MAIL ('M') or RCPT ('R'): the path as "<addr>", then each ESMTP argument as "KEY=VALUE".
std::string envelope(char command, std::string_view path, const std::vector<std::string>& args);
std::string macros(char stage_command, const Macros& m);
std::string header(std::string_view name, std::string_view value);
// BODY chunks: data split at kMaxBodyChunk octets, one 'B' packet each (nothing for empty data).
std::string body(std::string_view data);
std::string unknown(std::string_view command_line);

// ---- decoding (from the filter) ----------------------------------------------------------

struct Packet {
    char command = 0;
    std::string data;
};

enum class Need { Packet, More, Error };

// Takes one packet off the front of buf: Need::Packet (out filled, consumed = its size),
// Need::More (wait for more bytes), Need::Error (error says why: length 0 or over max).
Need take_packet(std::string_view buf, Packet& out, std::size_t& consumed, std::string& error,
                 std::size_t max = kMaxPacket);

struct OptNeg {
    std::uint32_t version = 0, actions = 0, protocol = 0;
    std::array<std::optional<std::string>, kStageCount> macros;   // SETSYMLIST per stage
};

enum class ReplyKind {
    Accept, Continue, Discard, Reject, Tempfail, ReplyCode, Skip, Progress,
    AddHeader, ChangeHeader, InsertHeader, AddRcpt, AddRcptPar, DeleteRcpt, ChangeFrom, ReplaceBody,
    Quarantine, OptNeg,
};

struct Reply {
    ReplyKind kind = ReplyKind::Continue;
    std::uint32_t index = 0;          // ChangeHeader / InsertHeader
    std::string name;                 // header name; recipient; sender
    std::string value;                // header value; ESMTP args; quarantine reason; body octets
    int code = 0;                     // ReplyCode: 4xx or 5xx
    std::string esc;                  // ReplyCode: enhanced status code, or empty
    std::vector<std::string> lines;   // ReplyCode: the text of each line (sanitized)
    OptNeg optneg;                    // OptNeg

    // a, c, d, r, t, y, s (and O): the filter's answer to a command; the others come before it.
    bool final() const;
};

// One packet as a reply; nullopt with error set for an unknown command or a malformed body.
std::optional<Reply> parse_reply(const Packet& p, std::string& error);

std::string_view reply_name(ReplyKind k);   // "accept", "replycode", "addheader", ...

}  // namespace asmtpd::proto::milter
