// The series table (Sources/Traffic/TrafficTable.swift) as the packet path uses it: packets
// from N peers in random order, hashed and prefetched one by one and added in batches of
// `TrafficAccounting.batchCapacity`, into a table bounded at the default -capture-max-series.
// Prints ns per packet (median of the runs) for each N: from a table that fits in the CPU
// caches to one that does not. Run: swift run -c release TableBenchmark
#if canImport(Glibc)
import Glibc
#endif
import NetAddress
import Traffic

func cpuSeconds() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
}

func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

let maxSeries = 200_000  // -capture-max-series' default
let packets = 4_000_000
let runs = 7
let batch = TrafficAccounting.batchCapacity

print("series table, \(packets) packets per run in batches of \(batch), bound \(maxSeries) series; median of \(runs) runs")
for peers in [1_000, 16_384, 65_536, 131_072, 200_000] {
    let keys = (0..<peers).map { n in
        TrafficKey(peer: IPAddress(ipv4: 0xC612_0000 &+ UInt32(n)), direction: .ingress, ipProtocol: 17, port: 53)
    }
    // Peers in an order scattered by the project's mixer, the same for every build.
    let order = (0..<packets).map { Int(SeededHash.mix(seed: UInt64(peers), UInt64($0), 0, 0) % UInt64(peers)) }
    let table = TrafficTable(maxSeries: maxSeries)
    // Every peer in the table first: the runs measure lookups of series that exist.
    for key in keys { table.add(key, bytes: 46) }
    let batchKeys = UnsafeMutablePointer<TrafficKey>.allocate(capacity: batch)
    let hashes = UnsafeMutablePointer<UInt64>.allocate(capacity: batch)
    let bytes = UnsafeMutablePointer<UInt64>.allocate(capacity: batch)
    bytes.initialize(repeating: 46, count: batch)
    var times: [Double] = []
    for _ in 0..<runs {
        let start = cpuSeconds()
        var queued = 0
        for index in order {
            let key = keys[index]
            let hash = table.hash(key)
            table.prefetch(hash: hash)
            batchKeys[queued] = key
            hashes[queued] = hash
            queued += 1
            if queued == batch {
                table.add(batch: batchKeys, hashes: hashes, bytes: bytes, count: queued)
                queued = 0
            }
        }
        if queued > 0 { table.add(batch: batchKeys, hashes: hashes, bytes: bytes, count: queued) }
        times.append(cpuSeconds() - start)
    }
    let counted = keys.reduce(UInt64(0)) { $0 + (table.counters(for: $1)?.packets ?? 0) }
    precondition(counted == UInt64(peers) + UInt64(packets * runs), "the table lost packets")
    let footprint = Double(table.memoryFootprint) / 1_048_576
    print("  \(peers) peers: \(String(format: "%.1f", median(times) / Double(packets) * 1e9)) ns/packet, table \(String(format: "%.1f", footprint)) MiB")
    batchKeys.deallocate()
    hashes.deallocate()
    bytes.deallocate()
}
