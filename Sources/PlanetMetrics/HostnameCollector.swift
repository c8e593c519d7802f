import Exposition
import NetAddress

/// planet_hostname: this host's name, primary address and inventory labels.
public struct HostnameCollector: MetricsCollector {
    public let name = "hostname"
    let hostAddress: @Sendable () -> IPAddress
    let enrichment: @Sendable () -> Enrichment

    public init(hostAddress: @escaping @Sendable () -> IPAddress, enrichment: @escaping @Sendable () -> Enrichment) {
        self.hostAddress = hostAddress
        self.enrichment = enrichment
    }

    public func collect(into writer: inout ExpositionWriter) -> Bool {
        let local = enrichment().local
        writer.family("planet_hostname", help: "Hostname of this machine", kind: .gauge)
        writer.sample("planet_hostname", ["domain": local.domain, "hostname": HostIdentity.hostname(),
                                          "ip": hostAddress().description, "local_hostgroup": local.hostgroup], UInt64(1))
        return true
    }
}
