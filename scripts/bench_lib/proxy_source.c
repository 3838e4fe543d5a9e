/* proxy_source.c - load (i)'s client: smtp-source's load (a connection per message, one
 * command at a time) with a PROXY protocol v1 header first, so the server sees the client as
 * CLIENT_IP instead of 127.0.0.1. The DNS policy plugins of asmtpd and Haraka leave loopback
 * and private clients alone; through PROXY they check a public-looking address (198.18.0.0/15,
 * RFC 2544's benchmarking range) against the bench's DNS server. Postfix's smtp-source cannot
 * send a PROXY header, hence this program.
 *
 *   proxy_source -s SESSIONS -m MSGS -l BYTES -p CLIENT_IP -H HELO -f FROM -t TO 127.0.0.1:PORT
 *
 * SESSIONS threads with blocking sockets, each taking the next message until MSGS are done.
 * Every reply is checked (220, 250, 250, 250, 354, 250, 221); a session that sees anything else
 * is a failure. Prints "proxy_source: N sent, F failed" and, on any failure,
 * "fatal: <first error>" with exit status 1 (the bench then drops the run). Loopback only.
 * Owner: tooling (scripts/bench_lib/). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static int sessions = 1, msgs = 1, size = 1024, port;
static const char *client_ip = "198.18.0.7", *helo = "client.localhost", *from = "bench@client.localhost",
                  *to = "rcpt@bench.test", *host = "127.0.0.1";
static atomic_int next_msg, sent, failed;
static pthread_mutex_t err_lock = PTHREAD_MUTEX_INITIALIZER;
static char first_error[640];

struct conn {
    int fd;
    char buf[4096];
    size_t len;
};

static int fail(const char *what, int n) {
    pthread_mutex_lock(&err_lock);
    if (!first_error[0]) snprintf(first_error, sizeof first_error, "message %d: %s", n, what);
    pthread_mutex_unlock(&err_lock);
    atomic_fetch_add(&failed, 1);
    return -1;
}

static int send_all(int fd, const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Reads one reply (all its lines); 0 if its code is `want`, else -1 with the line in `got`. */
static int reply(struct conn *c, const char *want, char *got, size_t got_n) {
    for (;;) {
        char *eol = memchr(c->buf, '\n', c->len);
        while (eol) {
            size_t line = (size_t)(eol - c->buf) + 1;
            int last = line < 5 || c->buf[3] != '-';
            int ok = line >= 4 && memcmp(c->buf, want, 3) == 0;
            if (!ok || last) {
                snprintf(got, got_n, "%.*s", (int)(line > 80 ? 80 : line), c->buf);
                memmove(c->buf, c->buf + line, c->len - line);
                c->len -= line;
                return ok ? 0 : -1;
            }
            memmove(c->buf, c->buf + line, c->len - line);
            c->len -= line;
            eol = memchr(c->buf, '\n', c->len);
        }
        if (c->len == sizeof c->buf) return snprintf(got, got_n, "reply line too long"), -1;
        ssize_t r = recv(c->fd, c->buf + c->len, sizeof c->buf - c->len, 0);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return snprintf(got, got_n, r == 0 ? "connection closed" : "recv: %s", strerror(errno)), -1;
        c->len += (size_t)r;
    }
}

static int step(struct conn *c, const char *cmd, size_t cmd_n, const char *want, int n) {
    char got[128], why[200];
    if (cmd && send_all(c->fd, cmd, cmd_n) < 0) return fail("send failed", n);
    if (reply(c, want, got, sizeof got) == 0) return 0;
    got[strcspn(got, "\r\n")] = 0;
    snprintf(why, sizeof why, "wanted %s, got '%s'", want, got);
    return fail(why, n);
}

static char *message(int n, size_t *len) {
    size_t cap = (size_t)size + 512;
    char *m = malloc(cap);
    int h = snprintf(m, cap, "From: <%s>\r\nTo: <%s>\r\nSubject: proxy_source %d\r\nMessage-ID: <%d.%d@%s>\r\n\r\n",
                     from, to, n, n, (int)getpid(), helo);
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
    *len = at + 3;
    return m;
}

static int session(int n) {
    struct conn c = {.fd = socket(AF_INET, SOCK_STREAM, 0), .len = 0};
    if (c.fd < 0) return fail("socket failed", n);
    struct timeval tv = {.tv_sec = 60};
    setsockopt(c.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    int one = 1;
    setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
    inet_pton(AF_INET, host, &a.sin_addr);
    int rc = -1;
    char line[512];
    if (connect(c.fd, (struct sockaddr *)&a, sizeof a) < 0) {
        snprintf(line, sizeof line, "connect: %s", strerror(errno));
        fail(line, n);
        goto out;
    }
    int k = snprintf(line, sizeof line, "PROXY TCP4 %s %s %d %d\r\n", client_ip, host, 1024 + n % 60000, port);
    if (send_all(c.fd, line, (size_t)k) < 0) { fail("send PROXY failed", n); goto out; }
    if (step(&c, NULL, 0, "220", n)) goto out;
    k = snprintf(line, sizeof line, "EHLO %s\r\n", helo);
    if (step(&c, line, (size_t)k, "250", n)) goto out;
    k = snprintf(line, sizeof line, "MAIL FROM:<%s>\r\n", from);
    if (step(&c, line, (size_t)k, "250", n)) goto out;
    k = snprintf(line, sizeof line, "RCPT TO:<%s>\r\n", to);
    if (step(&c, line, (size_t)k, "250", n)) goto out;
    if (step(&c, "DATA\r\n", 6, "354", n)) goto out;
    size_t mlen;
    char *m = message(n, &mlen);
    int bad = step(&c, m, mlen, "250", n);
    free(m);
    if (bad) goto out;
    atomic_fetch_add(&sent, 1);
    if (step(&c, "QUIT\r\n", 6, "221", n)) goto out;
    rc = 0;
out:
    close(c.fd);
    return rc;
}

static void *worker(void *arg) {
    (void)arg;
    for (int n; (n = atomic_fetch_add(&next_msg, 1)) < msgs;) session(n);
    return NULL;
}

int main(int argc, char **argv) {
    int o;
    while ((o = getopt(argc, argv, "s:m:l:p:H:f:t:")) != -1) {
        switch (o) {
        case 's': sessions = atoi(optarg); break;
        case 'm': msgs = atoi(optarg); break;
        case 'l': size = atoi(optarg); break;
        case 'p': client_ip = optarg; break;
        case 'H': helo = optarg; break;
        case 'f': from = optarg; break;
        case 't': to = optarg; break;
        default:
            fprintf(stderr, "usage: proxy_source -s N -m N -l BYTES -p CLIENT_IP -H HELO -f FROM -t TO 127.0.0.1:PORT\n");
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
    pthread_t *t = calloc((size_t)sessions, sizeof *t);
    for (int i = 0; i < sessions; ++i) pthread_create(&t[i], NULL, worker, NULL);
    for (int i = 0; i < sessions; ++i) pthread_join(t[i], NULL);
    printf("proxy_source: %d sent, %d failed\n", atomic_load(&sent), atomic_load(&failed));
    if (atomic_load(&failed)) printf("fatal: %s\n", first_error);
    return atomic_load(&failed) ? 1 : 0;
}
