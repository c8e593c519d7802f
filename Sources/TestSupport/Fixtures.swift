import Foundation

/// Files under the repository's Fixtures/ folder, for the tests of every module.
public enum RepositoryFixtures {
    /// The absolute path of the repository's Fixtures folder.
    public static let directory: String = {
        var parts = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)  // Sources/TestSupport/<file>
        return parts.joined(separator: "/") + "/Fixtures"
    }()

    /// The absolute path of `relative` (e.g. "sockets/proc").
    public static func path(_ relative: String) -> String { directory + "/" + relative }

    /// The bytes of the file at `relative`.
    public static func bytes(_ relative: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: path(relative))))
    }
}
