import CBuildInfo

/// Version and revision of the executables, for -version and planet_exporter_build_info;
/// compiled in by the build (see CBuildInfo and docs/setup.md), never read at run time.
public enum BuildInfo {
    /// The release version, "0.1.0" unless the build set PLANET_EXPORTER_VERSION.
    public static let version = String(cString: planet_build_version)
    /// The git revision built from, "unknown" unless the build set PLANET_EXPORTER_REVISION.
    public static let revision = String(cString: planet_build_revision)
}
