#!/usr/bin/python3
"""dns_server.py - an authoritative DNS server on loopback for the tests and benches.

Runs under Debian's /usr/bin/python3 (python3-dnslib), as its own process:

  /usr/bin/python3 t/e2e/dns_server.py --dir DIR [--address 127.0.0.1] [--port 0]

Serves UDP and TCP on the same port and writes DIR/port once both listen. The zones are
DIR/zones, re-read whenever the file changes, in RFC 1035 master-file syntax as dnslib parses
it (`$TTL`, `$ORIGIN`, relative names; A AAAA MX TXT PTR CNAME NS SOA with TTLs), plus
behaviour lines for the tests:

  !delay   NAME SECONDS    answer NAME (any type) only after SECONDS; others are served meanwhile
  !drop    NAME            never answer NAME
  !servfail NAME           answer NAME with SERVFAIL
  !nxdomain NAME           answer NAME with NXDOMAIN even if records exist

Answers: the records of the name (a CNAME is followed inside the data), a `*.parent` wildcard
when the name has no records, NXDOMAIN / NODATA with the zone's SOA in the authority section
(TTL min(SOA TTL, SOA minimum), RFC 2308) for names under a SOA, REFUSED for names outside every
zone. A UDP answer over 512 bytes (the query carries no EDNS) is sent truncated (TC), so the
resolver retries over TCP. Every query received is counted in DIR/stats.json (written
atomically after each query): {"total": N, "udp": N, "tcp": N, "queries": {"NAME TYPE": N}}.
`--stats-interval S` writes it at most every S seconds instead (and at SIGTERM): the write costs
~1.5 ms a query, which would make the server, not the servers under test, the benchmark's limit.
Stops on SIGTERM / SIGINT. Owner: tooling (t/e2e/).
"""

import argparse
import json
import os
import signal
import socket
import struct
import sys
import threading
import time

from dnslib import QTYPE, RCODE, RR, DNSRecord

UDP_LIMIT = 512


def _key(name):
    return str(name).lower().rstrip(".") + "."


class Zones:
    """The records and behaviours of DIR/zones, reloaded when the file changes."""

    def __init__(self, path):
        self.path = path
        self.stamp = None
        self.records = {}      # name -> [RR]
        self.soas = {}         # zone apex -> SOA RR
        self.rules = {}        # name -> ("delay", seconds) | ("drop",) | ("servfail",) | ("nxdomain",)
        self.lock = threading.Lock()

    def refresh(self):
        try:
            st = os.stat(self.path)
            stamp = (st.st_mtime_ns, st.st_ino, st.st_size)
        except FileNotFoundError:
            stamp = None
        with self.lock:
            if stamp == self.stamp:
                return
            self.stamp = stamp
            text = open(self.path).read() if stamp else ""
            records, soas, rules = {}, {}, {}
            zone_lines = []
            for line in text.splitlines():
                if line.strip().startswith("!"):
                    words = line.split()
                    kind, name = words[0][1:], _key(words[1])
                    rules[name] = (kind, float(words[2])) if kind == "delay" else (kind, )
                else:
                    zone_lines.append(line)
            for rr in RR.fromZone("\n".join(zone_lines) + "\n") if zone_lines else []:
                records.setdefault(_key(rr.rname), []).append(rr)
                if rr.rtype == QTYPE.SOA:
                    soas[_key(rr.rname)] = rr
            self.records, self.soas, self.rules = records, soas, rules

    def rule(self, name):
        with self.lock:
            return self.rules.get(_key(name))

    def soa_for(self, name):
        labels = _key(name).split(".")
        for i in range(len(labels)):
            apex = ".".join(labels[i:]) or "."
            if apex in self.soas:
                return self.soas[apex]
        return None

    def lookup(self, name):
        """The records owned by name (exact, else the closest `*.` wildcard) and whether any."""
        key = _key(name)
        if key in self.records:
            return self.records[key]
        labels = key.split(".")
        for i in range(1, len(labels) - 1):
            wild = "*." + ".".join(labels[i:])
            if wild in self.records:
                out = []
                for rr in self.records[wild]:
                    copy = RR(rname=key, rtype=rr.rtype, rclass=rr.rclass, ttl=rr.ttl, rdata=rr.rdata)
                    out.append(copy)
                return out
            if ".".join(labels[i:]) in self.records:
                break   # an existing name stops the wildcard (RFC 4592 closest encloser)
        return None


class Server:
    def __init__(self, directory, stats_interval=0.0):
        self.dir = directory
        self.zones = Zones(os.path.join(directory, "zones"))
        self.stats = {"total": 0, "udp": 0, "tcp": 0, "queries": {}}
        self.stats_lock = threading.RLock()   # SIGTERM flushes from the main thread, maybe inside count()
        self.stats_interval = stats_interval
        self.stats_dirty = False
        if stats_interval > 0:
            threading.Thread(target=self._write_stats_every, daemon=True).start()

    # -- accounting
    def count(self, request, transport):
        q = request.q
        key = f"{_key(q.qname)} {QTYPE.get(q.qtype)}"
        with self.stats_lock:
            self.stats["total"] += 1
            self.stats[transport] += 1
            self.stats["queries"][key] = self.stats["queries"].get(key, 0) + 1
            if self.stats_interval > 0:
                self.stats_dirty = True
            else:
                self._write_stats()

    def _write_stats(self):
        """Under stats_lock."""
        tmp = os.path.join(self.dir, "stats.json.tmp")
        with open(tmp, "w") as f:
            json.dump(self.stats, f)
        os.replace(tmp, os.path.join(self.dir, "stats.json"))
        self.stats_dirty = False

    def _write_stats_every(self):
        while True:
            time.sleep(self.stats_interval)
            self.flush_stats()

    def flush_stats(self):
        with self.stats_lock:
            if self.stats_dirty:
                self._write_stats()

    # -- answers
    def negative(self, reply, name, rcode):
        reply.header.rcode = rcode
        soa = self.zones.soa_for(name)
        if soa is not None:
            minimum = soa.rdata.times[-1]
            reply.add_auth(RR(rname=soa.rname, rtype=QTYPE.SOA, rclass=soa.rclass,
                              ttl=min(soa.ttl, minimum), rdata=soa.rdata))
        return reply

    def answer(self, request):
        """(reply record or None to stay silent, delay in seconds)."""
        self.zones.refresh()
        q = request.q
        reply = request.reply()   # aa=1, ra=1, the question copied
        rule = self.zones.rule(q.qname)
        delay = 0.0
        if rule:
            if rule[0] == "drop":
                return None, 0.0
            if rule[0] == "servfail":
                reply.header.rcode = RCODE.SERVFAIL
                return reply, 0.0
            if rule[0] == "nxdomain":
                return self.negative(reply, q.qname, RCODE.NXDOMAIN), 0.0
            if rule[0] == "delay":
                delay = rule[1]
        with self.zones.lock:
            name = q.qname
            for _ in range(16):   # CNAME chain inside our data
                rrs = self.zones.lookup(name)
                if rrs is None:
                    if self.zones.soa_for(name) is None:
                        reply.header.rcode = RCODE.REFUSED
                        return reply, delay
                    if not reply.rr:
                        return self.negative(reply, name, RCODE.NXDOMAIN), delay
                    return reply, delay
                matching = [rr for rr in rrs if rr.rtype == q.qtype or q.qtype == QTYPE.ANY]
                if matching:
                    for rr in matching:
                        reply.add_answer(rr)
                    return reply, delay
                cname = [rr for rr in rrs if rr.rtype == QTYPE.CNAME]
                if not cname:
                    if not reply.rr:
                        return self.negative(reply, name, RCODE.NOERROR), delay
                    return reply, delay
                reply.add_answer(cname[0])
                name = cname[0].rdata.label
            return reply, delay

    def wire(self, reply, udp):
        data = reply.pack()
        if udp and len(data) > UDP_LIMIT:
            reply.rr, reply.auth, reply.ar = [], [], []
            reply.header.tc = 1
            data = reply.pack()
        return data

    def handle(self, data, send, transport):
        try:
            request = DNSRecord.parse(data)
        except Exception:   # noqa: BLE001 - garbage from a fuzzing test: ignore it
            return
        self.count(request, transport)
        reply, delay = self.answer(request)
        if reply is None:
            return
        payload = self.wire(reply, transport == "udp")
        if delay > 0:
            t = threading.Timer(delay, self._send_quietly, (send, payload))
            t.daemon = True
            t.start()
        else:
            self._send_quietly(send, payload)

    @staticmethod
    def _send_quietly(send, payload):
        try:
            send(payload)
        except OSError:
            pass   # the client went away


def serve_tcp_client(server, conn):
    lock = threading.Lock()

    def send(payload):
        with lock:
            conn.sendall(struct.pack("!H", len(payload)) + payload)

    with conn:
        buf = b""
        while True:
            try:
                chunk = conn.recv(65536)
            except OSError:
                return
            if not chunk:
                return
            buf += chunk
            while len(buf) >= 2 and len(buf) >= 2 + struct.unpack("!H", buf[:2])[0]:
                n = struct.unpack("!H", buf[:2])[0]
                msg, buf = buf[2:2 + n], buf[2 + n:]
                server.handle(msg, send, "tcp")


def bind_pair(address, port):
    """A UDP and a TCP socket on the same port (retrying when an ephemeral UDP port is taken in TCP)."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    for _ in range(50):
        udp = socket.socket(family, socket.SOCK_DGRAM)
        udp.bind((address, port))
        real = udp.getsockname()[1]
        tcp = socket.socket(family, socket.SOCK_STREAM)
        tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            tcp.bind((address, real))
        except OSError:
            udp.close()
            tcp.close()
            if port:
                raise
            continue
        tcp.listen(128)
        return udp, tcp, real
    raise OSError("no free port for UDP and TCP")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--address", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--stats-interval", type=float, default=0.0,
                    help="write stats.json at most this often, in seconds (0: after every query)")
    args = ap.parse_args()
    if not (args.address.startswith("127.") or args.address == "::1"):
        sys.exit("dns_server: loopback addresses only")
    server = Server(args.dir, args.stats_interval)
    server.zones.refresh()
    udp, tcp, port = bind_pair(args.address, args.port)

    def accept_loop():
        while True:
            try:
                conn, _ = tcp.accept()
            except OSError:
                return
            threading.Thread(target=serve_tcp_client, args=(server, conn), daemon=True).start()

    threading.Thread(target=accept_loop, daemon=True).start()
    signal.signal(signal.SIGTERM, lambda *_: (server.flush_stats(), sys.exit(0)))
    tmp = os.path.join(args.dir, "port.tmp")
    with open(tmp, "w") as f:
        f.write(f"{port}\n")
    os.replace(tmp, os.path.join(args.dir, "port"))
    try:
        while True:
            data, peer = udp.recvfrom(65535)
            server.handle(data, lambda payload, peer=peer: udp.sendto(payload, peer), "udp")
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
