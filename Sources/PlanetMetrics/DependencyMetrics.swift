import Exposition
import Inventory
import NetAddress
import Sockets

/// Renders a `DependencyReport` as the Go original's gauges: `planet_upstream`,
/// `planet_downstream` and `planet_server_process`.
public enum DependencyMetrics {
    /// Default of -task-socketstat-max-series: series per family. A busy server has a few
    /// hundred upstream edges and a few thousand downstream peers; past this, series cost
    /// Prometheus more than they tell.
    public static let defaultMaxSeries = 5000

    /// Writes the three families (each only when it has samples), labels sorted by
    /// name, value 1. An address is shown as its inventory domain when known, else
    /// as the IP; edges also carry `remote_ip`, and `remote_dns_name` from `dnsName`. Edges that render to the same labels
    /// are written once. Each family holds at most `maxSeries` series (see
    /// `DependencyRenderer`).
    public static func render(_ report: DependencyReport, into writer: inout ExpositionWriter, labels: InventoryLookup,
                              dnsName: (IPAddress) -> String = { _ in "" }, maxSeries: Int = .max, processUnitLabel: Bool = false) {
        var renderer = DependencyRenderer(report, labels: labels, dnsName: dnsName, maxSeries: maxSeries,
                                          processUnitLabel: processUnitLabel)
        while !renderer.render(upTo: .max, into: &writer) {}
    }
}

/// The dependency gauges of one report, bounded, written a part at a time so a scrape of
/// many series is sent while it is written.
///
/// The bound is per family. Past it, edges are folded per service: the edges of the
/// service (local address and hostgroup, port, process and its unit, protocol) with the most peers
/// become one series with empty `remote_address`, `remote_dns_name`, `remote_hostgroup` and `remote_ip`,
/// then the service with the next most, until the family fits; if it still does not
/// (more services than the bound), the series past the bound in sorted order are left
/// out, as are server processes past it. `dropped` says how many series each family lost.
public struct DependencyRenderer {
    struct Family {
        let name: String
        let help: String
        let keys: [String]
        let series: [[String]]
        let dropped: Int
    }

    let families: [Family]
    var family = 0
    var position = 0

    /// Label names of an edge; all but the last four (the remote end) name its service.
    static let edgeKeys = ["local_address", "local_hostgroup", "port", "process_name", "protocol", "remote_address",
                           "remote_dns_name", "remote_hostgroup", "remote_ip"]
    /// `edgeKeys` with `process_unit`.
    static let edgeKeysWithUnit = ["local_address", "local_hostgroup", "port", "process_name", "process_unit", "protocol",
                                   "remote_address", "remote_dns_name", "remote_hostgroup", "remote_ip"]
    /// Label values of an edge that name its remote end, the last of each series.
    static let remoteKeys = 4

    /// The families of `report`, with at most `maxSeries` series each; `dnsName` gives
    /// remote_dns_name, which depends on remote_ip only and so adds no series. With
    /// `processUnitLabel`, every series carries its process's unit as `process_unit`.
    public init(_ report: DependencyReport, labels: InventoryLookup, dnsName: (IPAddress) -> String = { _ in "" },
                maxSeries: Int, processUnitLabel: Bool = false) {
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
                var values = [local.address, local.hostgroup, String(edge.port), edge.processName,
                              edge.protocol.label, remote.address, dnsName(edge.remoteAddress), remote.hostgroup,
                              edge.remoteAddress.description]
                if processUnitLabel { values.insert(edge.processUnit, at: 4) }
                if seen.insert(values).inserted { series.append(values) }
            }
            return series
        }
        let limit = max(0, maxSeries)
        // remote_ip (always the IP, unlike remote_address) lets the gauges join with
        // planet_traffic_bytes_total on remote_ip, port, protocol and process_name.
        let upstreams = Self.folded(edgeSeries(report.upstreams), limit: limit)
        let downstreams = Self.folded(edgeSeries(report.downstreams), limit: limit)

        var seen = Set<[String]>()
        var servers: [[String]] = []
        for server in report.servers {
            // A wildcard or loopback bind belongs to the host as a whole.
            let address = server.address.isUnspecified || server.address.isLoopback ? report.hostAddress : server.address
            var values = [server.bind, describe(address).hostgroup, String(server.port), server.processName]
            if processUnitLabel { values.append(server.processUnit) }
            if seen.insert(values).inserted { servers.append(values) }
        }
        let edgeKeys = processUnitLabel ? Self.edgeKeysWithUnit : Self.edgeKeys
        families = [
            Family(name: "planet_upstream", help: "Upstream dependency of this machine", keys: edgeKeys,
                   series: upstreams.series, dropped: upstreams.dropped),
            Family(name: "planet_downstream", help: "Downstream dependency of this machine", keys: edgeKeys,
                   series: downstreams.series, dropped: downstreams.dropped),
            Family(name: "planet_server_process", help: "Server process that are listening on network interfaces",
                   keys: ["bind", "local_hostgroup", "port", "process_name"] + (processUnitLabel ? ["process_unit"] : []),
                   series: Array(servers.prefix(limit)), dropped: max(0, servers.count - limit)),
        ]
    }

    /// Series each family lost to the bound (folded or left out).
    public var dropped: [(family: String, series: Int)] { families.map { ($0.name, $0.dropped) } }

    /// `series` (edge label values) cut to `limit` by folding the services with the most peers.
    static func folded(_ series: [[String]], limit: Int) -> (series: [[String]], dropped: Int) {
        guard series.count > limit else { return (series, 0) }
        var peers: [ArraySlice<String>: Int] = [:]
        for values in series { peers[values.dropLast(remoteKeys), default: 0] += 1 }
        let largestFirst = peers.filter { $0.value > 1 }.sorted {
            $0.value != $1.value ? $0.value > $1.value : $0.key.lexicographicallyPrecedes($1.key)
        }
        var remaining = series.count
        var folded = Set<ArraySlice<String>>()
        for (service, count) in largestFirst where remaining > limit {
            folded.insert(service)
            remaining -= count - 1
        }
        var out: [[String]] = []
        var written = Set<ArraySlice<String>>()
        for values in series {
            let service = values.dropLast(remoteKeys)
            if !folded.contains(service) {
                out.append(values)
            } else if written.insert(service).inserted {
                out.append(Array(service) + Array(repeating: "", count: remoteKeys))
            }
        }
        if out.count > limit { out.removeLast(out.count - limit) }
        return (out, series.count - out.count)
    }

    /// Writes up to `count` more series (family headers included as they come); true once
    /// every family is written. A family without series is not written.
    public mutating func render(upTo count: Int, into writer: inout ExpositionWriter) -> Bool {
        var budget = count
        while family < families.count {
            let current = families[family]
            if position == 0 && !current.series.isEmpty {
                writer.family(current.name, help: current.help, kind: .gauge)
            }
            while position < current.series.count {
                guard budget > 0 else { return false }
                writer.sample(current.name, labels: Array(zip(current.keys, current.series[position])), 1)
                position += 1
                budget -= 1
            }
            family += 1
            position = 0
        }
        return true
    }
}
