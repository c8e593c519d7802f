import Diagnostics
import Foundation
import Inventory
import NetAddress
import PacketDecoding
import PlanetMetrics
import Sockets
import Traffic

/// The JSON documents of /api/v1, built from the readings the collectors render
/// (docs/api.md describes every field). Pure: values in, JSON out.
enum ApiDocuments {
    // MARK: summary

    /// GET /api/v1/summary.
    static func summary(time: Double, version: String, revision: String, host: HostView, local: InventoryHost,
                        capture: CaptureView?, dependencies: (report: DependencyReport?, succeeded: Bool)?,
                        scrape: (time: Double, results: [ScrapeRecord.Result])?) -> JSONValue {
        var traffic = JSONValue.null
        var captureHealth: JSONValue = .object([("enabled", false)])
        if let capture {
            let snapshot = capture.activity.snapshot
            var ingress: UInt64 = 0, egress: UInt64 = 0
            var peers = Set<IPAddress>()
            for (key, counters) in zip(snapshot.keys, snapshot.counters) {
                if key.direction == .egress { egress &+= counters.bytes } else { ingress &+= counters.bytes }
                peers.insert(key.peer)
            }
            traffic = .object([
                ("ingress", .object([("bytes", .unsigned(ingress)), ("rate", .number(capture.activity.ingressRate))])),
                ("egress", .object([("bytes", .unsigned(egress)), ("rate", .number(capture.activity.egressRate))])),
                ("rate_window_seconds", .number(capture.activity.rateWindowSeconds)),
                ("peers", .unsigned(UInt64(peers.count))),
                ("series", .unsigned(UInt64(snapshot.seriesCount))),
                ("series_limit", .unsigned(UInt64(snapshot.seriesLimit))),
                ("evicted_series", .unsigned(snapshot.evictedSeries)),
                ("process_bytes", .object([("resolved", .unsigned(snapshot.processAttributedBytes)),
                                           ("unresolved", .unsigned(snapshot.processUnattributedBytes))])),
            ])
            captureHealth = captureJSON(capture)
        }
        var socketTable: JSONValue = .object([("enabled", false)])
        if let dependencies {
            socketTable = .object([
                ("enabled", true),
                ("succeeded", .bool(dependencies.succeeded)),
                ("upstreams", .unsigned(UInt64(dependencies.report?.upstreams.count ?? 0))),
                ("downstreams", .unsigned(UInt64(dependencies.report?.downstreams.count ?? 0))),
                ("servers", .unsigned(UInt64(dependencies.report?.servers.count ?? 0))),
            ])
        }
        let tasks: JSONValue = .object([
            ("scraped_at", scrape.map { .number($0.time) } ?? .null),
            ("collectors", .array((scrape?.results ?? []).map { result -> JSONValue in
                .object([("collector", .string(result.collector)), ("success", .bool(result.success)),
                         ("duration_seconds", .number(result.seconds))])
            })),
        ])
        return .object([
            ("time", .number(time)),
            ("version", .string(version)),
            ("revision", .string(revision)),
            ("host", .object([
                ("hostname", .string(host.hostname)),
                ("ip", .string(host.address.description)),
                ("addresses", .array(host.addresses.map { JSONValue.string($0.description) })),
                ("hostgroup", .string(local.hostgroup)),
                ("domain", .string(local.domain)),
            ])),
            ("traffic", traffic),
            ("capture", captureHealth),
            ("socket_table", socketTable),
            ("tasks", tasks),
        ])
    }

    static func captureJSON(_ capture: CaptureView) -> JSONValue {
        var total = CaptureCounters()
        for source in capture.sources { total = total + source.counters }
        func counters(_ c: CaptureCounters) -> [(String, JSONValue)] {
            let undecoded: [(String, JSONValue)] = DecodeStatus.allCases.filter { $0 != .ok }.map { status in
                (status.reason, .unsigned(c.undecoded[Int(status.rawValue)]))
            }
            return [("packets", .unsigned(c.packets)), ("kernel_dropped", .unsigned(c.kernelDropped)),
                    ("ring_dropped", .unsigned(c.ringDropped)), ("undecoded", .object(undecoded)),
                    ("wire_bytes", .unsigned(c.bytes.wireBytes))]
        }
        let coverage = Dictionary(capture.interfaces.map { ($0.interface, $0) }, uniquingKeysWith: { first, _ in first })
        func interface(_ name: String, _ error: String?, _ c: CaptureCounters) -> JSONValue {
            let head: [(String, JSONValue)] = [("name", .string(name)), ("capturing", .bool(error == nil)), ("error", .string(error ?? ""))]
            return .object(head + counters(c) + interfaceCountersJSON(coverage[name]))
        }
        var interfaces = capture.sources.map { interface($0.interface, capture.failures[$0.interface], $0.counters) }
        let counted = Set(capture.sources.map(\.interface))
        for (name, reason) in capture.failures.sorted(by: { $0.key < $1.key }) where !counted.contains(name) {
            interfaces.append(interface(name, reason, CaptureCounters()))
        }
        let unattributed: [(String, JSONValue)] = UnattributedReason.allCases.map { reason in
            (reason.label, .unsigned(capture.activity.snapshot.unattributedBytes[reason.rawValue]))
        }
        let head: [(String, JSONValue)] = [("enabled", true), ("healthy", .bool(capture.healthy))]
        let tail: [(String, JSONValue)] = [("unattributed_bytes", .object(unattributed)), ("interfaces", .array(interfaces))]
        return .object(head + counters(total) + tail)
    }

    /// The interface's own counters and what they and the capture counted since capture
    /// on it started (planet_interface_*, planet_capture_*_coverage_ratio); null when
    /// the kernel has no counters for it.
    static func interfaceCountersJSON(_ coverage: InterfaceCoverage?) -> [(String, JSONValue)] {
        guard let coverage else { return [("kernel", .null), ("coverage", .null)] }
        let k = coverage.kernel
        let kernel: JSONValue = .object([
            ("receive_bytes", .unsigned(k.receiveBytes)), ("transmit_bytes", .unsigned(k.transmitBytes)),
            ("receive_packets", .unsigned(k.receivePackets)), ("transmit_packets", .unsigned(k.transmitPackets)),
            ("receive_dropped", .unsigned(k.receiveDropped)), ("transmit_dropped", .unsigned(k.transmitDropped)),
        ])
        let since: JSONValue = coverage.sinceStart.map { since in
            .object([("packets", .unsigned(since.capturedPackets)), ("kernel_packets", .unsigned(since.kernelPackets)),
                     ("wire_bytes", .unsigned(since.capturedBytes)), ("kernel_bytes", .unsigned(since.kernelBytes))])
        } ?? .null
        return [("kernel", kernel), ("coverage", since)]
    }

    // MARK: graphs

    /// GET /api/v1/graphs: the buckets of each range asked for.
    static func graphs(time: Double, history: TrafficHistory?, ranges: [HistoryRange]) -> JSONValue {
        .object([
            ("time", .number(time)),
            ("graphs", .array(ranges.map { range -> JSONValue in
                .object([
                    ("range", .string(range.rawValue)),
                    ("bucket_seconds", .integer(range.bucketSeconds)),
                    ("buckets", .array((history?.buckets(range) ?? []).map { bucket -> JSONValue in
                        .object([("start", .integer(bucket.start)), ("ingress_bytes", .unsigned(bucket.ingressBytes)),
                                 ("egress_bytes", .unsigned(bucket.egressBytes))])
                    })),
                ])
            })),
        ])
    }

    /// The `range` parameter of /api/v1/graphs: one range, or all four when absent.
    static func graphRanges(_ parameters: [(key: String, value: String)]) -> Result<[HistoryRange], QueryError> {
        var ranges = HistoryRange.allCases
        for (key, value) in parameters {
            guard key == "range" else { return .failure(QueryError(message: "unknown parameter \(quoted(key)); known: range")) }
            guard let range = HistoryRange(rawValue: value) else {
                return .failure(QueryError(message: "range \(quoted(value)): expected minute, hour, day or month"))
            }
            guard ranges.count > 1 else { return .failure(QueryError(message: "parameter range given more than once")) }
            ranges = [range]
        }
        return .success(ranges)
    }

    // MARK: peers

    /// GET /api/v1/peers.
    static func peers(time: Double, table: PeerTable, query: PeersQuery, labels: (IPAddress) -> InventoryHost) -> JSONValue {
        let (matched, page) = table.select(query, labels: labels)
        return .object([
            ("time", .number(time)),
            ("peers_total", .unsigned(UInt64(table.peers.count))),
            ("matched", .unsigned(UInt64(matched))),
            ("offset", .unsigned(UInt64(query.offset))),
            ("limit", .unsigned(UInt64(query.limit))),
            ("sort", .string(query.sort.rawValue)),
            ("order", .string(query.order.rawValue)),
            ("q", .string(query.filter)),
            ("peers", .array(page.map { peer -> JSONValue in peerRow(peer, table: table, host: labels(peer.ip)) })),
        ])
    }

    static func peerRow(_ peer: PeerTable.Peer, table: PeerTable, host: InventoryHost) -> JSONValue {
        let (ports, processes, units) = table.portsAndProcesses(of: peer)
        let lists: [(String, JSONValue)] = [
            ("ports", .array(ports.map { JSONValue.string($0) })),
            ("processes", .array(processes.map { JSONValue.string($0) })),
            ("process_units", .array(units.map { JSONValue.string($0) })),
            ("series", .unsigned(UInt64(peer.seriesCount))),
        ]
        return .object(peerFigures(peer, table: table, host: host) + lists)
    }

    static func peerFigures(_ peer: PeerTable.Peer, table: PeerTable, host: InventoryHost) -> [(String, JSONValue)] {
        [
            ("ip", .string(peer.ip.description)),
            ("hostgroup", .string(host.hostgroup)),
            ("domain", .string(host.domain)),
            ("remote_dns_name", .string(table.activity.snapshot.dnsNames.name(for: peer.ip))),
            ("ingress_bytes", .unsigned(peer.ingressBytes)),
            ("egress_bytes", .unsigned(peer.egressBytes)),
            ("bytes", .unsigned(peer.bytes)),
            ("ingress_rate", .number(peer.ingressRate)),
            ("egress_rate", .number(peer.egressRate)),
            ("rate", .number(peer.rate)),
            ("last_seen", lastSeen(table.activity, tick: peer.lastActive)),
        ]
    }

    static func lastSeen(_ activity: TrafficActivity, tick: UInt64) -> JSONValue {
        .integer(Int64(activity.lastSeen(tick: tick).rounded(.up)))
    }

    /// GET /api/v1/peers/{ip}: nil when neither traffic nor a dependency edge has the peer.
    static func peer(_ ip: IPAddress, time: Double, table: PeerTable?, edges: [JoinedEdge],
                     labels: (IPAddress) -> InventoryHost) -> JSONValue? {
        let peer = table?.peer(ip)
        let mine = edges.filter { $0.remote == ip }
        guard peer != nil || !mine.isEmpty else { return nil }
        let host = labels(ip)
        var members: [(String, JSONValue)] = [("time", .number(time))]
        if let table, let peer {
            members += peerFigures(peer, table: table, host: host)
            let snapshot = table.activity.snapshot
            let series = table.series(of: peer).sorted { a, b in
                let x = snapshot.keys[a], y = snapshot.keys[b]
                if x.direction != y.direction { return x.direction < y.direction }
                if x.ipProtocol != y.ipProtocol { return x.ipProtocol < y.ipProtocol }
                if x.servicePort != y.servicePort { return (x.servicePort.map { Int($0) } ?? -1) < (y.servicePort.map { Int($0) } ?? -1) }
                if snapshot.processName(x.process) != snapshot.processName(y.process) {
                    return snapshot.processName(x.process) < snapshot.processName(y.process)
                }
                return snapshot.processUnit(x.process) < snapshot.processUnit(y.process)
            }
            members.append(("series", .array(series.map { index -> JSONValue in
                let key = snapshot.keys[index]
                return .object([
                    ("direction", .string(key.direction.label)),
                    ("protocol", .string(key.protocolLabel)),
                    ("port", .string(key.portLabel)),
                    ("process", .string(snapshot.processName(key.process))),
                    ("process_unit", .string(snapshot.processUnit(key.process))),
                    ("bytes", .unsigned(snapshot.counters[index].bytes)),
                    ("rate", .number(table.activity.rates[index])),
                    ("last_seen", lastSeen(table.activity, tick: table.activity.lastActive[index])),
                ])
            })))
        } else {
            members += [("ip", .string(ip.description)), ("hostgroup", .string(host.hostgroup)), ("domain", .string(host.domain)),
                        ("remote_dns_name", .string(table?.activity.snapshot.dnsNames.name(for: ip) ?? "")),
                        ("ingress_bytes", .unsigned(0)), ("egress_bytes", .unsigned(0)), ("bytes", .unsigned(0)),
                        ("ingress_rate", .number(0)), ("egress_rate", .number(0)), ("rate", .number(0)),
                        ("last_seen", .null), ("series", [])]
        }
        members.append(("dependencies", .array(mine.map { edgeJSON($0, host: host) })))
        return .object(members)
    }

    // MARK: dependencies

    /// GET /api/v1/dependencies.
    static func dependencies(time: Double, succeeded: Bool, edges: [JoinedEdge], labels: (IPAddress) -> InventoryHost) -> JSONValue {
        var hosts: [IPAddress: InventoryHost] = [:]
        for edge in edges where hosts[edge.remote] == nil { hosts[edge.remote] = labels(edge.remote) }
        struct Group { var edges = 0; var peers = Set<IPAddress>(); var bytes: UInt64 = 0; var rate = 0.0 }
        var groups: [String: Group] = [:]
        for edge in edges {
            let hostgroup = hosts[edge.remote]!.hostgroup
            guard !hostgroup.isEmpty else { continue }
            let key = edge.kind.rawValue + "\u{0}" + hostgroup
            groups[key, default: Group()].edges += 1
            groups[key, default: Group()].peers.insert(edge.remote)
            groups[key, default: Group()].bytes &+= edge.bytes
            groups[key, default: Group()].rate += edge.rate
        }
        return .object([
            ("time", .number(time)),
            ("succeeded", .bool(succeeded)),
            ("upstream", .array(edges.filter { $0.kind == .upstream }.map { edge -> JSONValue in edgeJSON(edge, host: hosts[edge.remote]!) })),
            ("downstream", .array(edges.filter { $0.kind == .downstream }.map { edge -> JSONValue in edgeJSON(edge, host: hosts[edge.remote]!) })),
            ("groups", .array(groups.sorted { $0.key < $1.key }.map { key, group -> JSONValue in
                let parts = key.split(separator: "\u{0}", maxSplits: 1)
                return .object([
                    ("kind", .string(String(parts[0]))), ("hostgroup", .string(String(parts[1]))),
                    ("edges", .unsigned(UInt64(group.edges))), ("peers", .unsigned(UInt64(group.peers.count))),
                    ("bytes", .unsigned(group.bytes)), ("rate", .number(group.rate)),
                ])
            })),
        ])
    }

    static func edgeJSON(_ edge: JoinedEdge, host: InventoryHost) -> JSONValue {
        .object([
            ("kind", .string(edge.kind.rawValue)),
            ("remote_ip", .string(edge.remote.description)),
            ("remote_hostgroup", .string(host.hostgroup)),
            ("remote_domain", .string(host.domain)),
            ("remote_dns_name", .string(edge.dnsName)),
            // As planet_upstream's remote_address: the inventory domain when known, else the IP.
            ("remote_address", .string(host.domain.isEmpty ? edge.remote.description : host.domain)),
            ("port", .string(String(edge.port))),
            ("protocol", .string(edge.proto.label)),
            ("process", .string(edge.process)),
            ("process_unit", .string(edge.unit)),
            ("local_addresses", .array(edge.localAddresses.map { JSONValue.string($0.description) })),
            ("ingress_bytes", .unsigned(edge.ingressBytes)),
            ("egress_bytes", .unsigned(edge.egressBytes)),
            ("bytes", .unsigned(edge.bytes)),
            ("ingress_rate", .number(edge.ingressRate)),
            ("egress_rate", .number(edge.egressRate)),
            ("rate", .number(edge.rate)),
        ])
    }
}
