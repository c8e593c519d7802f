import Hummingbird
import HummingbirdTesting
import NetAddress
import PlanetMetrics
import Testing
import Traffic
@testable import Web

/// /api/v1/services from the API fixture: nginx serves 443 to one client; the upstreams of
/// app and the DNS client are not services.
struct ServicesDocumentTests {
    @Test func servicesListServedPortsWithTheirClients() async throws {
        let app = Application(router: WebServer.router(registry: MetricsRegistry(collectors: [], version: "1", revision: "a"),
                                                       ui: ApiFixture.sources))
        try await app.test(.router) { client in
            try await client.execute(uri: "/api/v1/services", method: .get) { response in
                #expect(response.status == .ok)
                let body = String(buffer: response.body)
                #expect(body == #"{"time":1005,"succeeded":true,"services":[{"protocol":"tcp","port":"443","process":"nginx","process_unit":"edge-proxy","#
                    + #""ingress_bytes":500,"egress_bytes":12000,"ingress_rate":10,"egress_rate":20,"rate":30,"clients":1,"#
                    + #""top_clients":[{"ip":"192.0.2.9","dns_name":"","hostgroup":"","domain":"","ingress_bytes":500,"egress_bytes":12000,"rate":30}],"#
                    + #""tcp":{"edges":0,"attempts":0,"established":0,"refused":0,"timed_out":0,"reset":0,"handshake_mean_microseconds":null}}]}"# + "\n",
                    "\(body)")
            }
            try await client.execute(uri: "/api/v1/services?top=0", method: .get) { response in
                #expect(response.status == .badRequest)
            }
        }
    }

    /// Ports the counting rules learned from the packets are services too: a local port
    /// that accepted a TCP connection, and a UDP port more than one peer sent to, though
    /// the socket table lists neither; the folded edge of ports that never accepted, and a
    /// port that only refused, are not.
    @Test func portsTheCountingRulesLearnedAreServices() {
        var activity = ApiFixture.activity
        func edge(_ peer: String, _ port: UInt16, process: String, established: UInt64, refused: UInt64 = 0) {
            activity.snapshot.tcpHealth.keys.append(TCPEdgeKey(peer: IPAddress(peer)!, port: port, upstream: false, process: process))
            var figures = TCPEdgeHealth()
            figures.attempts = established + refused
            figures.established = established
            figures.refused = refused
            activity.snapshot.tcpHealth.edges.append(figures)
        }
        edge("192.0.2.20", 8080, process: "app", established: 2)
        edge("192.0.2.21", 0, process: "", established: 0, refused: 40)
        edge("192.0.2.22", 9999, process: "", established: 0, refused: 1)
        // The DNS client's port 53 series are an upstream's; port 5300 is a learned UDP server of app.
        activity.snapshot.udpServerPorts = [5300]
        activity.snapshot.keys.append(TrafficKey(peer: IPAddress("192.0.2.30")!, direction: .ingress, ipProtocol: 17, port: 5300, process: 1))
        activity.snapshot.counters.append(TrafficCounters(bytes: 700, packets: 7))
        activity.rates.append(2)
        let rows = ServicesDocument.rows(report: ApiFixture.report, activity: activity)
        let listed = rows.map { "\($0.service.protocol.label)/\($0.service.port) \($0.service.processName)" }
        #expect(listed == ["tcp/443 nginx", "udp/5300 app", "tcp/8080 app"])
        let udp = rows.first { $0.service.port == 5300 }
        #expect(udp?.ingressBytes == 700 && udp?.clients.count == 1)
        let tcp = rows.first { $0.service.port == 8080 }
        #expect(tcp?.tcp.established == 2 && tcp?.tcpEdges == 1)
    }
}
