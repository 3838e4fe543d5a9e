/* proxy_source.c - load (i)'s client: smtp-source's load (a connection per message, one
 * command at a time) with a PROXY protocol v1 header first, so the server sees the client as
 * CLIENT_IP instead of 127.0.0.1. The DNS policy plugins of asmtpd and Haraka leave loopback
 * and private clients alone; through PROXY they check a public-looking address (198.18.0.0/15,
 * RFC 2544's benchmarking range) against the bench's DNS server. Postfix's smtp-source cannot
 * send a PROXY header, hence this program.
 *
 *   proxy_source -s SESSIONS -m MSGS -l BYTES -p CLIENT_IP -H HELO -f FROM -t TO [-F FILE] 127.0.0.1:PORT
 *
 * -F FILE sends FILE's bytes as every message instead of a generated one (load j: one message
 * with a DKIM signature): CRLF lines, already dot-stuffed, without the final dot.
 * One thread and epoll with SESSIONS connections in flight, as smtp-source runs (a thread per
 * session cost ~50% more client CPU, taken from the server on a 2-core machine).
 * Every reply is checked (220, 250, 250, 250, 354, 250, 221); a session that sees anything else
 * is a failure. Prints "proxy_source: N sent, F failed" and, on any failure,
 * "fatal: <first error>" with exit status 1 (the bench then drops the run). Loopback only.
 * Owner: tooling (scripts/bench_lib/). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

enum { kSteps = 7, kBuf = 4096 };
static const char *const kWant[kSteps] = {"220", "250", "250", "250", "354", "250", "221"};

static int sessions = 1, msgs = 1, size = 1024, port;
static const char *client_ip = "198.18.0.7", *helo = "client.localhost", *from = "bench@client.localhost",
                  *to = "rcpt@bench.test", *host = "127.0.0.1", *message_file;
static char *cmd[kSteps];       /* what each step sends: PROXY, EHLO, MAIL, RCPT, DATA, message, QUIT */
static size_t cmd_len[kSteps];
static int started, sent, failed, epfd;
static char first_error[256];
static struct sockaddr_in addr;

struct session {
    int fd, step, n, connecting;
    size_t out_at;              /* bytes of cmd[step] already written */
    size_t len;
    char buf[kBuf];
};

static void fail(struct session *s, const char *what) {
    if (!first_error[0]) snprintf(first_error, sizeof first_error, "message %d, step %d: %s", s->n, s->step, what);
    ++failed;
}

static char *dup_printf(size_t *len, const char *fmt, const char *a) {
    char tmp[600];
    int k = snprintf(tmp, sizeof tmp, fmt, a);
    *len = (size_t)k;
    return strdup(tmp);
}

static void build_commands(void) {
    char proxy[200];
    cmd_len[0] = (size_t)snprintf(proxy, sizeof proxy, "PROXY TCP4 %s %s 40000 %d\r\n", client_ip, host, port);
    cmd[0] = strdup(proxy);
    cmd[1] = dup_printf(&cmd_len[1], "EHLO %s\r\n", helo);
    cmd[2] = dup_printf(&cmd_len[2], "MAIL FROM:<%s>\r\n", from);
    cmd[3] = dup_printf(&cmd_len[3], "RCPT TO:<%s>\r\n", to);
    cmd[4] = dup_printf(&cmd_len[4], "%s", "DATA\r\n");
    cmd[6] = dup_printf(&cmd_len[6], "%s", "QUIT\r\n");
    if (message_file) {
        FILE *f = fopen(message_file, "rb");
        if (!f) perror(message_file), exit(2);
        fseek(f, 0, SEEK_END);
        long n = ftell(f);
        rewind(f);
        char *m = malloc((size_t)n + 3);
        if (n < 0 || fread(m, 1, (size_t)n, f) != (size_t)n) fprintf(stderr, "proxy_source: cannot read %s\n", message_file), exit(2);
        fclose(f);
        memcpy(m + n, ".\r\n", 3);
        cmd[5] = m;
        cmd_len[5] = (size_t)n + 3;
        return;
    }
    size_t cap = (size_t)size + 1024;
    char *m = malloc(cap);
    int h = snprintf(m, cap, "From: <%s>\r\nTo: <%s>\r\nSubject: proxy_source\r\n\r\n", from, to);
    size_t at = (size_t)h, body = 0;
    while (body < (size_t)size) {   /* 78-character lines, none starting with a dot */
        size_t take = (size_t)size - body < 78 ? (size_t)size - body : 78;
        memset(m + at, 'x', take);
        at += take;
        body += take;
        memcpy(m + at, "\r\n", 2);
        at += 2;
    }
    memcpy(m + at, ".\r\n", 3);
    cmd[5] = m;
    cmd_len[5] = at + 3;
}

static void watch(struct session *s, int op, unsigned events) {
    struct epoll_event ev = {.events = events, .data.ptr = s};
    epoll_ctl(epfd, op, s->fd, &ev);
}

static int open_next(struct session *s);

static void finish(struct session *s) {
    close(s->fd);
    s->fd = -1;
    open_next(s);
}

/* Writes what is left of the current step's command; 0 done, 1 waiting for EPOLLOUT, -1 failed. */
static int flush_out(struct session *s) {
    while (s->out_at < cmd_len[s->step]) {
        ssize_t w = send(s->fd, cmd[s->step] + s->out_at, cmd_len[s->step] - s->out_at, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && errno == EAGAIN) {
            watch(s, EPOLL_CTL_MOD, EPOLLIN | EPOLLOUT);
            return 1;
        }
        if (w <= 0) return fail(s, "send failed"), -1;
        s->out_at += (size_t)w;
    }
    return 0;
}

static void start_step(struct session *s) {
    s->out_at = 0;
    int r = flush_out(s);
    if (r < 0) finish(s);
}

static int open_next(struct session *s) {
    if (started >= msgs) return 0;
    s->n = started++;
    s->step = 0;
    s->len = 0;
    s->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int one = 1;
    setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    s->connecting = connect(s->fd, (struct sockaddr *)&addr, sizeof addr) < 0;
    if (s->connecting && errno != EINPROGRESS) {
        fail(s, strerror(errno));
        close(s->fd);
        return open_next(s);
    }
    watch(s, EPOLL_CTL_ADD, s->connecting ? EPOLLOUT : EPOLLIN);
    if (!s->connecting) start_step(s);
    return 1;
}

/* Complete replies in the buffer: each must have the step's code; the last line ends it. */
static void on_readable(struct session *s) {
    ssize_t r = recv(s->fd, s->buf + s->len, kBuf - s->len, 0);
    if (r < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (r <= 0) return fail(s, r == 0 ? "connection closed" : strerror(errno)), finish(s);
    s->len += (size_t)r;
    char *eol;
    while ((eol = memchr(s->buf, '\n', s->len))) {
        size_t line = (size_t)(eol - s->buf) + 1;
        int last = line < 5 || s->buf[3] != '-';
        if (line < 4 || memcmp(s->buf, kWant[s->step], 3) != 0) {
            char why[160];
            snprintf(why, sizeof why, "wanted %s, got '%.*s'", kWant[s->step], (int)(line > 80 ? 80 : line - 1), s->buf);
            why[strcspn(why, "\r")] = 0;
            fail(s, why);
            return finish(s);
        }
        memmove(s->buf, s->buf + line, s->len - line);
        s->len -= line;
        if (!last) continue;
        if (s->step == 5) ++sent;
        if (++s->step == kSteps) return finish(s);
        start_step(s);
        if (s->fd < 0) return;
    }
    if (s->len == kBuf) fail(s, "reply line too long"), finish(s);
}

static void on_event(struct session *s, unsigned events) {
    if (s->connecting) {
        int err = 0;
        socklen_t el = sizeof err;
        getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &el);
        if (err) return fail(s, strerror(err)), finish(s);
        s->connecting = 0;
        watch(s, EPOLL_CTL_MOD, EPOLLIN);
        return start_step(s);
    }
    if (events & EPOLLOUT) {
        int r = flush_out(s);
        if (r < 0) return finish(s);
        if (r == 0) watch(s, EPOLL_CTL_MOD, EPOLLIN);
    }
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) on_readable(s);
}

int main(int argc, char **argv) {
    int o;
    while ((o = getopt(argc, argv, "s:m:l:p:H:f:t:F:")) != -1) {
        switch (o) {
        case 's': sessions = atoi(optarg); break;
        case 'm': msgs = atoi(optarg); break;
        case 'l': size = atoi(optarg); break;
        case 'p': client_ip = optarg; break;
        case 'H': helo = optarg; break;
        case 'f': from = optarg; break;
        case 't': to = optarg; break;
        case 'F': message_file = optarg; break;
        default:
            fprintf(stderr, "usage: proxy_source -s N -m N -l BYTES -p CLIENT_IP -H HELO -f FROM -t TO [-F FILE] 127.0.0.1:PORT\n");
            return 2;
        }
    }
    char *colon = optind < argc ? strrchr(argv[optind], ':') : NULL;
    if (!colon || sessions < 1 || msgs < 1 || size < 0) {
        fprintf(stderr, "proxy_source: need HOST:PORT and positive -s/-m (see the header)\n");
        return 2;
    }
    *colon = 0;
    host = argv[optind];
    port = atoi(colon + 1);
    addr = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) return fprintf(stderr, "proxy_source: bad host\n"), 2;
    build_commands();
    epfd = epoll_create1(0);
    struct session *all = calloc((size_t)sessions, sizeof *all);
    int live = 0;
    for (int i = 0; i < sessions; ++i) live += open_next(&all[i]);
    struct epoll_event ev[64];
    while (sent + failed < msgs) {
        int k = epoll_wait(epfd, ev, 64, 60000);
        if (k == 0) {
            snprintf(first_error, sizeof first_error, "no progress for 60 s (%d sent, %d failed)", sent, failed);
            failed = msgs;   /* ends the loop: nothing else will move */
            break;
        }
        for (int i = 0; i < k; ++i) on_event(ev[i].data.ptr, ev[i].events);
    }
    (void)live;
    printf("proxy_source: %d sent, %d failed\n", sent, failed);
    if (failed) printf("fatal: %s\n", first_error);
    return failed ? 1 : 0;
}
