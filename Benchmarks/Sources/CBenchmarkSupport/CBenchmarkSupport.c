#include "CBenchmarkSupport.h"

#include <string.h>

#if defined(__linux__) && defined(__GLIBC__)
#include <errno.h>
#include <stdatomic.h>

// The executable's definitions take precedence over libc's for every caller in the
// process (the Swift runtime included); each forwards to glibc's implementation.
extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *pointer, size_t size);
extern void *__libc_memalign(size_t alignment, size_t size);

static _Atomic uint64_t malloc_calls;

void *malloc(size_t size) {
    atomic_fetch_add_explicit(&malloc_calls, 1, memory_order_relaxed);
    return __libc_malloc(size);
}

void *calloc(size_t count, size_t size) {
    atomic_fetch_add_explicit(&malloc_calls, 1, memory_order_relaxed);
    return __libc_calloc(count, size);
}

void *realloc(void *pointer, size_t size) {
    atomic_fetch_add_explicit(&malloc_calls, 1, memory_order_relaxed);
    return __libc_realloc(pointer, size);
}

int posix_memalign(void **out, size_t alignment, size_t size) {
    atomic_fetch_add_explicit(&malloc_calls, 1, memory_order_relaxed);
    void *pointer = __libc_memalign(alignment, size);
    if (pointer == NULL) return ENOMEM;
    *out = pointer;
    return 0;
}

void *aligned_alloc(size_t alignment, size_t size) {
    atomic_fetch_add_explicit(&malloc_calls, 1, memory_order_relaxed);
    return __libc_memalign(alignment, size);
}

uint64_t benchmark_malloc_count(void) {
    return atomic_load_explicit(&malloc_calls, memory_order_relaxed);
}
#else
uint64_t benchmark_malloc_count(void) { return 0; }
#endif

static inline uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline uint64_t be64(const uint8_t *p) { return (uint64_t)be32(p) << 32 | be32(p + 4); }

int reference_decode_ethernet(const uint8_t *frame, size_t captured, size_t wire, reference_summary *out) {
    memset(out, 0, sizeof *out);
    if (captured < 14) return 1;
    size_t offset = 14;
    uint16_t type = be16(frame + 12);
    while (type == 0x8100 || type == 0x88a8 || type == 0x9100) {
        if (offset + 4 > captured) return 1;
        type = be16(frame + offset + 2);
        offset += 4;
    }
    const uint8_t *ip = frame + offset;
    size_t available = captured - offset;
    size_t transport, end;
    if (type == 0x0800) {
        if (available < 20 || ip[0] >> 4 != 4) return 1;
        size_t header = (size_t)(ip[0] & 15) * 4;
        size_t total = be16(ip + 2);
        if (header < 20 || (total != 0 && total < header)) return 1;
        out->ip_bytes = total ? (uint32_t)total : (uint32_t)(wire - offset);
        out->protocol = ip[9];
        out->source_low = 0xffff00000000ull | be32(ip + 12);
        out->destination_low = 0xffff00000000ull | be32(ip + 16);
        if (be16(ip + 6) & 0x1fff) return 0;
        transport = header;
        end = total && total < available ? total : available;
    } else if (type == 0x86dd) {
        if (available < 40 || ip[0] >> 4 != 6) return 1;
        size_t payload = be16(ip + 4);
        out->ip_bytes = payload ? (uint32_t)payload + 40 : (uint32_t)(wire - offset);
        out->protocol = ip[6];
        out->source_high = be64(ip + 8);
        out->source_low = be64(ip + 16);
        out->destination_high = be64(ip + 24);
        out->destination_low = be64(ip + 32);
        transport = 40;
        end = payload && payload + 40 < available ? payload + 40 : available;
    } else {
        return 1;
    }
    if ((out->protocol == 6 || out->protocol == 17) && transport + 4 <= end) {
        out->source_port = be16(ip + transport);
        out->destination_port = be16(ip + transport + 2);
        out->has_ports = 1;
        if (out->protocol == 6 && transport + 14 <= end) out->tcp_flags = ip[transport + 13];
    }
    return 0;
}
