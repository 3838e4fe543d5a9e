# bench_dns.py - the loopback DNS server every asmtpd of the benchmark asks (dns.servers), so
# no run ever queries the machine's resolver (/etc/resolv.conf may point off this machine).
#
# t/e2e/dns_server.py through the tests' own t/e2e/dns_support.py (Debian's /usr/bin/python3
# with python3-dnslib, an ephemeral 127.0.0.1 port, stopped by its pid at exit), started once
# per run. The zones give the benchmark client 127.0.0.1 a forward-confirmed name, as a
# well-run sending host has. Load (i) (dns_chain.py) adds a public-looking client, 198.18.0.7
# (RFC 2544's benchmarking range; reached through a PROXY header) with a forward-confirmed name
# that is also its HELO name, an SPF record allowing it for the sender domain, and two DNSBL
# zones that do not list it (NXDOMAIN with a SOA, so answers are cached as RFC 2308 says).
# Owner: tooling (scripts/bench_lib/).
import atexit
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                                "t", "e2e"))
import dns_support  # noqa: E402

ZONES = """$TTL 3600
$ORIGIN bench.test.
@        3600 SOA ns hostmaster 1 3600 600 86400 300
client        A 127.0.0.1
$ORIGIN 127.in-addr.arpa.
@        3600 SOA ns.bench.test. hostmaster.bench.test. 1 3600 600 86400 300
1.0.0         PTR client.bench.test.
$ORIGIN example.com.
@        3600 SOA ns hostmaster 1 3600 600 86400 3600
@             TXT "v=spf1 ip4:198.18.0.0/15 -all"
mta           A 198.18.0.7
mta           TXT "v=spf1 a -all"
$ORIGIN 0.18.198.in-addr.arpa.
@        3600 SOA ns.example.com. hostmaster.example.com. 1 3600 600 86400 3600
7             PTR mta.example.com.
$ORIGIN dnsbl-one.example.net.
@        3600 SOA ns hostmaster 1 3600 600 86400 3600
2.0.0.127     A 127.0.0.2
$ORIGIN dnsbl-two.example.net.
@        3600 SOA ns hostmaster 1 3600 600 86400 3600
2.0.0.127     A 127.0.0.2
"""

# load (i): the client the DNS policy chain sees, its name (PTR, A, HELO) and the sender domain
CHAIN_CLIENT = "198.18.0.7"
CHAIN_HELO = "mta.example.com"
CHAIN_SENDER = "bench@example.com"
DNSBL_ZONES = ("dnsbl-one.example.net", "dnsbl-two.example.net")

_server = None


def server(work):
    """The run's DNS server (.address, .queries()), started on first use."""
    global _server
    if _server is None:
        # stats.json every 50 ms, not after every query (~1.5 ms each): the server must not be
        # what limits a peer without a DNS cache (Haraka asks ~11 questions a message)
        _server = dns_support.DnsServer(ZONES, stats_interval=0.05).start()
        atexit.register(_server.cleanup)
    return _server
