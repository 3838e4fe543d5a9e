#!/usr/bin/env python3
# tls_client.py - load (h): STARTTLS sessions against an SMTP server, N in all, C at once.
#
# Usage: tls_client.py PORT N [-c C] [--mode msg|handshake] [--size BYTES] [--tls-max 1.2|1.3]
# Each session is a new connection: banner, EHLO, STARTTLS, a full handshake (no session
# resumption, no certificate check: the bench's pair is self-signed), EHLO again, then
#   msg:       MAIL, RCPT, DATA with a SIZE-byte message, QUIT;
#   handshake: QUIT.
# One command at a time, as smtp-source sends them. Every reply is checked; a session that
# saw anything else is a failure, never a message. Prints one JSON line: counts, errors by kind,
# wall-clock start/end (so several client processes can be added up), handshake latency, the
# negotiated protocol/cipher, and this process's own CPU seconds: on 2 cores the client can be
# the bottleneck and must be reported. Loopback only. Owner: tooling (scripts/bench_lib/).
import argparse
import asyncio
import json
import os
import ssl
import time

RCPT = "rcpt@bench.test"


class Bad(Exception):
    """An unexpected reply: the session fails."""


async def reply(r, timeout, want):
    """Reads one (multi-line) reply; raises Bad unless its code starts with `want`."""
    lines = []
    while True:
        line = await asyncio.wait_for(r.readline(), timeout)
        if not line:
            raise Bad(f"EOF waiting for {want}xx")
        lines.append(line)
        if line[3:4] != b"-":
            break
    if not lines[0].startswith(want.encode()):
        raise Bad(f"wanted {want}xx, got {lines[0][:40]!r}")
    return lines


def message(size, n):
    """A message of exactly `size` bytes (CRLF line ends, no line starting with a dot)."""
    head = (f"From: <bench@client.localhost>\r\nTo: <{RCPT}>\r\nSubject: tls bench {n}\r\n"
            f"Message-ID: <{n}.{os.getpid()}.{time.time_ns()}@client.localhost>\r\n\r\n").encode()
    rest = max(0, size - len(head))
    line = b"x" * 76 + b"\r\n"
    body = line * (rest // len(line))
    tail = rest - len(body)
    if tail >= 2:
        body += b"y" * (tail - 2) + b"\r\n"
    return head + body


async def session(port, ctx, mode, size, timeout, n, stats):
    w = None
    try:
        r, w = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), timeout)
        await reply(r, timeout, "2")
        w.write(b"EHLO tls.client.localhost\r\n")
        caps = await reply(r, timeout, "250")
        if not any(c[4:].strip().upper() == b"STARTTLS" for c in caps):
            raise Bad("STARTTLS not offered")
        w.write(b"STARTTLS\r\n")
        await reply(r, timeout, "220")
        t0 = time.monotonic()
        await asyncio.wait_for(w.start_tls(ctx, server_hostname="bench.localhost"), timeout)
        stats["hs_lat"].append(time.monotonic() - t0)
        stats["handshakes"] += 1
        if stats["proto"] is None:
            obj = w.get_extra_info("ssl_object")
            stats["proto"] = f"{obj.version()} {obj.cipher()[0]}"
        w.write(b"EHLO tls.client.localhost\r\n")
        caps = await reply(r, timeout, "250")
        if any(c[4:].strip().upper() == b"STARTTLS" for c in caps):
            raise Bad("STARTTLS offered again inside TLS")
        if mode == "msg":
            w.write(b"MAIL FROM:<bench@client.localhost>\r\n")
            await reply(r, timeout, "250")
            w.write(f"RCPT TO:<{RCPT}>\r\n".encode())
            await reply(r, timeout, "250")
            w.write(b"DATA\r\n")
            await reply(r, timeout, "354")
            w.write(message(size, n) + b".\r\n")
            await reply(r, timeout, "250")
            stats["msgs"] += 1
        w.write(b"QUIT\r\n")
        await reply(r, timeout, "221")
        stats["ok"] += 1
    except Exception as e:  # noqa: BLE001 - every failure is counted, by kind
        key = str(e)[:60] if isinstance(e, Bad) else type(e).__name__
        stats["errors"][key] = stats["errors"].get(key, 0) + 1
    finally:
        if w is not None:
            w.close()
            try:
                # the server closes after 221; never wait out asyncio's 30 s TLS shutdown
                await asyncio.wait_for(w.wait_closed(), 2.0)
            except Exception:  # noqa: BLE001
                pass


async def worker(next_n, total, *args):
    port, ctx, mode, size, timeout, stats = args
    while True:
        n = next_n[0]
        if n >= total:
            return
        next_n[0] += 1
        await session(port, ctx, mode, size, timeout, n, stats)


def pct(vals, p):
    if not vals:
        return None
    i = min(len(vals) - 1, int(round(p / 100 * (len(vals) - 1))))
    return round(vals[i] * 1000, 2)


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("n", type=int, help="sessions in all")
    ap.add_argument("-c", "--conc", type=int, default=50, help="sessions at once")
    ap.add_argument("--mode", choices=("msg", "handshake"), default="msg")
    ap.add_argument("--size", type=int, default=1024)
    ap.add_argument("--timeout", type=float, default=30.0)
    ap.add_argument("--tls-max", choices=("1.2", "1.3"), default="1.3")
    a = ap.parse_args()

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2 if a.tls_max == "1.2" else ssl.TLSVersion.TLSv1_3
    stats = {"ok": 0, "msgs": 0, "handshakes": 0, "errors": {}, "hs_lat": [], "proto": None}
    t0w, c0 = time.time(), os.times()
    counter = [0]
    await asyncio.gather(*(worker(counter, a.n, a.port, ctx, a.mode, a.size, a.timeout, stats)
                           for _ in range(min(a.conc, a.n))))
    t1w, c1 = time.time(), os.times()
    lat = sorted(stats.pop("hs_lat"))
    print(json.dumps(dict(
        stats, requested=a.n, mode=a.mode, start=t0w, end=t1w,
        cpu_s=round((c1.user - c0.user) + (c1.system - c0.system), 3),
        handshake_ms={"p50": pct(lat, 50), "p99": pct(lat, 99), "max": pct(lat, 100)})), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
