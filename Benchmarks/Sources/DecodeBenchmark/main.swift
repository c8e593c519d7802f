// Measures the capture hot path in a release build: ns per decoded frame (Swift decoder
// next to a minimal C decoder over the same Ethernet frames), ns per ring operation,
// and heap allocations per operation, which must be zero.
import CBenchmarkSupport
import Dispatch
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import PacketDecoding
import Ring

/// The frame mix: (name, link type, captured bytes as hex with trailing zeros dropped,
/// captured length, wire length).
let frameMix: [(String, LinkType, String, Int, Int)] = [
    ("Ethernet IPv4 TCP (cut at 128)", .ethernet,
     "0200000000020200000000010800450005a012340000400600000a000001c0a80102a8ca01bb000003e8000000005010ffff", 128, 1454),
    ("Ethernet 802.1Q IPv4 UDP", .ethernet,
     "0200000000020200000000018100006408004500003a12340000401100000a000001c0a801029c4000350026", 76, 76),
    ("Ethernet IPv6 TCP (cut at 128)", .ethernet,
     "02000000000202000000000186dd6000000004c4064020010db800000000000000000000000120010db8000100000000000000000002a8ca01bb000003e8000000005010ffff", 128, 1274),
    ("Ethernet IPv6 hop-by-hop + fragment UDP", .ethernet,
     "02000000000202000000000186dd600000000040004020010db800000000000000000000000120010db80001000000000000000000022c000000000000001100000100000009138817700030", 118, 118),
    ("Ethernet IPv4 later fragment", .ethernet,
     "0200000000020200000000010800450000dc123400b9401100000a000001c0a80102", 234, 234),
    ("Ethernet ARP", .ethernet, "020000000002020000000001080600", 42, 60),
    ("Ethernet IPv4 TCP with options", .ethernet,
     "02000000000202000000000108004800003412340000400600000a000001c0a80102010101010101010101010101a8ca01bb000003e8000000005010ffff", 66, 66),
    ("Linux SLL IPv4 TCP", .linuxSLL,
     "000000010006020000000001000008004500002812340000400600000a000001c0a80102a8ca01bb000003e8000000005010ffff", 56, 56),
]

/// The frames laid out as in a pcap read buffer: each after a 16-byte record header.
struct FrameBuffer {
    let storage: UnsafeMutableRawBufferPointer
    let frames: [(offset: Int, captured: Int, wire: Int, linkType: LinkType)]

    init(_ mix: [(String, LinkType, String, Int, Int)]) {
        storage = .allocate(byteCount: mix.reduce(0) { $0 + 16 + $1.3 }, alignment: 16)
        storage.initializeMemory(as: UInt8.self, repeating: 0)
        var offset = 0
        var frames = [(offset: Int, captured: Int, wire: Int, linkType: LinkType)]()
        for (_, linkType, hex, captured, wire) in mix {
            offset += 16
            var index = hex.startIndex
            var byte = offset
            while index < hex.endIndex {
                let next = hex.index(index, offsetBy: 2)
                storage[byte] = UInt8(hex[index..<next], radix: 16)!
                byte += 1
                index = next
            }
            frames.append((offset, captured, wire, linkType))
            offset += captured
        }
        self.frames = frames
    }

    func frame(_ index: Int) -> UnsafeRawBufferPointer {
        let frame = frames[index]
        return UnsafeRawBufferPointer(rebasing: storage[frame.offset..<(frame.offset + frame.captured)])
    }
}

struct Measurement {
    var nanosecondsPerOperation: Double
    var mallocsPerOperation: Double
}

/// Runs each body (each performs `operations` operations) `rounds` times, the bodies
/// taking turns so that they share the machine's moments of contention, and keeps each
/// body's fastest round; allocations are counted over all rounds.
func measure(operations: Int, rounds: Int = 15, _ bodies: [() -> Void]) -> [Measurement] {
    for body in bodies { body() }  // warm-up
    var best = [Duration](repeating: .seconds(1_000_000), count: bodies.count)
    var mallocs = [UInt64](repeating: 0, count: bodies.count)
    for _ in 0..<rounds {
        for (index, body) in bodies.enumerated() {
            let mallocsBefore = benchmark_malloc_count()
            let start = ContinuousClock.now
            body()
            let elapsed = ContinuousClock.now - start
            mallocs[index] += benchmark_malloc_count() - mallocsBefore
            best[index] = min(best[index], elapsed)
        }
    }
    return zip(best, mallocs).map { duration, mallocs in
        let (seconds, attoseconds) = duration.components
        let nanoseconds = Double(seconds) * 1e9 + Double(attoseconds) / 1e9
        return Measurement(
            nanosecondsPerOperation: nanoseconds / Double(operations),
            mallocsPerOperation: Double(mallocs) / Double(operations * rounds))
    }
}

/// One body measured alone.
func measure(operations: Int, rounds: Int = 15, _ body: @escaping () -> Void) -> Measurement {
    measure(operations: operations, rounds: rounds, [body])[0]
}

func report(_ name: String, _ measurement: Measurement, unit: String) {
    let ns = (measurement.nanosecondsPerOperation * 100).rounded() / 100
    print("\(name): \(ns) ns/\(unit), mallocs/\(unit) \(measurement.mallocsPerOperation)")
}

let buffer = FrameBuffer(frameMix)
let ethernetFrames = buffer.frames.indices.filter { buffer.frames[$0].linkType == .ethernet }
let passes = 400_000
// Every loop sums into a local and adds to this global once: a global written inside
// the loop would cost a dynamic exclusivity check per iteration.
var checksum: UInt64 = 0

/// The Swift decoder over `indices`, `passes` times.
@MainActor
func swiftDecoderLoop(_ indices: [Int]) -> () -> Void {
    {
        var summary = PacketSummary()
        var sum: UInt64 = 0
        for _ in 0..<passes {
            for index in indices {
                let frame = buffer.frames[index]
                if PacketDecoder.decode(buffer.frame(index), wireLength: frame.wire, linkType: frame.linkType, into: &summary) == .ok {
                    sum &+= UInt64(summary.ipBytes) &+ UInt64(summary.sourcePort)
                }
            }
        }
        checksum &+= sum
    }
}

let allFrames = Array(buffer.frames.indices)
let swiftAll = measure(operations: passes * allFrames.count, swiftDecoderLoop(allFrames))
// The Swift decoder and the C reference over the Ethernet frames, side by side.
let cEthernetLoop = {
    var summary = reference_summary()
    var sum: UInt64 = 0
    for _ in 0..<passes {
        for index in ethernetFrames {
            let frame = buffer.frames[index]
            let bytes = buffer.frame(index)
            if reference_decode_ethernet(bytes.baseAddress!.assumingMemoryBound(to: UInt8.self), bytes.count, frame.wire, &summary) == 0 {
                sum &+= UInt64(summary.ip_bytes) &+ UInt64(summary.source_port)
            }
        }
    }
    checksum &+= sum
}
let ethernet = measure(operations: passes * ethernetFrames.count, [swiftDecoderLoop(ethernetFrames), cEthernetLoop])
let (swiftEthernet, cEthernet) = (ethernet[0], ethernet[1])

// Ring: one push and one pop at a time, then batches of 64 pushes and one drain, on
// one thread; then two threads streaming through a 4096-slot ring.
let ring = SPSCRing<PacketSummary>(minimumCapacity: 4096)
let ringOperations = 10_000_000
let pushPop = measure(operations: ringOperations) {
    var element = PacketSummary()
    var sum: UInt64 = 0
    for index in 0..<ringOperations {
        element.ipBytes = UInt32(truncatingIfNeeded: index)
        ring.push(element)
        if let popped = ring.pop() { sum &+= UInt64(popped.ipBytes) }
    }
    checksum &+= sum
}
let batched = measure(operations: ringOperations) {
    var element = PacketSummary()
    var sum: UInt64 = 0
    for index in 0..<(ringOperations / 64) {
        for item in 0..<64 {
            element.ipBytes = UInt32(truncatingIfNeeded: index &+ item)
            ring.push(element)
        }
        ring.drain(max: 64) { sum &+= UInt64($0.ipBytes) }
    }
    checksum &+= sum
}
let streamed = ringOperations
let twoThreads = measure(operations: streamed, rounds: 3) {
    let done = DispatchSemaphore(value: 0)
    let stream = SPSCRing<PacketSummary>(minimumCapacity: 4096)
    DispatchQueue.global().async {
        var summary = PacketSummary()
        var sent = 0
        while sent < streamed {
            summary.ipBytes = UInt32(truncatingIfNeeded: sent)
            // Yield when full: with fewer free cores than spinning threads, a spin
            // would burn the time slice the consumer needs.
            if stream.tryPush(summary) { sent += 1 } else { sched_yield() }
        }
        done.signal()
    }
    var received = 0
    var sum: UInt64 = 0
    while received < streamed {
        let taken = stream.drain(max: 256) { sum &+= UInt64($0.ipBytes) }
        if taken == 0 { sched_yield() }
        received += taken
    }
    done.wait()
    checksum &+= sum
}

print("PacketSummary stride: \(MemoryLayout<PacketSummary>.stride) bytes")
report("decode, mix of \(allFrames.count) frames (Swift)", swiftAll, unit: "packet")
report("decode, \(ethernetFrames.count) Ethernet frames (Swift)", swiftEthernet, unit: "packet")
report("decode, \(ethernetFrames.count) Ethernet frames (C reference)", cEthernet, unit: "packet")
print("Swift / C ratio: \((swiftEthernet.nanosecondsPerOperation / cEthernet.nanosecondsPerOperation * 100).rounded() / 100)")
report("ring push + pop (one thread)", pushPop, unit: "op")
report("ring 64 pushes + one drain (one thread)", batched, unit: "element")
report("ring two threads, tryPush / drain(256)", twoThreads, unit: "element")
print("checksum \(checksum)")
