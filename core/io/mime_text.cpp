// mime_text.cpp - text parts through GMime. See mime_text.hpp.
//
// Ownership: GMime objects are GObjects; each is held by a small RAII holder that calls
// g_object_unref once. Objects got from a container (g_mime_multipart_get_part,
// g_mime_message_get_mime_part, ...) are borrowed and never unreffed here.
#include "core/io/mime_text.hpp"

#include <gmime/gmime.h>

#include <algorithm>
#include <mutex>

namespace asmtpd::io {

namespace {

template <typename T>
class Ref {
public:
    explicit Ref(T* p) : p_(p) {}
    ~Ref() {
        if (p_) g_object_unref(p_);
    }
    Ref(const Ref&) = delete;
    Ref& operator=(const Ref&) = delete;
    T* get() const { return p_; }
    explicit operator bool() const { return p_ != nullptr; }

private:
    T* p_;
};

void init_once() {
    // GMime's set-up (charset tables, the type system) is process-wide and not thread-safe.
    static std::once_flag once;
    std::call_once(once, [] { g_mime_init(); });
}

class Walker {
public:
    explicit Walker(std::size_t max) : max_(max) {}

    void walk(GMimeObject* obj, int depth) {
        if (!obj || depth > kMaxMimeDepth || out_.truncated) return;
        if (GMIME_IS_MESSAGE_PART(obj)) {
            GMimeMessage* m = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));
            if (m) walk(g_mime_message_get_mime_part(m), depth + 1);
        } else if (GMIME_IS_MULTIPART(obj)) {
            GMimeMultipart* mp = GMIME_MULTIPART(obj);
            const int n = g_mime_multipart_get_count(mp);
            for (int i = 0; i < n; ++i) walk(g_mime_multipart_get_part(mp, i), depth + 1);
        } else if (GMIME_IS_PART(obj)) {
            ++out_.leaves;
            GMimeContentType* ct = g_mime_object_get_content_type(obj);
            if (ct && !g_mime_content_type_is_type(ct, "text", "*")) return;
            decode(GMIME_PART(obj));
        }
    }

    MimeText take() { return std::move(out_); }

private:
    void decode(GMimePart* part) {
        GMimeDataWrapper* content = g_mime_part_get_content(part);
        if (!content) return;
        Ref<GMimeStream> sink(g_mime_stream_mem_new());
        if (!sink || g_mime_data_wrapper_write_to_stream(content, sink.get()) < 0) return;
        GByteArray* bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(sink.get()));
        if (!bytes) return;
        ++out_.parts;
        if (!out_.text.empty()) append("\n", 1);
        append(reinterpret_cast<const char*>(bytes->data), bytes->len);
    }

    void append(const char* p, std::size_t n) {
        const std::size_t room = max_ - std::min(max_, out_.text.size());
        if (n > room) {
            n = room;
            out_.truncated = true;
        }
        out_.text.append(p, n);
    }

    std::size_t max_;
    MimeText out_;
};

}  // namespace

MimeText mime_text_parts(std::string_view message, std::size_t max_output) {
    init_once();
    Walker w(max_output);
    // The memory stream copies the bytes; the parser keeps its own reference to the stream.
    Ref<GMimeStream> in(g_mime_stream_mem_new_with_buffer(message.data(), message.size()));
    if (!in) return {};
    Ref<GMimeParser> parser(g_mime_parser_new_with_stream(in.get()));
    if (!parser) return {};
    Ref<GMimeMessage> msg(g_mime_parser_construct_message(parser.get(), nullptr));
    if (!msg) return {};
    w.walk(g_mime_message_get_mime_part(msg.get()), 0);
    return w.take();
}

}  // namespace asmtpd::io
