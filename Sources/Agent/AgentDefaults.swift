/// Defaults shared by the agent and replay.
public enum AgentDefaults {
    /// Default -capture-max-series: about 50 MB at the design's 256 bytes per series.
    public static let maxSeries = 200_000
}
