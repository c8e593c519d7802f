#include "CBuildInfo.h"

// A plain `swift build` names no version: these are its values.
#ifndef PLANET_EXPORTER_VERSION
#define PLANET_EXPORTER_VERSION "0.1.0"
#endif
#ifndef PLANET_EXPORTER_REVISION
#define PLANET_EXPORTER_REVISION "unknown"
#endif

const char *const planet_build_version = PLANET_EXPORTER_VERSION;
const char *const planet_build_revision = PLANET_EXPORTER_REVISION;
