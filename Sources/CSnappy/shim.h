// Snappy's C interface (Debian libsnappy-dev), for the remote-write body compression.
#ifndef PLANET_CSNAPPY_SHIM_H
#define PLANET_CSNAPPY_SHIM_H
#include <snappy-c.h>
#endif
