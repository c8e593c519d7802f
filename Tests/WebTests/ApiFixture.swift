import Inventory
import NetAddress
import PacketDecoding
import PlanetMetrics
import Sockets
import Traffic
@testable import Listener
@testable import Web

/// A host with three peers, five dependency edges and a little history, the same for every API test.
///
/// Peers: 10.1.0.7 (hostgroup db, upstream postgres of "app"), 192.0.2.9 (unknown to the
/// inventory, a client of "nginx", and an ICMP series), fd00::2 (hostgroup web, upstream
/// DNS of a process whose name is markup).
enum ApiFixture {
    static let time = 1005.0
    static let processNames = ["", "app", "nginx", "<b>dns</b>"]
    /// The units of `processNames`: nginx runs in a container, the DNS client in none.
    static let processUnits = ["", "app.service", "edge-proxy", ""]

    /// (peer, egress, protocol, port, process id, bytes, rate, last seen)
    static let series: [(String, Bool, UInt8, UInt16?, UInt32, UInt64, Double, Double)] = [
        ("10.1.0.7", true, 6, 5432, 1, 4000, 100, 1000),
        ("10.1.0.7", false, 6, 5432, 1, 16000, 400, 999),
        ("192.0.2.9", false, 6, 443, 2, 500, 10, 990),
        ("192.0.2.9", true, 6, 443, 2, 12000, 20, 989),
        ("192.0.2.9", false, 1, nil, 0, 84, 0, 900),
        ("fd00::2", true, 17, 53, 3, 300, 1.5, 995),
        ("fd00::2", false, 17, 53, 3, 600, 3, 994),
    ]

    static var activity: TrafficActivity {
        var snapshot = TrafficSnapshot()
        snapshot.processNames = processNames
        snapshot.processUnits = processUnits
        snapshot.unattributedBytes = [120, 0]
        snapshot.evictedSeries = 2
        snapshot.seriesLimit = 200_000
        snapshot.processAttributedBytes = 33400
        snapshot.processUnattributedBytes = 84
        for row in series {
            snapshot.keys.append(TrafficKey(peer: IPAddress(row.0)!, direction: row.1 ? .egress : .ingress,
                                            ipProtocol: row.2, port: row.3, process: row.4))
            snapshot.counters.append(TrafficCounters(bytes: row.5, packets: 1))
        }
        return TrafficActivity(snapshot: snapshot, rates: series.map(\.6), lastSeen: series.map(\.7), time: time,
                               ingressRate: 413, egressRate: 121.5, rateWindowSeconds: 12)
    }

    static let inventory: [IPAddress: InventoryHost] = [
        IPAddress("10.1.0.7")!: InventoryHost(hostgroup: "db", domain: "db1.example"),
        IPAddress("fd00::2")!: InventoryHost(hostgroup: "web", domain: ""),
        IPAddress("10.0.0.5")!: InventoryHost(hostgroup: "app-servers", domain: "app1.example"),
    ]

    static let enrichment = Enrichment(local: inventory[IPAddress("10.0.0.5")!]!) { inventory[$0] }

    static func labels(_ address: IPAddress) -> InventoryHost { inventory[address] ?? .unknown }

    static func socket(_ proto: TransportProtocol, _ state: SocketState, _ local: String, _ localPort: UInt16,
                       _ remote: String, _ remotePort: UInt16, _ process: String) -> OwnedSocket {
        OwnedSocket(entry: SocketEntry(protocol: proto, state: state, localAddress: IPAddress(local)!, localPort: localPort,
                                       remoteAddress: IPAddress(remote)!, remotePort: remotePort, inode: 1, uid: 0),
                    processName: process, processUnit: processNames.firstIndex(of: process).map { processUnits[$0] } ?? "")
    }

    static var report: DependencyReport {
        DependencyReport(snapshot: SocketSnapshot(sockets: [
            socket(.tcp, .listen, "0.0.0.0", 443, "0.0.0.0", 0, "nginx"),
            socket(.tcp, .established, "10.0.0.5", 443, "192.0.2.9", 51000, "nginx"),
            socket(.tcp, .established, "10.0.0.5", 40000, "10.1.0.7", 5432, "app"),
            socket(.tcp, .established, "10.0.0.6", 40001, "10.1.0.7", 5432, "app"),
            socket(.udp, .established, "fd00::1", 41000, "fd00::2", 53, "<b>dns</b>"),
            socket(.tcp, .established, "10.0.0.5", 40002, "198.51.100.1", 80, "curl"),
        ]), hostAddress: IPAddress("10.0.0.5")!)
    }

    static var history: TrafficHistory {
        let history = TrafficHistory()
        let aggregator = TrafficAggregator(accounting: TrafficAccounting(
            maxSeries: 10, localAddresses: LocalAddresses(addresses: [IPAddress("10.0.0.5")!], networks: [])))
        for (second, bytes) in [(1_700_000_001.5, 700), (1_700_000_002.5, 0), (1_700_000_003.5, 1300)] {
            if bytes > 0 {
                aggregator.withAccounting { accounting in
                    var packet = PacketSummary()
                    packet.source = IPAddress("10.1.0.7")!
                    packet.destination = IPAddress("10.0.0.5")!
                    packet.ipProtocol = 1
                    packet.ipBytes = UInt32(bytes)
                    accounting.count(packet)
                }
            }
            aggregator.recordHistory(history, at: second)
        }
        return history
    }

    static var capture: CaptureView {
        var eth0 = CaptureCounters()
        eth0.packets = 40
        eth0.decoded = 38
        eth0.undecoded[Int(DecodeStatus.notIP.rawValue)] = 2
        eth0.kernelDropped = 1
        var eth1 = CaptureCounters()
        eth1.packets = 10
        eth1.decoded = 10
        eth1.ringDropped = 3
        eth0.bytes.wireBytes = 5120
        // The kernel counted one packet more than the capture since it started; eth1 has no counters.
        let atStart = InterfaceStatistics(receiveBytes: 90000, transmitBytes: 65000, receivePackets: 690, transmitPackets: 579)
        let now = InterfaceStatistics(receiveBytes: 90210, transmitBytes: 70110, receivePackets: 700, transmitPackets: 610)
        let coverage = InterfaceCoverage(interface: "eth0", kernel: now,
                                         baseline: InterfaceBaseline(index: 2, kernel: atStart, captured: CaptureCounters()), captured: eth0)
        return CaptureView(activity: activity, sources: [("eth0", eth0), ("eth1", eth1)],
                           failures: ["eth2": "eth2: no such device"], healthy: false, interfaces: [coverage])
    }

    static var sources: WebUISources {
        let history = history
        return WebUISources(
            host: { HostView(hostname: "app1", address: IPAddress("10.0.0.5")!,
                             addresses: [IPAddress("10.0.0.5")!, IPAddress("fd00::1")!]) },
            enrichment: { enrichment }, capture: { capture }, history: history,
            dependencies: { (report, true) }, now: { time })
    }
}
