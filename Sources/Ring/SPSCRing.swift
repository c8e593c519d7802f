import Atomics

/// A lock-free ring of trivially copyable values between exactly one producer thread
/// and exactly one consumer thread (a capture thread and the aggregator).
///
/// The storage is allocated once. The producer's index and the consumer's index live on
/// separate cache lines, and each side keeps a private copy of the other side's index,
/// refreshed only when the ring looks full (producer) or empty (consumer), so in the
/// steady state neither side reads the line the other one writes.
///
/// Calling the producer methods (`tryPush`, `push`) from more than one thread at a time,
/// or the consumer methods (`pop`, `drain`) from more than one thread at a time, is a
/// data race.
/// `@unchecked Sendable`: the indices are atomics with acquire/release ordering, and each
/// slot is written by the producer before it publishes the index the consumer reads.
public final class SPSCRing<Element: BitwiseCopyable>: @unchecked Sendable {
    /// The number of elements the ring holds: a power of two.
    public let capacity: Int
    @usableFromInline let mask: Int
    @usableFromInline let slots: UnsafeMutablePointer<Element>
    @usableFromInline let control: UnsafeMutableRawPointer
    /// Next slot the producer writes; written by the producer only.
    @usableFromInline let tail: UnsafeAtomic<Int>
    /// Elements dropped by `push`; written by the producer only.
    @usableFromInline let dropped: UnsafeAtomic<UInt64>
    /// The producer's last look at `head`.
    @usableFromInline let producerCachedHead: UnsafeMutablePointer<Int>
    /// Next slot the consumer reads; written by the consumer only.
    @usableFromInline let head: UnsafeAtomic<Int>
    /// The consumer's last look at `tail`.
    @usableFromInline let consumerCachedTail: UnsafeMutablePointer<Int>
    /// What the producer rings after pushing a batch, when the consumer sleeps on it.
    public let wakeUp: WakeUp?

    /// 128 bytes: a cache line pair, since x86 prefetches lines in adjacent pairs and
    /// Apple silicon lines are 128 bytes.
    @usableFromInline static var lineSize: Int { 128 }

    /// A ring holding `minimumCapacity` elements, rounded up to a power of two, whose
    /// consumer may sleep on `wakeUp`. `minimumCapacity` must be in 1...2^32.
    public init(minimumCapacity: Int, wakeUp: WakeUp? = nil) {
        self.wakeUp = wakeUp
        precondition((1...(1 << 32)).contains(minimumCapacity), "SPSCRing capacity must be in 1...2^32")
        var capacity = 1
        while capacity < minimumCapacity { capacity <<= 1 }
        self.capacity = capacity
        self.mask = capacity - 1
        self.slots = .allocate(capacity: capacity)
        let line = Self.lineSize
        self.control = .allocate(byteCount: 2 * line, alignment: line)
        // Producer line: tail, drop counter, cached head. Consumer line: head, cached tail.
        self.tail = UnsafeAtomic(at: control.initializeMemory(as: Int.AtomicRepresentation.self, to: .init(0)))
        self.dropped = UnsafeAtomic(
            at: (control + 8).initializeMemory(as: UInt64.AtomicRepresentation.self, to: .init(0)))
        self.producerCachedHead = (control + 16).initializeMemory(as: Int.self, to: 0)
        self.head = UnsafeAtomic(
            at: (control + line).initializeMemory(as: Int.AtomicRepresentation.self, to: .init(0)))
        self.consumerCachedTail = (control + line + 8).initializeMemory(as: Int.self, to: 0)
    }

    deinit {
        // Elements are BitwiseCopyable and the atomics' storage holds plain integers,
        // so there is nothing to deinitialize before freeing.
        slots.deallocate()
        control.deallocate()
    }

    /// Producer: appends `element`, or returns false when the ring is full.
    @inlinable
    public func tryPush(_ element: Element) -> Bool {
        guard let slot = reserve() else { return false }
        slot.initialize(to: element)
        publish()
        return true
    }

    /// Producer: appends `element`; when the ring is full, drops it, counts the drop in
    /// `droppedCount` and returns false.
    @inlinable
    @discardableResult
    public func push(_ element: Element) -> Bool {
        if tryPush(element) { return true }
        countDrop()
        return false
    }

    /// Producer: the slot the next element goes in, or nil when the ring is full. Writing
    /// the element there and calling `publish()` appends it without a copy (a decoder
    /// writing its output in place); until then the consumer does not see the slot, and a
    /// slot left unpublished is simply reused.
    @inlinable
    public func reserve() -> UnsafeMutablePointer<Element>? {
        let position = tail.load(ordering: .relaxed)
        if position &- producerCachedHead.pointee > mask {
            producerCachedHead.pointee = head.load(ordering: .acquiring)
            if position &- producerCachedHead.pointee > mask { return nil }
        }
        return slots + (position & mask)
    }

    /// Producer: appends the element written in the slot `reserve()` returned.
    @inlinable
    public func publish() {
        tail.store(tail.load(ordering: .relaxed) &+ 1, ordering: .releasing)
    }

    /// Producer: counts in `droppedCount` an element dropped because `reserve()` found the
    /// ring full.
    @inlinable
    public func countDrop() {
        // Only the producer writes the counter, so a plain load and store suffice; the
        // atomic store makes the value safe to read from any thread.
        dropped.store(dropped.load(ordering: .relaxed) &+ 1, ordering: .relaxed)
    }

    /// Elements `push` has dropped because the ring was full. Readable from any thread.
    @inlinable
    public var droppedCount: UInt64 { dropped.load(ordering: .relaxed) }

    /// Consumer: removes and returns the oldest element, or nil when the ring is empty.
    @inlinable
    public func pop() -> Element? {
        let position = head.load(ordering: .relaxed)
        if position == consumerCachedTail.pointee {
            consumerCachedTail.pointee = tail.load(ordering: .acquiring)
            if position == consumerCachedTail.pointee { return nil }
        }
        let element = slots[position & mask]
        head.store(position &+ 1, ordering: .releasing)
        return element
    }

    /// Consumer: hands up to `max` of the oldest elements to `body`, in order, then
    /// frees their slots with one index update. Returns how many were handed over.
    /// `body` must not call back into this ring's consumer methods.
    @inlinable
    @discardableResult
    public func drain(max: Int, _ body: (Element) -> Void) -> Int {
        let position = head.load(ordering: .relaxed)
        var available = consumerCachedTail.pointee &- position
        if available < max {
            consumerCachedTail.pointee = tail.load(ordering: .acquiring)
            available = consumerCachedTail.pointee &- position
        }
        let taken = Swift.min(available, max)
        guard taken > 0 else { return 0 }
        for index in 0..<taken {
            body(slots[(position &+ index) & mask])
        }
        head.store(position &+ taken, ordering: .releasing)
        return taken
    }

    /// Consumer: true when the ring holds nothing, looking at the producer's index now
    /// (not at the consumer's cached copy).
    @inlinable
    public var isEmpty: Bool {
        head.load(ordering: .relaxed) == tail.load(ordering: .acquiring)
    }

    /// Elements waiting, as seen at one moment: exact on the consumer's thread when the
    /// producer is idle, an estimate otherwise.
    @inlinable
    public var approximateCount: Int {
        let consumed = head.load(ordering: .relaxed)
        return tail.load(ordering: .relaxed) &- consumed
    }
}
