/// Defaults shared by the agent and replay.
public enum AgentDefaults {
    /// Default -capture-max-series: about 50 MB at the design's 256 bytes per series.
    public static let maxSeries = 200_000
    /// Default -capture-dns-max-names: peer addresses named from DNS answers, about 100
    /// bytes each; a busy host resolves a few thousand distinct addresses a day.
    public static let maxDNSNames = 16384
}
