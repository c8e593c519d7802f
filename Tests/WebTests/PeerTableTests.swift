import NetAddress
import Testing
@testable import Listener
@testable import Web

@Suite struct PeerTableTests {
    /// The bounded heap (first pages) and the sort (later pages) give the rows a full sort gives.
    @Test func firstRowsAreThoseOfAFullSort() {
        var generator = SystemRandomNumberGenerator()
        for size in [0, 1, 7, 100, 5000] {
            // Many equal values, so the tie-break decides often.
            let values = (0..<size).map { _ in Int.random(in: 0..<50, using: &generator) }
            let before: (Int, Int) -> Bool = { values[$0] != values[$1] ? values[$0] > values[$1] : $0 < $1 }
            let items = Array((0..<size).shuffled(using: &generator))
            let expected = items.sorted(by: before)
            for count in [0, 1, 10, 100, size / 3, size, size + 5] {
                #expect(PeerTable.first(count, of: items, by: before) == Array(expected.prefix(count)),
                        "size \(size), first \(count)")
            }
        }
    }

    /// Every address finds its own row, whatever the collisions; absent ones find none.
    @Test func positionsFindEveryPeerAndNoOther() {
        var peers: [PeerTable.Peer] = []
        var positions = PeerPositions(capacity: 20_000)
        for n in 0..<10_000 {
            // IPv4 and IPv6 neighbours: the addresses differ in few bits.
            for text in ["10.\(n >> 8).\(n & 255).1", "fd00::\(String(n, radix: 16))"] {
                let ip = IPAddress(text)!
                #expect(positions.find(ip, in: peers) == nil)
                positions.insert(ip, at: peers.count)
                peers.append(PeerTable.Peer(ip: ip))
            }
        }
        for (row, peer) in peers.enumerated() { #expect(positions.find(peer.ip, in: peers) == row) }
        #expect(positions.find(IPAddress("192.0.2.1")!, in: peers) == nil)
    }
}
