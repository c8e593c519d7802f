import NIOCore
import PlanetMetrics
import Synchronization
import Testing
@testable import Listener
@testable import Web

/// A holder that records its release and reports `readers` clients cut.
private final class Holder: HeldResponse {
    let readers: Int
    private let released = Mutex(false)
    init(readers: Int = 1) { self.readers = readers }
    var wasReleased: Bool { released.withLock { $0 } }
    func release() -> Int {
        released.withLock { $0 = true }
        return readers
    }
}

@Suite struct ResponseMemoryTests {
    @Test func theOldestHoldersAreReleasedPastTheLimit() {
        let memory = ResponseMemory(limit: 100)
        let holders = (0..<4).map { Holder(readers: $0) }
        memory.add(40, heldBy: holders[0])
        memory.add(40, heldBy: holders[1])
        #expect(memory.reading.heldBytes == 80)
        #expect(!holders[0].wasReleased)
        // 120 > 100: the oldest (holders[0], 0 readers) goes, 80 remain.
        memory.add(40, heldBy: holders[2])
        #expect(holders[0].wasReleased && !holders[1].wasReleased && !holders[2].wasReleased)
        #expect(memory.reading == .init(heldBytes: 80, limit: 100, cutClients: 0))
        // Growing an older holder releases the oldest other one, not itself.
        memory.add(30, heldBy: holders[2])
        #expect(holders[1].wasReleased && !holders[2].wasReleased)
        #expect(memory.reading == .init(heldBytes: 70, limit: 100, cutClients: 1))
        // A holder larger than the limit alone is kept; every other is released.
        memory.add(500, heldBy: holders[3])
        #expect(holders[2].wasReleased && !holders[3].wasReleased)
        #expect(memory.reading == .init(heldBytes: 500, limit: 100, cutClients: 3))
        memory.remove(ObjectIdentifier(holders[3]))
        #expect(memory.reading.heldBytes == 0)
        // Forgetting a released holder again changes nothing.
        memory.remove(ObjectIdentifier(holders[0]))
        #expect(memory.reading == .init(heldBytes: 0, limit: 100, cutClients: 3))
    }

    @Test func aRenderingIsForgottenWhenNothingHoldsIt() async throws {
        let registry = MetricsRegistry(collectors: [ManySeriesCollector(series: 500)], version: "0.1.0", revision: "test")
        let memory = ResponseMemory(limit: .max)
        let shared = SharedRendering(registry: registry, maxAge: .zero, gzip: false, memory: memory)
        do {
            let rendering = shared.rendering()
            var bytes = 0
            try await rendering.send { bytes += $0.readableBytes }
            #expect(memory.reading.heldBytes == bytes)
            #expect(bytes > 500 * 10)
        }
        // The renderer drops it once maxAge (zero) passed after it finished.
        let deadline = ContinuousClock.now + .seconds(20)
        while memory.reading.heldBytes != 0 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        #expect(memory.reading.heldBytes == 0)
    }

    /// Slow readers each holding their own plain rendering: past the bound the oldest
    /// rendering is released, its reader stops with an error (its connection is closed,
    /// not ended as if whole) and the memory held stays near the bound.
    @Test func aSlowReaderOfAnOldRenderingIsCut() async throws {
        let registry = MetricsRegistry(collectors: [ManySeriesCollector(series: 2_000)], version: "0.1.0", revision: "test")
        let size = await registry.render().count
        let memory = ResponseMemory(limit: size + size / 2)
        let shared = SharedRendering(registry: registry, maxAge: .seconds(3600), gzip: false, shareFinished: false, memory: memory)

        let first = shared.rendering()
        // A client that reads the first part and then stops reading until let go.
        let (gate, letGo) = AsyncStream.makeStream(of: Void.self)
        let (started, firstPartRead) = AsyncStream.makeStream(of: Void.self)
        let slow = Task {
            var parts = 0
            try await first.send { _ in
                parts += 1
                if parts == 1 {
                    firstPartRead.yield()
                    for await _ in gate { break }
                }
            }
            return parts
        }
        for await _ in started { break }
        while !first.isFinished { try await Task.sleep(for: .milliseconds(5)) }
        // The exposition's own durations make renderings differ by a few bytes.
        #expect(abs(memory.reading.heldBytes - size) < 64)

        // A second scrape renders afresh (plain renderings are shared only in progress);
        // the two pass the bound, so the first is released.
        let second = shared.rendering()
        try await second.send { _ in }
        #expect(first.isReleased)
        #expect(!second.isReleased)
        #expect(abs(memory.reading.heldBytes - size) < 64)
        letGo.yield()
        await #expect(throws: SharedRendering.Rendering.Released.self) { _ = try await slow.value }
        #expect(memory.reading.cutClients == 1)
        // A released rendering is never handed to a new scrape.
        #expect(shared.rendering() !== first)
    }
}
