#ifndef C_BENCHMARK_SUPPORT_H
#define C_BENCHMARK_SUPPORT_H

#include <stddef.h>
#include <stdint.h>

/// Calls to malloc, calloc, realloc, posix_memalign and aligned_alloc so far (Linux
/// with glibc; always 0 elsewhere).
uint64_t benchmark_malloc_count(void);

/// What the C reference decoder extracts: the same fields the Swift summary carries.
typedef struct {
    uint64_t source_high, source_low, destination_high, destination_low;
    uint32_t ip_bytes;
    uint16_t source_port, destination_port;
    uint8_t protocol, tcp_flags, has_ports;
} reference_summary;

/// A minimal hand-written C decoder for Ethernet (with VLAN tags) carrying IPv4 or
/// IPv6 with TCP/UDP directly after the fixed header: the baseline the Swift decoder is
/// compared with. Returns 0 for an IP packet, 1 otherwise.
int reference_decode_ethernet(const uint8_t *frame, size_t captured, size_t wire, reference_summary *out);

#endif
