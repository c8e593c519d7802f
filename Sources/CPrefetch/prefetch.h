#ifndef PLANET_PREFETCH_H
#define PLANET_PREFETCH_H

/* Asks the CPU to start loading the cache line at `address` for a write soon, without
 * waiting for it: Swift has no spelling of its own for this hint. */
static inline void planet_prefetch_for_write(const void *address) {
    __builtin_prefetch(address, 1, 3);
}

#endif
