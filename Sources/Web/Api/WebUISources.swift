import Foundation
import Inventory
import NetAddress
import PacketDecoding
import PlanetMetrics
import Sockets
import Traffic

/// What capture has at one moment, for the page: the traffic with rates and last-seen
/// ticks, each interface's counters, and the interfaces that are not capturing.
public struct CaptureView: Sendable {
    public var activity: TrafficActivity
    public var sources: [SourceCounters]
    /// Interfaces wanted but not capturing, with the reason.
    public var failures: [String: String]
    /// What planet_scrape_collector_success{collector="capture"} says.
    public var healthy: Bool
    /// The captured interfaces' own counters, read with `sources`.
    public var interfaces: [InterfaceCoverage]

    /// A view from its parts.
    public init(activity: TrafficActivity, sources: [SourceCounters], failures: [String: String], healthy: Bool,
                interfaces: [InterfaceCoverage] = []) {
        self.activity = activity
        self.sources = sources
        self.failures = failures
        self.healthy = healthy
        self.interfaces = interfaces
    }
}

/// This host as the page names it.
public struct HostView: Sendable {
    public var hostname: String
    /// The primary address (planet_hostname's ip).
    public var address: IPAddress
    /// Every interface address.
    public var addresses: [IPAddress]

    /// A host from its parts.
    public init(hostname: String, address: IPAddress, addresses: [IPAddress]) {
        self.hostname = hostname
        self.address = address
        self.addresses = addresses
    }
}

/// Where the page and /api/v1 read from: the same readings the collectors render, so
/// every figure is one /metrics shows. Readers are closures, as the collectors' are.
public struct WebUISources: Sendable {
    public var host: @Sendable () -> HostView
    public var enrichment: @Sendable () -> Enrichment
    /// nil when capture is off.
    public var capture: (@Sendable () -> CaptureView)?
    /// nil when capture is off.
    public var history: TrafficHistory?
    /// The socket table's dependencies and whether its latest reading succeeded; nil when socketstat is off.
    public var dependencies: (@Sendable () -> (report: DependencyReport?, succeeded: Bool))?
    /// Now, in seconds since 1970.
    public var now: @Sendable () -> Double
    /// The bounds of /api/v1/capture while captures are served (-web.capture-enabled); nil when not.
    public var captureOnDemand: CaptureOnDemandSettings? = nil

    /// Sources from their parts; `now` defaults to the system clock.
    public init(host: @escaping @Sendable () -> HostView, enrichment: @escaping @Sendable () -> Enrichment,
                capture: (@Sendable () -> CaptureView)?, history: TrafficHistory?,
                dependencies: (@Sendable () -> (report: DependencyReport?, succeeded: Bool))?,
                now: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }) {
        self.host = host
        self.enrichment = enrichment
        self.capture = capture
        self.history = history
        self.dependencies = dependencies
        self.now = now
    }
}
