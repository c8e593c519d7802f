#include "CBuildInfo.h"

// Package.swift defines the version (from the environment or the VERSION file) and, when
// the environment names it, the revision; these are the values when it could not.
#ifndef PLANET_EXPORTER_VERSION
#define PLANET_EXPORTER_VERSION "unknown"
#endif
#ifndef PLANET_EXPORTER_REVISION
#define PLANET_EXPORTER_REVISION "unknown"
#endif

const char *const planet_build_version = PLANET_EXPORTER_VERSION;
const char *const planet_build_revision = PLANET_EXPORTER_REVISION;
