#!/usr/bin/env python3
# idle_client.py - load (d): open N SMTP connections, read each banner, send EHLO, hold them all.
#
# Usage: idle_client.py PORT N [--burst K] [--hold S]
# At most K handshakes (connect -> banner -> EHLO reply) are in flight at once, so a small listen
# backlog is not overrun. Prints "READY <n>" once every connection is open (or failed), waits for
# a line on stdin (or --hold seconds), closes them all and prints one JSON line of results.
# Banner latency runs from the connect() call to the whole 220 line. Loopback only; it never
# sends mail. Owner: tooling (scripts/bench_lib/).
import argparse
import asyncio
import json
import sys
import time


async def handshake(port, sem, timeout, conns, lat, ehlo_lat, errors):
    async with sem:
        t0 = time.monotonic()
        try:
            r, w = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), timeout)
            line = await asyncio.wait_for(r.readline(), timeout)
            t1 = time.monotonic()
            if not line.startswith(b"220"):
                raise RuntimeError(f"banner {line[:60]!r}")
            while line[3:4] == b"-":
                line = await asyncio.wait_for(r.readline(), timeout)
            w.write(b"EHLO idle.client.localhost\r\n")
            while True:
                line = await asyncio.wait_for(r.readline(), timeout)
                if not line.startswith(b"250"):
                    raise RuntimeError(f"EHLO reply {line[:60]!r}")
                if line[3:4] == b" ":
                    break
            t2 = time.monotonic()
        except Exception as e:  # noqa: BLE001 - every failure is counted, by kind
            key = type(e).__name__ if not isinstance(e, RuntimeError) else str(e)[:40]
            errors[key] = errors.get(key, 0) + 1
            return
        lat.append(t1 - t0)
        ehlo_lat.append(t2 - t1)
        conns.append((r, w))


def pct(sorted_vals, p):
    if not sorted_vals:
        return None
    i = min(len(sorted_vals) - 1, int(round(p / 100 * (len(sorted_vals) - 1))))
    return sorted_vals[i]


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("n", type=int)
    ap.add_argument("--burst", type=int, default=50)
    ap.add_argument("--timeout", type=float, default=15.0)
    ap.add_argument("--hold", type=float, default=None, help="seconds to hold; default: until a stdin line")
    a = ap.parse_args()

    sem = asyncio.Semaphore(a.burst)
    conns, lat, ehlo_lat, errors = [], [], [], {}
    t0 = time.monotonic()
    await asyncio.gather(*(handshake(a.port, sem, a.timeout, conns, lat, ehlo_lat, errors) for _ in range(a.n)))
    open_s = time.monotonic() - t0
    print(f"READY {len(conns)}", flush=True)

    if a.hold is not None:
        await asyncio.sleep(a.hold)
    else:
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)

    # still alive? a server that dropped idle sessions would show EOF here
    alive = sum(1 for r, _ in conns if not r.at_eof())
    for _, w in conns:
        w.close()
    await asyncio.gather(*(w.wait_closed() for _, w in conns), return_exceptions=True)

    lat.sort()
    ehlo_lat.sort()
    ms = lambda v: None if v is None else round(v * 1000, 2)   # noqa: E731
    print(json.dumps({
        "requested": a.n, "opened": len(conns), "alive_at_end": alive, "errors": errors,
        "open_seconds": round(open_s, 3),
        "banner_ms": {"p50": ms(pct(lat, 50)), "p99": ms(pct(lat, 99)), "max": ms(pct(lat, 100))},
        "ehlo_ms": {"p50": ms(pct(ehlo_lat, 50)), "p99": ms(pct(ehlo_lat, 99)), "max": ms(pct(ehlo_lat, 100))},
        "banners_over_1s": sum(1 for v in lat if v > 1.0),
    }), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
