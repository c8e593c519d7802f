#ifndef PLANET_CBUILDINFO_H
#define PLANET_CBUILDINFO_H

/// The version and git revision the executables were built as: set by the build
/// (PLANET_EXPORTER_VERSION and PLANET_EXPORTER_REVISION in the environment of
/// `swift build`, which Package.swift turns into defines), compiled into the binary.
extern const char *const planet_build_version;
extern const char *const planet_build_revision;

#endif
