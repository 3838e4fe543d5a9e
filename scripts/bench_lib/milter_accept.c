/* milter_accept.c - load (k)'s filter: a persistent milter (protocol 6) that accepts everything.
 *
 *   milter_accept PORT        listens on 127.0.0.1:PORT only
 *
 * One thread, epoll, many connections. It negotiates "send me every step, expect no reply"
 * (SMFIP_NR_* for connect, HELO, MAIL, RCPT, DATA, headers, EOH, body), so the MTA streams the
 * whole message without waiting and only the end of message is answered: CONTINUE (the message
 * is accepted, and, as in libmilter, a QUIT_NC may follow). ABORT needs no answer; QUIT closes;
 * QUIT_NC keeps the connection for the next session. What a real filter that inspects and passes mail costs the MTA, with
 * the filter's own work kept near zero. Owner: tooling (scripts/bench_lib/).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_PACKET (1u << 20)
#define NR_ALL (0x1000u | 0x2000u | 0x4000u | 0x8000u | 0x10000u | 0x80u | 0x40000u | 0x80000u)

struct conn {
    int fd;
    size_t len, cap;
    unsigned char *buf;
};

static void put32(unsigned char *p, uint32_t v) {
    p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v;
}

static uint32_t get32(const unsigned char *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static int send_all(int fd, const unsigned char *p, size_t n) {
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Handles every whole packet in c->buf; returns -1 to close. */
static int handle(struct conn *c) {
    size_t off = 0;
    while (c->len - off >= 5) {
        uint32_t n = get32(c->buf + off);
        if (n == 0 || n > MAX_PACKET) return -1;
        if (c->len - off - 4 < n) break;
        char cmd = (char)c->buf[off + 4];
        const unsigned char *data = c->buf + off + 5;
        if (cmd == 'O') {
            if (n < 13) return -1;
            unsigned char r[17];
            put32(r, 13);
            r[4] = 'O';
            put32(r + 5, 6);
            put32(r + 9, 0);                              /* no actions */
            put32(r + 13, get32(data + 8) & NR_ALL);      /* no replies but at end of message */
            if (send_all(c->fd, r, sizeof r) < 0) return -1;
        } else if (cmd == 'E') {
            static const unsigned char a[5] = {0, 0, 0, 1, 'c'};
            if (send_all(c->fd, a, sizeof a) < 0) return -1;
        } else if (cmd == 'Q') {
            return -1;
        }   /* 'K' (QUIT_NC): the next session's CONNECT follows here; this filter keeps no state */
        off += 4 + n;
    }
    memmove(c->buf, c->buf + off, c->len - off);
    c->len -= off;
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: milter_accept PORT\n");
        return 2;
    }
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1]))};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(ls, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(ls, 4096) < 0) {
        perror("milter_accept: bind/listen");
        return 1;
    }
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
    struct epoll_event evs[256];
    for (;;) {
        int k = epoll_wait(ep, evs, 256, -1);
        if (k < 0 && errno == EINTR) continue;
        for (int i = 0; i < k; i++) {
            struct conn *c = evs[i].data.ptr;
            if (!c) {
                int fd;
                while ((fd = accept4(ls, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    c = calloc(1, sizeof *c);
                    c->fd = fd;
                    c->cap = 65536;
                    c->buf = malloc(c->cap);
                    struct epoll_event e = {.events = EPOLLIN, .data.ptr = c};
                    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
                }
                continue;
            }
            int dead = 0;
            for (;;) {
                if (c->cap - c->len < 65536) {
                    if (c->cap >= MAX_PACKET * 2) { dead = 1; break; }
                    c->cap *= 2;
                    c->buf = realloc(c->buf, c->cap);
                }
                ssize_t r = read(c->fd, c->buf + c->len, c->cap - c->len);
                if (r > 0) {
                    c->len += (size_t)r;
                    if (handle(c) < 0) { dead = 1; break; }
                    continue;
                }
                if (r < 0 && (errno == EAGAIN || errno == EINTR)) break;
                dead = 1;
                break;
            }
            if (dead) {
                close(c->fd);   /* also leaves the epoll set */
                free(c->buf);
                free(c);
            }
        }
    }
}
