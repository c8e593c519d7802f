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
        #expect(text == #"{"time":1005,"enabled":true,"edges_total":2,"max_edges":100,"untracked_handshakes":0,"edge_limit_events":0,"held_events":0,"bucket_bounds_seconds":[0.001,0.005,0.025,0.1,0.5,2.5],"rtt_bucket_bounds_microseconds":[250,1000,2500,5000,10000,25000,50000,100000,250000,500000,1000000],"evicted_connections":0,"loss_percent_amber":0.5,"loss_percent_red":2,"edges":[{"direction":"upstream","remote_ip":"10.1.0.7","remote_hostgroup":"db","remote_domain":"db1.example","port":"5432","protocol":"tcp","process":"app","process_unit":"app.service","attempts":2,"established":1,"refused":1,"timed_out":0,"reset":0,"handshakes":1,"handshake_mean_microseconds":3000,"handshake_buckets":[0,1,0,0,0,0,0],"loss_percent":null,"rtt_p50_microseconds":null,"rtt_p95_microseconds":null,"stalls":0,"senders":{"local":{"data_segments":0,"retransmitted_segments":0,"out_of_order_segments":0,"zero_window_segments":0,"duplicate_ack_runs":0,"window_full_stalls":0,"rtt_samples_timestamp":0,"rtt_samples_ack":0,"rtt_sum_microseconds":0,"rtt_buckets":[0,0,0,0,0,0,0,0,0,0,0,0],"rtt_p50_microseconds":null,"rtt_p95_microseconds":null,"closed_fin":0,"closed_rst":0},"remote":{"data_segments":0,"retransmitted_segments":0,"out_of_order_segments":0,"zero_window_segments":0,"duplicate_ack_runs":0,"window_full_stalls":0,"rtt_samples_timestamp":0,"rtt_samples_ack":0,"rtt_sum_microseconds":0,"rtt_buckets":[0,0,0,0,0,0,0,0,0,0,0,0],"rtt_p50_microseconds":null,"rtt_p95_microseconds":null,"closed_fin":0,"closed_rst":0}}}]}"#)
    }

    /// Loss ratio over both senders, the local sender's RTT quantiles from its buckets,
    /// stalls from both sides' zero windows and full windows; remote_ip keeps one peer's edges.
    @Test func lossRoundTripsAndStallsPerEdge() {
        var snapshot = Self.snapshot
        snapshot.edges[1].local.dataSegments = 150
        snapshot.edges[1].local.retransmissions = 3
        snapshot.edges[1].remote.dataSegments = 50
        snapshot.edges[1].remote.zeroWindows = 2
        snapshot.edges[1].local.zeroWindows = 1
        snapshot.edges[1].remote.windowFullStalls = 2
        // Samples whose means sit mid-bucket: the quantiles are histogram_quantile's.
        snapshot.edges[1].local.rttBuckets[6] = 3
        snapshot.edges[1].local.rttBucketMicroseconds[6] = 3 * 37_500
        snapshot.edges[1].local.rttBuckets[8] = 1
        snapshot.edges[1].local.rttBucketMicroseconds[8] = 175_000
        snapshot.edges[1].local.ackSamples = 4
        let document = ApiDocuments.tcpHealth(time: 1005, snapshot: snapshot, limit: 10, remoteIP: IPAddress("10.1.0.7")!,
                                              labels: ApiFixture.labels)
        let text = document.text
        #expect(text.contains(#""edges_total":2"#))
        #expect(!text.contains("192.0.2.1"))
        #expect(text.contains(#""loss_percent":1.5,"#))
        // Three of four samples in (25, 50] ms, one in (100, 250] ms.
        #expect(text.contains(#""rtt_p50_microseconds":41667,"#))
        #expect(text.contains(#""rtt_p95_microseconds":220000,"#))
        #expect(text.contains(#""stalls":5,"#))
        #expect(text.contains(#""window_full_stalls":2,"#))
        #expect(text.contains(#""rtt_buckets":[0,0,0,0,0,0,3,0,1,0,0,0]"#))
    }

    @Test func withoutCaptureNothingIsListed() {
        let text = ApiDocuments.tcpHealth(time: 1005, snapshot: nil, limit: 10, labels: ApiFixture.labels).text
        #expect(text.hasPrefix(#"{"time":1005,"enabled":false,"edges_total":0,"#))
        #expect(text.hasSuffix(#""edges":[]}"#))
    }
}
