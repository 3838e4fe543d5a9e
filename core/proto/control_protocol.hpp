// control_protocol.hpp - the control socket's protocol (asmtpd-ctl <-> the daemon, over a
// Unix-domain socket; docs/OPERATIONS.md "Control socket").
//
// Request: one line, one verb and nothing else: `status`, `reload`, `drain` or `plugins`
// (any case, spaces around it ignored), ended by LF (a CR before it is dropped). At most
// kMaxControlLine bytes with the LF. A client may send several requests on one connection;
// each gets exactly one reply, in order.
// Reply: one line of JSON, an object, ended by LF: {"ok":true,"command":"status",...} or
// {"ok":false,"error":"why",...}. Nothing else is ever written to the socket.
//
// Both parsers are pure and total: any bytes give a value, never an exception.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace asmtpd::proto {

inline constexpr std::size_t kMaxControlLine = 256;

enum class ControlVerb : std::uint8_t { Status, Reload, Drain, Plugins };
std::string_view control_verb_name(ControlVerb v);
std::optional<ControlVerb> control_verb(std::string_view word);   // case-insensitive

struct ControlRequestParse {
    enum class Status { Incomplete, Complete, Invalid };
    Status status = Status::Incomplete;
    ControlVerb verb = ControlVerb::Status;   // Complete
    std::string error;                         // Invalid: what is wrong, in words
    // Bytes of the input the request line took, LF included (Complete, and Invalid for a
    // whole line). 0 with Invalid: no LF within kMaxControlLine bytes; the caller closes.
    std::size_t consumed = 0;
};

// Looks at what the client sent and was not consumed yet.
ControlRequestParse parse_control_request(std::string_view input);

// The reply lines (each ends in LF). `body` must be an object; "ok" (and "error") are set here.
std::string control_ok_reply(ControlVerb verb, nlohmann::json body = nlohmann::json::object());
std::string control_error_reply(std::string_view error, nlohmann::json body = nlohmann::json::object());

struct ControlReply {
    bool ok = false;
    std::string error;       // !ok: the daemon's reason ("" when it gave none)
    nlohmann::json body;     // the whole object
};

// One reply line (with or without its LF). nullopt when it is not a JSON object with a
// boolean "ok" (a string "error" when present): not a reply of this protocol.
std::optional<ControlReply> parse_control_reply(std::string_view line);

}  // namespace asmtpd::proto
