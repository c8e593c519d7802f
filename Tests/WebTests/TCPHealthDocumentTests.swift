import NetAddress
import Testing
import Traffic
@testable import Listener
@testable import Web

@Suite struct TCPHealthDocumentTests {
    /// Two upstream edges: 10.1.0.7:5432 with a refused connection and one established
    /// in 3 ms, 192.0.2.1:80 with one attempt under way.
    static var snapshot: TCPHealthSnapshot {
        var snapshot = TCPHealthSnapshot()
        snapshot.maxEdges = 100
        var db = TCPEdgeHealth()
        db.attempts = 2
        db.established = 1
        db.refused = 1
        db.buckets[1] = 1
        db.handshakeMicroseconds = 3_000
        var web = TCPEdgeHealth()
        web.attempts = 1
        snapshot.keys = [TCPEdgeKey(peer: IPAddress("192.0.2.1")!, port: 80, upstream: true, process: ""),
                         TCPEdgeKey(peer: IPAddress("10.1.0.7")!, port: 5432, upstream: true, process: "app", unit: "app.service")]
        snapshot.edges = [web, db]
        return snapshot
    }

    @Test func edgesWithTheMostAttemptsFirstWithInventoryLabels() {
        let text = ApiDocuments.tcpHealth(time: 1005, snapshot: Self.snapshot, limit: 1, labels: ApiFixture.labels).text
        #expect(text == #"{"time":1005,"enabled":true,"edges_total":2,"max_edges":100,"untracked_handshakes":0,"edge_limit_events":0,"held_events":0,"bucket_bounds_seconds":[0.001,0.005,0.025,0.1,0.5,2.5],"edges":[{"direction":"upstream","remote_ip":"10.1.0.7","remote_hostgroup":"db","remote_domain":"db1.example","port":"5432","protocol":"tcp","process":"app","process_unit":"app.service","attempts":2,"established":1,"refused":1,"timed_out":0,"reset":0,"handshakes":1,"handshake_mean_microseconds":3000,"handshake_buckets":[0,1,0,0,0,0,0]}]}"#)
    }

    @Test func withoutCaptureNothingIsListed() {
        let text = ApiDocuments.tcpHealth(time: 1005, snapshot: nil, limit: 10, labels: ApiFixture.labels).text
        #expect(text.hasPrefix(#"{"time":1005,"enabled":false,"edges_total":0,"#))
        #expect(text.hasSuffix(#""edges":[]}"#))
    }
}
