import Capture
import Foundation
import Listener
import Logging
import NetAddress
import PacketDecoding
import PlanetMetrics
import Traffic
import Web

/// Captures on demand refused at start: they need a web config that asks who the client is.
public struct CaptureOnDemandError: Error, CustomStringConvertible, Sendable {
    public let description: String
}

extension AgentRuntime {
    /// Seconds left between the end of the longest capture and -web.response-timeout, for
    /// its last blocks to be sent.
    static let responseMargin = 5

    /// What /api/v1/capture needs, from the capture task and the web config in force; throws
    /// when the web config requires neither basic auth nor verified client certificates.
    static func captureOnDemand(_ settings: CaptureOnDemandSettings, capture: CaptureTask, listener: WebListener, version: String,
                                hostAddress: @escaping @Sendable () -> IPAddress, enrichment: @escaping @Sendable () -> Enrichment,
                                logger: Logger) throws(CaptureOnDemandError) -> CaptureOnDemandSources {
        guard let webConfig = listener.webConfig, webConfig.current().config.authenticates else {
            throw CaptureOnDemandError(description: "-web.capture-enabled: packets carry payloads, so captures are served only behind authentication; give -web.config.file a web config with basic_auth_users or client_auth_type: RequireAndVerifyClientCert")
        }
        // The listener's response deadline was raised to fit the longest capture (`run`).
        return CaptureOnDemandSources(
            settings: settings,
            interfaces: { capture.activeInterfaces },
            section: {
                PcapngWriter.Section(hostname: HostIdentity.hostname(), hostgroup: enrichment().local.hostgroup,
                                     application: "planet-exporter \(version)")
            },
            annotator: { packetAnnotator(aggregator: capture.aggregator, enrichment: enrichment()) },
            authenticates: { webConfig.current().config.authenticates },
            log: { logger.info("\($0)") })
    }

    /// Names a packet's local process and its remote end, "pe-app → api.example.com", from
    /// the socket table and the DNS names known now (the remote address when it has no
    /// name); no comment for a packet with no local end or no local process.
    static func packetAnnotator(aggregator: TrafficAggregator, enrichment: Enrichment) -> PacketAnnotator {
        let (local, owners) = aggregator.withAccounting { ($0.localAddresses, $0.endpoints) }
        return { packet in
            let localEnd: (address: IPAddress, port: UInt16, remote: IPAddress)
            if local.contains(packet.source) && !local.contains(packet.destination) {
                localEnd = (packet.source, packet.sourcePort, packet.destination)
            } else if local.contains(packet.destination) && !local.contains(packet.source) {
                localEnd = (packet.destination, packet.destinationPort, packet.source)
            } else {
                return []
            }
            guard packet.hasPorts,
                  let process = owners?.processName(ipProtocol: packet.ipProtocol, localAddress: localEnd.address, localPort: localEnd.port)
            else { return [] }
            let name = enrichment.dnsName(localEnd.remote)
            return Array("\(process) → \(name.isEmpty ? "\(localEnd.remote)" : name)".utf8)
        }
    }
}
