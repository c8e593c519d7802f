import Foundation
import NetAddress
import Traffic
import PlanetMetrics
import Sockets
import Web

extension CaptureTask {
    /// What the page shows of capture: the scrape's snapshot with rates and last-seen
    /// ticks from `history`, and the interfaces' counters (capture's and kernel's) and failures.
    func view(history: TrafficHistory) -> CaptureView {
        let activity = aggregator.activity(history: history, at: Date().timeIntervalSince1970)
        let failures = failures
        let sources = sourceCounters()
        return CaptureView(activity: activity, sources: sources, failures: failures,
                           healthy: failures.isEmpty && !activeInterfaces.isEmpty, interfaces: interfaceCoverage(sources))
    }
}

extension AgentRuntime {
    /// The page's sources: the same tasks and labels the collectors read.
    static func webUISources(capture: CaptureTask?, history: HistoryTask?, socketstat: SocketstatTask?,
                             hostAddress: @escaping @Sendable () -> IPAddress,
                             enrichment: @escaping @Sendable () -> Enrichment) -> WebUISources {
        var view: (@Sendable () -> CaptureView)? = nil
        if let capture, let history {
            view = { capture.view(history: history.history) }
        }
        var dependencies: (@Sendable () -> (report: DependencyReport?, succeeded: Bool))? = nil
        if let socketstat {
            dependencies = { socketstat.dependencies() }
        }
        let host: @Sendable () -> HostView = {
            HostView(hostname: HostIdentity.hostname(), address: hostAddress(), addresses: HostInterfaces.allAddresses())
        }
        return WebUISources(host: host, enrichment: enrichment, capture: view, history: history?.history,
                            dependencies: dependencies)
    }
}
