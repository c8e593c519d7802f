import Exposition
import Inventory
import NetAddress
import Sockets

/// Renders a `DependencyReport` as the Go original's gauges: `planet_upstream`,
/// `planet_downstream` and `planet_server_process`.
public enum DependencyMetrics {
    /// Writes the three families (each only when it has samples), labels sorted by
    /// name, value 1. An address is shown as its inventory domain when known, else
    /// as the IP; edges also carry `remote_ip`. Edges that render to the same labels
    /// are written once.
    public static func render(_ report: DependencyReport, into writer: inout ExpositionWriter, labels: InventoryLookup) {
        func describe(_ address: IPAddress) -> (hostgroup: String, address: String) {
            let known = labels(address)
            let domain = known?.domain ?? ""
            return (known?.hostgroup ?? "", domain.isEmpty ? address.description : domain)
        }
        func edgeSeries(_ edges: [DependencyEdge]) -> [[String]] {
            var seen = Set<[String]>()
            var series: [[String]] = []
            for edge in edges {
                let local = describe(edge.localAddress)
                let remote = describe(edge.remoteAddress)
                let values = [local.address, local.hostgroup, String(edge.port), edge.processName,
                              edge.protocol.label, remote.address, remote.hostgroup, edge.remoteAddress.description]
                if seen.insert(values).inserted { series.append(values) }
            }
            return series
        }
        // remote_ip (always the IP, unlike remote_address) lets the gauges join with
        // planet_traffic_bytes_total on remote_ip, port, protocol and process_name.
        let edgeKeys = ["local_address", "local_hostgroup", "port", "process_name", "protocol", "remote_address",
                        "remote_hostgroup", "remote_ip"]
        write("planet_upstream", help: "Upstream dependency of this machine", keys: edgeKeys,
              series: edgeSeries(report.upstreams), into: &writer)
        write("planet_downstream", help: "Downstream dependency of this machine", keys: edgeKeys,
              series: edgeSeries(report.downstreams), into: &writer)

        var seen = Set<[String]>()
        var servers: [[String]] = []
        for server in report.servers {
            // A wildcard or loopback bind belongs to the host as a whole.
            let address = server.address.isUnspecified || server.address.isLoopback ? report.hostAddress : server.address
            let values = [server.bind, describe(address).hostgroup, String(server.port), server.processName]
            if seen.insert(values).inserted { servers.append(values) }
        }
        write("planet_server_process", help: "Server process that are listening on network interfaces",
              keys: ["bind", "local_hostgroup", "port", "process_name"], series: servers, into: &writer)
    }

    private static func write(_ name: String, help: String, keys: [String], series: [[String]], into writer: inout ExpositionWriter) {
        guard !series.isEmpty else { return }
        writer.family(name, help: help, kind: .gauge)
        for values in series {
            writer.sample(name, labels: Array(zip(keys, values)), 1)
        }
    }
}
