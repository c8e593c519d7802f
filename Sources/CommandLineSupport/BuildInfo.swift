import Foundation

/// Version and revision of the executables, for -version and planet_exporter_build_info.
public enum BuildInfo {
    public static let version = "0.1.0"
    /// The git revision the binary was built from, when the environment names it
    /// (PLANET_EXPORTER_REVISION, set by packaging); SwiftPM records none itself.
    public static let revision = ProcessInfo.processInfo.environment["PLANET_EXPORTER_REVISION"] ?? "unknown"
}
