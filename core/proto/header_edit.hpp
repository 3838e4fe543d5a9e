// header_edit.hpp - edits to a message's own header block, applied in one pure pass: milter's
// chgheader (change, delete), insheader and addheader, plus rename (keep the value under a new
// name: Authentication-Results -> Original-Authentication-Results).
//
// A field is named by its name (case-insensitive) and its 1-based occurrence among the fields
// of that name, counted on the block as the edits before it left it (milter semantics: later
// edits see earlier ones). Occurrence 0 means every field of that name. An edit may carry a
// `when` test on the field's unfolded value; fields it rejects are left alone but still count.
//   Delete   the field goes; no such occurrence: nothing happens.
//   Rename   the field keeps its value (bytes after the ':' unchanged) under `value` as name.
//   Change   the field's value becomes `value`; an occurrence past the last one adds the field
//            at the end (sendmail's smfi_chgheader), occurrence 0 never adds.
//   Insert   a new field `name: value` goes before the field at position `index` of the block
//            (0 = the top; past the end = appended, smfi_insheader/addheader). A block that
//            starts with a folded line keeps it first (it would fold into the new field).
// Never: change a byte of a field no edit touched (DKIM signatures cover them); emit a line
// that does not end in CRLF, an empty line, or a name that is not a field-name. An edit whose
// name (or Rename's new name) is not a valid field-name does nothing; inserted and changed
// values pass through append_header_field (line breaks become folds, controls go).
// Pure: no I/O.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace asmtpd::proto {

struct HeaderEdit {
    enum class Kind { Delete, Rename, Change, Insert };
    Kind kind = Kind::Delete;
    std::string name;          // the field addressed, or the one inserted
    std::size_t index = 1;     // occurrence (1-based, 0 = all), or Insert's position
    std::string value;         // Change/Insert: the new value; Rename: the new name
    std::function<bool(std::string_view unfolded_value)> when;   // empty: every field matches

    static HeaderEdit remove(std::string name, std::size_t occurrence);
    static HeaderEdit rename(std::string name, std::size_t occurrence, std::string new_name);
    static HeaderEdit change(std::string name, std::size_t occurrence, std::string value);
    static HeaderEdit insert(std::size_t position, std::string name, std::string value);
};

// The block after `edits`, in order. Untouched fields are copied byte for byte; a last line
// without a line end gets CRLF, so the empty line or body that follows stays separate.
std::string apply_header_edits(std::string_view block, const std::vector<HeaderEdit>& edits);

}  // namespace asmtpd::proto
