import Testing
@testable import CommandLineSupport

@Suite struct BuildInfoTests {
    /// A plain build says 0.1.0 and unknown; a packaging build what it was given (checked
    /// end to end by Tests/EndToEnd/help_flags.sh with PLANET_EXPORTER_VERSION set).
    @Test func versionAndRevisionAreCompiledIn() {
        #expect(!BuildInfo.version.isEmpty)
        #expect(!BuildInfo.revision.isEmpty)
    }
}
