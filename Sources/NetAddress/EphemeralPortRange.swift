import Foundation

/// The kernel's ephemeral (client) port range, `/proc/sys/net/ipv4/ip_local_port_range`:
/// ports it picks for sockets that did not bind one, so a port inside it is a client's
/// unless other evidence says otherwise.
public struct EphemeralPortRange: Sendable, Equatable {
    public var lower: UInt16
    public var upper: UInt16

    /// Linux's default, 32768-60999.
    public static let linuxDefault = EphemeralPortRange(lower: 32768, upper: 60999)

    public init(lower: UInt16, upper: UInt16) {
        self.lower = min(lower, upper)
        self.upper = max(lower, upper)
    }

    /// Parses the two numbers of ip_local_port_range ("32768\t60999\n").
    public init?(procText: String) {
        let numbers = procText.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).compactMap { UInt16($0) }
        guard numbers.count == 2 else { return nil }
        self.init(lower: numbers[0], upper: numbers[1])
    }

    /// The range of the procfs at `procRoot`, or Linux's default when it cannot be read.
    public static func read(procRoot: String = "/proc") -> EphemeralPortRange {
        guard let text = try? String(contentsOfFile: procRoot + "/sys/net/ipv4/ip_local_port_range", encoding: .utf8),
              let range = EphemeralPortRange(procText: text) else { return .linuxDefault }
        return range
    }

    @inlinable
    public func contains(_ port: UInt16) -> Bool { port >= lower && port <= upper }
}
