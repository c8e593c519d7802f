#ifndef PLANET_CZLIB_SHIM_H
#define PLANET_CZLIB_SHIM_H
// zlib, wrapped once at the edge; only the Web module (and its tests) import this.
#include <zlib.h>

// deflateInit2 and inflateInit2 are macros Swift cannot import; windowBits 15 + 16
// selects the gzip wrapper (RFC 1952) instead of zlib's own.
static inline int czlib_deflate_init_gzip(z_streamp stream, int level) {
    return deflateInit2(stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
}

static inline int czlib_inflate_init_gzip(z_streamp stream) {
    return inflateInit2(stream, 15 + 16);
}
#endif
