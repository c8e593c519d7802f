// The agent's state file (Sources/Traffic/StateFile.swift) at its largest: the size of
// one save and its CPU, with the DNS table full at the default 16,384 addresses, every
// TCP server slot offered, every history bucket filled; and the CPU of reading it back
// at start. Run: swift run -c release StateBenchmark [DIRECTORY]   (default /var/tmp)
#if canImport(Glibc)
import Glibc
#endif
import Diagnostics
import NetAddress
import Traffic

func cpuSeconds() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
}

func wallSeconds() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
}

func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

let directory = CommandLine.arguments.count > 1 ? CommandLine.arguments[1] : "/var/tmp"
let path = directory + "/planet-state-benchmark-\(getpid()).state"
let now = 1_800_000_000.0
let dnsNames = 16384
let runs = 20

/// A full state: `dnsNames` addresses, each with a name of its own `nameLength` bytes long.
func fullState(nameLength: Int) -> AgentState {
    var history: [HistoryRange: [HistoryBucket]] = [:]
    for range in HistoryRange.allCases {
        let newest = Int64(now) / range.bucketSeconds * range.bucketSeconds
        history[range] = (0..<range.bucketCount).map { age in
            HistoryBucket(start: newest - Int64(range.bucketCount - 1 - age) * range.bucketSeconds,
                          ingressBytes: UInt64(1_000_000 + age), egressBytes: UInt64(2_000_000 + age))
        }
    }
    let names = (0..<dnsNames).map { index in
        let prefix = "host-\(index)."
        let name = prefix + String(repeating: "a", count: max(1, nameLength - prefix.count - 8)) + ".example"
        return SavedDNSName(address: IPAddress(ipv4: 0x0A00_0000 + UInt32(index)), name: name, expiry: Int64(now) + 300)
    }
    let servers = (0..<16384).map { ServerEndpoint(address: IPAddress(ipv4: 0xC0A8_0000 + UInt32($0)), port: 443) }
    return AgentState(history: history, dnsNames: names,
                      learned: LearnedServers(tcpServers: servers, udpServerPorts: Array(40000..<40100)))
}

print("state file, \(dnsNames) DNS names, \(runs) saves each; median per save (CPU of this process, wall)")
for (label, nameLength) in [("names of 30 bytes", 30), ("names of 253 bytes (the longest)", 253)] {
    let aggregator = TrafficAggregator(
        accounting: TrafficAccounting(maxSeries: 10, localAddresses: LocalAddresses(addresses: [], networks: [])),
        maxDNSNames: dnsNames)
    let history = TrafficHistory()
    let restored = aggregator.restore(fullState(nameLength: nameLength), history: history, at: now)
    var cpu: [Double] = [], wall: [Double] = [], size = 0
    for _ in 0..<runs {
        let (c0, w0) = (cpuSeconds(), wallSeconds())
        let bytes = StateFile.encode(aggregator.savedState(history: history), host: "benchmark", savedAt: Int64(now))
        try replaceFile(path, with: bytes)
        cpu.append(cpuSeconds() - c0)
        wall.append(wallSeconds() - w0)
        size = bytes.count
    }
    var readCPU: [Double] = []
    for _ in 0..<runs {
        let c0 = cpuSeconds()
        let bytes = try readFile(path, limit: StateFile.maxBytes(dnsNames: dnsNames), followingSymlinks: false)
        let state = try StateFile.decode(bytes, host: "benchmark", maxBytes: StateFile.maxBytes(dnsNames: dnsNames)).state
        let fresh = TrafficAggregator(
            accounting: TrafficAccounting(maxSeries: 10, localAddresses: LocalAddresses(addresses: [], networks: [])),
            maxDNSNames: dnsNames)
        _ = fresh.restore(state, history: TrafficHistory(), at: now)
        readCPU.append(cpuSeconds() - c0)
    }
    unlink(path)
    let held = restored.map { "\($0.key.rawValue) \($0.value)" }.sorted().joined(separator: ", ")
    print("\(label): \(size) bytes (\(held)); save \(String(format: "%.1f", median(cpu) * 1000)) ms CPU, "
        + "\(String(format: "%.1f", median(wall) * 1000)) ms wall; read and restore \(String(format: "%.1f", median(readCPU) * 1000)) ms CPU")
}
