/* uv_spawn_loop.c - the raw uv_spawn ceiling for load (f): how many times per second one libuv
 * loop can run a program, reading its stdout to EOF, with K children in flight.
 *
 * Usage: uv_spawn_loop PROGRAM TOTAL CONCURRENCY   -> prints "spawns=N seconds=S per_sec=R"
 * A child counts as done when it has exited AND its stdout pipe reached EOF (what an spp plugin
 * must wait for). It never runs anything but PROGRAM. Owner: tooling (scripts/bench_lib/). */
#include <stdio.h>
#include <stdlib.h>
#include <uv.h>

typedef struct {
    uv_process_t proc;
    uv_pipe_t out;
    int exited, eof, closing;
} child_t;

static const char *program;
static int total, started, finished, failed;
static char buf[4096];

static void start_one(uv_loop_t *loop);

static void on_closed(uv_handle_t *h) {
    child_t *c = h->data;
    uv_loop_t *loop = h->loop;
    if (++c->closing == 2) {
        free(c);
        ++finished;
        if (started < total) start_one(loop);
    }
}

static void maybe_done(child_t *c) {
    if (c->exited && c->eof) {
        uv_close((uv_handle_t *)&c->proc, on_closed);
        uv_close((uv_handle_t *)&c->out, on_closed);
    }
}

static void on_alloc(uv_handle_t *h, size_t n, uv_buf_t *b) {
    (void)h; (void)n;
    *b = uv_buf_init(buf, sizeof buf);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
    (void)b;
    if (n < 0) {
        child_t *c = s->data;
        uv_read_stop(s);
        c->eof = 1;
        maybe_done(c);
    }
}

static void on_exit_cb(uv_process_t *p, int64_t status, int sig) {
    child_t *c = p->data;
    if (status != 0 || sig != 0) ++failed;
    c->exited = 1;
    maybe_done(c);
}

static void start_one(uv_loop_t *loop) {
    child_t *c = calloc(1, sizeof *c);
    c->proc.data = c->out.data = c;
    uv_pipe_init(loop, &c->out, 0);
    uv_stdio_container_t io[3];
    io[0].flags = UV_IGNORE;
    io[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
    io[1].data.stream = (uv_stream_t *)&c->out;
    io[2].flags = UV_IGNORE;
    char *args[] = {(char *)program, NULL};
    uv_process_options_t o = {0};
    o.file = program;
    o.args = args;
    o.exit_cb = on_exit_cb;
    o.stdio = io;
    o.stdio_count = 3;
    ++started;
    int rc = uv_spawn(loop, &c->proc, &o);
    if (rc != 0) {
        fprintf(stderr, "uv_spawn: %s\n", uv_strerror(rc));
        exit(1);
    }
    uv_read_start((uv_stream_t *)&c->out, on_alloc, on_read);
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s PROGRAM TOTAL CONCURRENCY\n", argv[0]);
        return 2;
    }
    program = argv[1];
    total = atoi(argv[2]);
    int k = atoi(argv[3]);
    uv_loop_t *loop = uv_default_loop();
    uint64_t t0 = uv_hrtime();
    for (int i = 0; i < k && started < total; ++i) start_one(loop);
    uv_run(loop, UV_RUN_DEFAULT);
    double s = (double)(uv_hrtime() - t0) / 1e9;
    printf("spawns=%d failed=%d seconds=%.3f per_sec=%.1f\n", finished, failed, s, finished / s);
    return failed ? 1 : 0;
}
