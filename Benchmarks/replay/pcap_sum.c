/*
 * pcap_sum: the reference that `planet-exporter replay` is measured against.
 *
 * A minimal libpcap loop doing the same sums as the replay: for every packet, decode
 * Ethernet (any number of 802.1Q/802.1ad tags), Linux cooked (SLL, SLL2), raw IP or
 * BSD null to IPv4/IPv6
 * addresses, protocol and ports; decide direction by the local networks; choose the
 * service port (handshake-learned server endpoint, then ephemeral range 32768-60999,
 * then the lower port); add the IP bytes to a series keyed by (peer, direction,
 * protocol, port). Tables are open-addressed and grow by doubling, so there is no
 * allocation per packet. Later IPv4 fragments take the port of their datagram's first
 * fragment from a small direct-mapped cache when it was seen, else no port.
 *
 * With -i it captures INTERFACE live instead, as the agent's capture thread does by
 * default (192-byte snap length, a 4 MiB kernel ring, 100 ms buffer timeout, not
 * promiscuous), until SIGINT or SIGTERM: the reference for what counting each frame of a
 * live flood into the series costs in plain C (Benchmarks/live/run.sh).
 *
 * Build: cc -O2 -o pcap_sum pcap_sum.c -lpcap
 * Usage: pcap_sum [-p] FILE [LOCALNET...]   (default local net 10.0.0.0/24)
 *        pcap_sum [-p] -i INTERFACE [LOCALNET...]
 *        -p prints every series as "direction<TAB>protocol<TAB>port<TAB>ip<TAB>bytes" and
 *        the unattributed bytes, as in the Fixtures/pcap .expected files.
 */
#include <arpa/inet.h>
#include <pcap/pcap.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NETS 16
#define EPHEMERAL_LOW 32768
#define EPHEMERAL_HIGH 60999

typedef struct { uint8_t a[16]; } addr_t;   /* IPv4 held v4-mapped */

typedef struct {
    addr_t peer;
    uint16_t port;
    uint8_t proto, direction;   /* direction: 1 egress, 2 ingress; 0 marks an empty slot */
    uint64_t bytes;
} series_t;

typedef struct {
    addr_t addr;
    uint16_t port;
    uint8_t used;
} endpoint_t;

typedef struct { addr_t net; int bits; } localnet_t;

static localnet_t nets[MAX_NETS];
static int net_count;

static series_t *series;
static size_t series_cap, series_len;
static endpoint_t *servers;
static size_t servers_cap, servers_len;

static uint64_t packets, attributed_bytes, both_local_bytes, neither_local_bytes, undecoded;

static void *checked_calloc(size_t n, size_t size) {
    void *p = calloc(n, size);
    if (!p) { fprintf(stderr, "pcap_sum: out of memory\n"); exit(1); }
    return p;
}

static inline uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

static inline uint64_t load64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

static inline uint64_t mix(uint64_t h) {
    h ^= h >> 33; h *= 0xff51afd7ed558ccdULL; h ^= h >> 33; h *= 0xc4ceb9fe1a85ec53ULL;
    return h ^ (h >> 33);
}

static inline uint64_t hash_addr(const addr_t *a, uint64_t extra) {
    return mix(load64(a->a) * 0x9E3779B97F4A7C15ULL ^ mix(load64(a->a + 8) ^ extra));
}

static void series_grow(void);

static void series_add(const addr_t *peer, uint8_t direction, uint8_t proto, uint16_t port, uint64_t bytes) {
    uint64_t h = hash_addr(peer, ((uint64_t)direction << 24) | ((uint64_t)proto << 16) | port);
    size_t mask = series_cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        series_t *s = &series[i];
        if (s->direction == 0) {
            s->peer = *peer; s->direction = direction; s->proto = proto; s->port = port;
            s->bytes = bytes;
            if (++series_len * 2 > series_cap) series_grow();
            return;
        }
        if (s->direction == direction && s->proto == proto && s->port == port &&
            memcmp(&s->peer, peer, sizeof *peer) == 0) {
            s->bytes += bytes;
            return;
        }
    }
}

static void series_grow(void) {
    series_t *old = series;
    size_t old_cap = series_cap;
    series_cap *= 2;
    series = checked_calloc(series_cap, sizeof *series);
    series_len = 0;
    for (size_t i = 0; i < old_cap; i++)
        if (old[i].direction) series_add(&old[i].peer, old[i].direction, old[i].proto, old[i].port, old[i].bytes);
    free(old);
}

static void servers_grow(void);

static int server_find(const addr_t *a, uint16_t port, int insert) {
    size_t mask = servers_cap - 1;
    for (size_t i = hash_addr(a, port) & mask;; i = (i + 1) & mask) {
        endpoint_t *e = &servers[i];
        if (!e->used) {
            if (!insert) return 0;
            e->addr = *a; e->port = port; e->used = 1;
            if (++servers_len * 2 > servers_cap) servers_grow();
            return 1;
        }
        if (e->port == port && memcmp(&e->addr, a, sizeof *a) == 0) return 1;
    }
}

static void servers_grow(void) {
    endpoint_t *old = servers;
    size_t old_cap = servers_cap;
    servers_cap *= 2;
    servers = checked_calloc(servers_cap, sizeof *servers);
    servers_len = 0;
    for (size_t i = 0; i < old_cap; i++)
        if (old[i].used) server_find(&old[i].addr, old[i].port, 1);
    free(old);
}

/* Port of recent first fragments, by (src, dst, proto, id); a collision forgets one. */
typedef struct { uint32_t src, dst, id_proto; uint16_t port; uint8_t used; } fragment_t;
static fragment_t fragments[4096];

static inline fragment_t *fragment_slot(const uint8_t *ip) {
    uint32_t src, dst;
    memcpy(&src, ip + 12, 4); memcpy(&dst, ip + 16, 4);
    uint32_t id_proto = (uint32_t)be16(ip + 4) << 8 | ip[9];
    return &fragments[mix(((uint64_t)src << 32 | dst) ^ id_proto) & 4095];
}

static int is_local(const addr_t *a) {
    for (int n = 0; n < net_count; n++) {
        int bits = nets[n].bits, full = bits / 8, rest = bits % 8;
        if (memcmp(a->a, nets[n].net.a, full) != 0) continue;
        if (rest && ((a->a[full] ^ nets[n].net.a[full]) & (0xFF << (8 - rest)))) continue;
        return 1;
    }
    return 0;
}

static int parse_net(const char *text, localnet_t *out) {
    char buf[64];
    const char *slash = strchr(text, '/');
    size_t len = slash ? (size_t)(slash - text) : strlen(text);
    if (len >= sizeof buf) return -1;
    memcpy(buf, text, len); buf[len] = 0;
    memset(out, 0, sizeof *out);
    struct in_addr v4;
    if (inet_pton(AF_INET, buf, &v4) == 1) {
        out->net.a[10] = out->net.a[11] = 0xFF;
        memcpy(out->net.a + 12, &v4, 4);
        out->bits = 96 + (slash ? atoi(slash + 1) : 32);
    } else if (inet_pton(AF_INET6, buf, out->net.a) == 1) {
        out->bits = slash ? atoi(slash + 1) : 128;
    } else {
        return -1;
    }
    return out->bits >= 0 && out->bits <= 128 ? 0 : -1;
}

static inline int ephemeral(uint16_t port) { return port >= EPHEMERAL_LOW && port <= EPHEMERAL_HIGH; }

/* Counts one IP packet starting at ip (caplen bytes captured, wire_ip bytes on the wire). */
static void count_ip(const uint8_t *ip, uint32_t caplen, uint32_t wire_ip) {
    addr_t src, dst;
    uint8_t proto;
    uint32_t bytes, l4 = 0;
    int has_ports = 0;
    fragment_t *first_fragment = NULL, *later_fragment = NULL;
    if (caplen < 1) { undecoded++; return; }
    if (ip[0] >> 4 == 4) {
        if (caplen < 20) { undecoded++; return; }
        uint32_t ihl = (ip[0] & 15) * 4;
        if (ihl < 20) { undecoded++; return; }
        memset(&src, 0, sizeof src); memset(&dst, 0, sizeof dst);
        src.a[10] = src.a[11] = dst.a[10] = dst.a[11] = 0xFF;
        memcpy(src.a + 12, ip + 12, 4); memcpy(dst.a + 12, ip + 16, 4);
        proto = ip[9];
        bytes = be16(ip + 2);
        if (bytes == 0 || bytes > wire_ip) bytes = wire_ip;  /* never more than the wire carried */
        l4 = ihl;
        uint16_t frag = be16(ip + 6);
        has_ports = (frag & 0x1FFF) == 0;
        if (frag & 0x3FFF) {
            fragment_t *slot = fragment_slot(ip);
            if (has_ports) first_fragment = slot; else later_fragment = slot;
        }
    } else if (ip[0] >> 4 == 6) {
        if (caplen < 40) { undecoded++; return; }
        memcpy(src.a, ip + 8, 16); memcpy(dst.a, ip + 24, 16);
        bytes = be16(ip + 4) ? be16(ip + 4) + 40u : wire_ip;
        if (bytes > wire_ip) bytes = wire_ip;
        proto = ip[6];
        l4 = 40;
        has_ports = 1;
        /* Walk extension headers while they are captured. */
        while ((proto == 0 || proto == 43 || proto == 60 || proto == 44 || proto == 51) && l4 + 8 <= caplen) {
            uint8_t next = ip[l4];
            if (proto == 44) {
                if (be16(ip + l4 + 2) & 0xFFF8) has_ports = 0;
                l4 += 8;
            } else if (proto == 51) {
                l4 += (ip[l4 + 1] + 2u) * 4;
            } else {
                l4 += (ip[l4 + 1] + 1u) * 8;
            }
            proto = next;
        }
    } else {
        undecoded++;
        return;
    }
    packets++;
    uint16_t sport = 0, dport = 0;
    if ((proto == 6 || proto == 17) && has_ports && l4 + 4 <= caplen) {
        sport = be16(ip + l4); dport = be16(ip + l4 + 2);
        if (proto == 6 && l4 + 14 <= caplen && (ip[l4 + 13] & 0x02)) {
            if (ip[l4 + 13] & 0x10) server_find(&src, sport, 1);
            else server_find(&dst, dport, 1);
        }
    } else {
        has_ports = 0;
    }
    int src_local = is_local(&src), dst_local = is_local(&dst);
    if (src_local == dst_local) {
        if (src_local) both_local_bytes += bytes; else neither_local_bytes += bytes;
        return;
    }
    const addr_t *peer = src_local ? &dst : &src, *local = src_local ? &src : &dst;
    uint16_t lport = src_local ? sport : dport, rport = src_local ? dport : sport, port = 0;
    if (has_ports && (proto == 6 || proto == 17)) {
        if (server_find(local, lport, 0)) port = lport;
        else if (server_find(peer, rport, 0)) port = rport;
        else if (ephemeral(lport) != ephemeral(rport)) port = ephemeral(lport) ? rport : lport;
        else port = lport < rport ? lport : rport;
    }
    if (first_fragment) {
        memcpy(&first_fragment->src, ip + 12, 4); memcpy(&first_fragment->dst, ip + 16, 4);
        first_fragment->id_proto = (uint32_t)be16(ip + 4) << 8 | proto;
        first_fragment->port = port; first_fragment->used = 1;
    } else if (later_fragment && later_fragment->used && memcmp(&later_fragment->src, ip + 12, 4) == 0 &&
               memcmp(&later_fragment->dst, ip + 16, 4) == 0 &&
               later_fragment->id_proto == ((uint32_t)be16(ip + 4) << 8 | proto)) {
        port = later_fragment->port;
    }
    series_add(peer, src_local ? 1 : 2, proto, port, bytes);
    attributed_bytes += bytes;
}

/* One frame, as pcap_loop hands it over: the fastest way through libpcap, no call into
 * it per packet (pcap_next_ex would make one). */
static void count_frame(u_char *user, const struct pcap_pkthdr *h, const u_char *d) {
    int link = *(int *)user;
    uint32_t off = 0, cap = h->caplen;
    if (link == DLT_EN10MB) {
        off = 12;
        uint16_t type = cap >= 14 ? be16(d + 12) : 0;
        while ((type == 0x8100 || type == 0x88A8) && off + 6 <= cap) {
            off += 4;
            type = be16(d + off);
        }
        off += 2;
        if (type != 0x0800 && type != 0x86DD) { undecoded++; return; }
    } else if (link == DLT_LINUX_SLL || link == DLT_LINUX_SLL2) {
        off = link == DLT_LINUX_SLL ? 16 : 20;
        uint16_t type = cap >= off ? be16(d + (link == DLT_LINUX_SLL ? 14 : 0)) : 0;
        if (type != 0x0800 && type != 0x86DD) { undecoded++; return; }
    } else if (link == DLT_NULL) {
        off = 4;
    } else if (link == 239 /* DLT_NFLOG */) {
        /* Attributes after a 4-byte header, lengths and types little-endian (a little-endian
         * capturing host); the packet is attribute 9 (NFULA_PAYLOAD). */
        uint32_t at = 4, len = 0;
        off = 0;
        while (at + 4 <= cap) {
            uint32_t alen = d[at] | (uint32_t)d[at + 1] << 8, atype = (d[at + 2] | (uint32_t)d[at + 3] << 8) & 0x7FFF;
            if (alen < 4) break;
            if (atype == 9) { off = at + 4; len = alen - 4; break; }
            at += (alen + 3) & ~3u;
        }
        if (off == 0) { undecoded++; return; }
        count_ip(d + off, cap - off > len ? len : cap - off, len);
        return;
    } else if (link != DLT_RAW && link != 12 /* DLT_RAW on some systems */) {
        undecoded++;
        return;
    }
    if (off > cap) { undecoded++; return; }
    count_ip(d + off, cap - off, h->len > off ? h->len - off : 0);
}

/* The live handle, for the signal handler that ends its loop. */
static pcap_t *live;

static void stop_live(int signal) {
    (void)signal;
    if (live) pcap_breakloop(live);
}

/* A live handle on `interface` set up as the agent's; NULL (with the reason in `err`) if
 * it cannot be opened. */
static pcap_t *open_live(const char *interface, char *err) {
    pcap_t *p = pcap_create(interface, err);
    if (!p) return NULL;
    pcap_set_snaplen(p, 192);
    pcap_set_promisc(p, 0);
    pcap_set_timeout(p, 100);
    pcap_set_buffer_size(p, 4 << 20);
    if (pcap_activate(p) < 0) {
        snprintf(err, PCAP_ERRBUF_SIZE, "%s", pcap_geterr(p));
        pcap_close(p);
        return NULL;
    }
    return p;
}

int main(int argc, char **argv) {
    int print = 0, capture = 0, arg = 1;
    if (arg < argc && strcmp(argv[arg], "-p") == 0) { print = 1; arg++; }
    if (arg < argc && strcmp(argv[arg], "-i") == 0) { capture = 1; arg++; }
    if (arg >= argc) { fprintf(stderr, "usage: pcap_sum [-p] FILE [LOCALNET...] | pcap_sum [-p] -i INTERFACE [LOCALNET...]\n"); return 2; }
    const char *file = argv[arg++];
    for (; arg < argc; arg++) {
        if (net_count == MAX_NETS || parse_net(argv[arg], &nets[net_count]) != 0) {
            fprintf(stderr, "pcap_sum: bad local network %s\n", argv[arg]);
            return 2;
        }
        net_count++;
    }
    if (net_count == 0) parse_net("10.0.0.0/24", &nets[net_count++]);

    char err[PCAP_ERRBUF_SIZE];
    pcap_t *p = capture ? open_live(file, err) : pcap_open_offline(file, err);
    if (!p) { fprintf(stderr, "pcap_sum: %s\n", err); return 1; }
    if (capture) {
        live = p;
        struct sigaction action = {0};
        action.sa_handler = stop_live;
        sigaction(SIGINT, &action, NULL);
        sigaction(SIGTERM, &action, NULL);
        fprintf(stderr, "pcap_sum: listening on %s\n", file);
    }
    int link = pcap_datalink(p);
    series_cap = 1 << 16; series = checked_calloc(series_cap, sizeof *series);
    servers_cap = 1 << 12; servers = checked_calloc(servers_cap, sizeof *servers);

    int rc = pcap_loop(p, -1, count_frame, (u_char *)&link);
    int failed = rc == PCAP_ERROR;
    if (capture) live = NULL;
    if (failed) fprintf(stderr, "pcap_sum: %s: %s\n", file, pcap_geterr(p));
    pcap_close(p);

    if (print) {
        for (size_t i = 0; i < series_cap; i++) {
            series_t *s = &series[i];
            if (!s->direction) continue;
            char text[INET6_ADDRSTRLEN], proto[8], port[8] = "";
            static const uint8_t mapped[12] = {0,0,0,0,0,0,0,0,0,0,0xFF,0xFF};
            if (memcmp(s->peer.a, mapped, 12) == 0) inet_ntop(AF_INET, s->peer.a + 12, text, sizeof text);
            else inet_ntop(AF_INET6, s->peer.a, text, sizeof text);
            const char *name = s->proto == 6 ? "tcp" : s->proto == 17 ? "udp" : s->proto == 1 ? "icmp"
                             : s->proto == 58 ? "icmpv6" : NULL;
            if (name) snprintf(proto, sizeof proto, "%s", name); else snprintf(proto, sizeof proto, "%u", s->proto);
            if (s->port) snprintf(port, sizeof port, "%u", s->port);
            printf("%s\t%s\t%s\t%s\t%llu\n", s->direction == 1 ? "egress" : "ingress", proto, port, text,
                   (unsigned long long)s->bytes);
        }
    }
    if (print && both_local_bytes) printf("unattributed\tboth_local\t%llu\n", (unsigned long long)both_local_bytes);
    if (print && neither_local_bytes)
        printf("unattributed\tneither_local\t%llu\n", (unsigned long long)neither_local_bytes);
    printf("# packets %llu series %zu bytes %llu both_local %llu neither_local %llu undecoded %llu\n",
           (unsigned long long)packets, series_len, (unsigned long long)attributed_bytes,
           (unsigned long long)both_local_bytes, (unsigned long long)neither_local_bytes,
           (unsigned long long)undecoded);
    return failed;
}
