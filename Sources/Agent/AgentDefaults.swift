import Foundation
import Traffic

/// Defaults shared by the agent and replay.
public enum AgentDefaults {
    /// Default -capture-max-series: about 50 MB at the design's 256 bytes per series.
    public static let maxSeries = 200_000

    /// The kernel's ephemeral port range, or Linux's default when it cannot be read.
    public static func ephemeralPorts(procRoot: String = "/proc") -> EphemeralPortRange {
        guard let text = try? String(contentsOfFile: procRoot + "/sys/net/ipv4/ip_local_port_range", encoding: .utf8),
              let range = EphemeralPortRange(procText: text) else { return .linuxDefault }
        return range
    }
}
