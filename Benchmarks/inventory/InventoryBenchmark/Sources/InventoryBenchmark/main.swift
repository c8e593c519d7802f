// Measures the inventory module in a release build:
//   swift run -c release -j 2 --package-path Benchmarks/inventory/InventoryBenchmark
// Prints lookups per second for the prefix trie (100,000 entries), the snapshot and the
// per-peer cache, a linear scan side by side with the trie on a smaller table, and the
// parse time of 100,000-entry bodies in both formats.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Inventory
import NetAddress

/// SplitMix64: deterministic, so every run measures the same tables and addresses.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

var random = SeededGenerator(state: 0xC0FFEE)

/// A fleet-like mix: mostly single hosts, some subnets, a tenth IPv6.
func makeEntries(_ count: Int, using random: inout SeededGenerator) -> [InventoryEntry] {
    (0..<count).map { index in
        let roll = Int.random(in: 0..<100, using: &random)
        let network: IPNetwork
        switch roll {
        case 0..<60:
            network = IPNetwork(address: IPAddress(ipv4: 0x0A00_0000 | UInt32.random(in: 0..<0x0100_0000, using: &random)), prefixLength: 32)!
        case 60..<80:
            let length = [8, 12, 16, 20, 22, 24, 26, 28].randomElement(using: &random)!
            network = IPNetwork(address: IPAddress(ipv4: UInt32.random(in: 0...UInt32.max, using: &random)), prefixLength: length)!
        case 80..<90:
            network = IPNetwork(address: IPAddress(high: 0x2001_0DB8_0000_0000 | (random.next() & 0xFFFF_FFFF), low: random.next()), prefixLength: 128)!
        default:
            let length = [32, 40, 48, 56, 64].randomElement(using: &random)!
            network = IPNetwork(address: IPAddress(high: 0x2001_0DB8_0000_0000 | (random.next() & 0xFFFF_FFFF), low: 0), prefixLength: length)!
        }
        return InventoryEntry(network: network, host: InventoryHost(hostgroup: "group\(index % 500)", domain: "host\(index).service.consul"),
                              isCIDRNotation: network.prefixLength != (network.address.isIPv4 ? 32 : 128))
    }
}

/// Peers a scrape would see: half inside inventory networks, half anywhere (mostly misses).
func makeAddresses(_ count: Int, from entries: [InventoryEntry], using random: inout SeededGenerator) -> [IPAddress] {
    (0..<count).map { _ in
        let entry = entries.randomElement(using: &random)!
        if Bool.random(using: &random) {
            let noise = IPAddress(high: random.next(), low: random.next())
            let mask = IPAddress(high: ~0, low: ~0).masked(toBits: entry.network.bits)
            return IPAddress(high: entry.network.address.high | (noise.high & ~mask.high),
                             low: entry.network.address.low | (noise.low & ~mask.low))
        }
        return entry.network.address.isIPv4
            ? IPAddress(ipv4: UInt32.random(in: 0...UInt32.max, using: &random))
            : IPAddress(high: 0x2001_0DB8_0000_0000 | (random.next() & 0xFFFF_FFFF), low: random.next())
    }
}

/// This thread's CPU time in seconds: on a shared, loaded machine it leaves out the time
/// the benchmark waited for a core, which wall time would count.
func threadCPUSeconds() -> Double {
    var spec = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &spec)
    return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
}

/// Best of `rounds` CPU timings of `body`, in seconds, with the best wall time beside it;
/// `body` returns a checksum so the work stays.
func measure(rounds: Int = 5, _ body: () -> Int) -> (seconds: Double, wall: Double, checksum: Int) {
    var best = Double.infinity
    var bestWall = Double.infinity
    var checksum = 0
    for _ in 0..<rounds {
        let clock = ContinuousClock()
        let start = clock.now
        let cpuStart = threadCPUSeconds()
        checksum = body()
        best = min(best, threadCPUSeconds() - cpuStart)
        let elapsed = clock.now - start
        bestWall = min(bestWall, Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
    }
    return (best, bestWall, checksum)
}

func rate(_ count: Int, _ measured: (seconds: Double, wall: Double, checksum: Int)) -> String {
    func millions(_ seconds: Double) -> String { "\(Double(Int(Double(count) / seconds / 1e4)) / 100)" }
    return "\(millions(measured.seconds)) million/s (CPU; wall \(millions(measured.wall)))"
}

func hostgroupLength(_ host: InventoryHost?) -> Int { host?.hostgroup.utf8.count ?? 0 }

// --- Lookups over 100,000 entries -------------------------------------------------------
let entries = makeEntries(100_000, using: &random)
let addresses = makeAddresses(1_000_000, from: entries, using: &random)

var table = PrefixTable<Int>()
for (index, entry) in entries.enumerated() { table.insert(entry.network, index) }
let insertionOrder = table
table.optimizeLayout()
let inventory = Inventory(entries: entries)

print("entries: \(entries.count) (\(table.count) distinct networks); lookups per round: \(addresses.count)")
let unordered = measure { addresses.reduce(0) { $0 &+ (insertionOrder.lookup($1) ?? -1) } }
print("PrefixTable<Int>.lookup, insertion layout:   \(rate(addresses.count, unordered))  (checksum \(unordered.checksum))")
let trie = measure { addresses.reduce(0) { $0 &+ (table.lookup($1) ?? -1) } }
print("PrefixTable<Int>.lookup, 100k entries:        \(rate(addresses.count, trie))  (checksum \(trie.checksum))")
let snapshot = measure { addresses.reduce(0) { $0 &+ hostgroupLength(inventory.lookup($1)) } }
print("Inventory.lookup, 100k entries:               \(rate(addresses.count, snapshot))  (checksum \(snapshot.checksum))")

// A scrape: 50,000 series over 5,000 distinct peers, cache warm after the first pass.
let peers = Array(addresses.prefix(5_000))
let series = (0..<50_000).map { peers[$0 % peers.count] }
let cache = InventoryLabelCache()
let cached = measure { series.reduce(0) { $0 &+ cache.host(for: $1, in: inventory).hostgroup.utf8.count } }
print("InventoryLabelCache, 50k series/5k peers:     \(rate(series.count, cached)) = \(Int(cached.seconds * 1e6)) µs CPU per scrape  (checksum \(cached.checksum))")

// --- Side by side with a linear scan (the Go original's CIDR search) on a smaller table ---
let smallCount = 1_000
let small = Array(entries.prefix(smallCount))
let smallAddresses = makeAddresses(100_000, from: small, using: &random)
var smallTable = PrefixTable<Int>()
for (index, entry) in small.enumerated() { smallTable.insert(entry.network, index) }
let smallTrie = measure { smallAddresses.reduce(0) { $0 &+ (smallTable.lookup($1) ?? -1) } }
let linear = measure(rounds: 3) {
    smallAddresses.reduce(0) { sum, address in
        var best = -1
        var bestLength = -1
        for (index, entry) in small.enumerated() where entry.network.prefixLength >= bestLength && entry.network.contains(address) {
            best = index
            bestLength = entry.network.prefixLength
        }
        return sum &+ best
    }
}
print("\(smallCount) entries: PrefixTable \(rate(smallAddresses.count, smallTrie)), linear scan \(rate(smallAddresses.count, linear)); trie/linear = \(Int(linear.seconds / smallTrie.seconds))x  (checksums \(smallTrie.checksum) \(linear.checksum))")
precondition(smallTrie.checksum == linear.checksum, "trie and linear scan disagree")

// --- Parsing 100,000-entry bodies -----------------------------------------------------
func jsonObject(_ entry: InventoryEntry) -> String {
    let address = entry.isCIDRNotation ? "\(entry.network)" : "\(entry.network.address)"
    return #"{"ip_address":"\#(address)","domain":"\#(entry.host.domain)","hostgroup":"\#(entry.host.hostgroup)"}"#
}
let ndjson = Array(entries.map(jsonObject).joined(separator: "\n").utf8)
let arrayjson = Array(("[\n" + entries.map(jsonObject).joined(separator: ",\n") + "\n]").utf8)
for (format, body) in [(InventoryFormat.arrayjson, arrayjson), (.ndjson, ndjson)] {
    let parse = measure(rounds: 3) { (try? InventoryParser.parse(body, format: format))?.entries.count ?? -1 }
    precondition(parse.checksum == entries.count, "parse lost entries")
    let parsed = try! InventoryParser.parse(body, format: format)
    let build = measure(rounds: 3) { Inventory(entries: parsed.entries).networkCount }
    print("parse \(format) 100k entries (\(body.count / 1024) KiB): \(Int(parse.seconds * 1000)) ms CPU (wall \(Int(parse.wall * 1000))); Inventory build: \(Int(build.seconds * 1000)) ms CPU")
}
