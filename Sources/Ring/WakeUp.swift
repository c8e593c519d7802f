import Atomics

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Lets one consumer sleep while its rings are empty and be woken by their producers,
/// without a system call on the producer's side unless the consumer is asleep.
///
/// The producer calls `notify()` after publishing elements (once per batch, not per
/// element): while the consumer is awake that is a fence and one load. The consumer
/// calls `wait(whileEmpty:)`, which announces that it is going to sleep, looks at the
/// rings once more, and sleeps only when they are still empty. The announcement and
/// the producer's publication are both ordered by sequentially consistent fences, so
/// either the consumer sees the new elements or the producer sees the sleeper: a
/// wake-up is never lost.
/// `@unchecked Sendable`: its state is atomics and a pthread mutex and condition variable
/// allocated once, which are made to be shared between threads.
public final class WakeUp: @unchecked Sendable {
    /// True from the consumer's announcement until it is woken.
    private let sleeping = ManagedAtomic<Bool>(false)
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>
    /// Times the consumer actually went to sleep (for tests and self-checks).
    private let sleeps = ManagedAtomic<UInt64>(0)

    public init() {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
        condition = .allocate(capacity: 1)
        condition.initialize(to: pthread_cond_t())
        pthread_cond_init(condition, nil)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    /// Producer: wakes the consumer if it sleeps. Call after publishing elements.
    @inlinable
    public func notify() {
        atomicMemoryFence(ordering: .sequentiallyConsistent)
        if isConsumerSleeping { wake() }
    }

    @usableFromInline
    var isConsumerSleeping: Bool { sleeping.load(ordering: .relaxed) }

    /// Wakes the consumer whether or not anything was published (shutdown).
    public func wake() {
        pthread_mutex_lock(mutex)
        if sleeping.load(ordering: .relaxed) {
            sleeping.store(false, ordering: .relaxed)
            pthread_cond_signal(condition)
        }
        pthread_mutex_unlock(mutex)
    }

    /// Consumer: sleeps until `notify()` or `wake()`, unless `isEmpty()`, asked after
    /// announcing the sleep, says there is work already. Returns true when it slept.
    @discardableResult
    public func wait(whileEmpty isEmpty: () -> Bool) -> Bool {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        sleeping.store(true, ordering: .relaxed)
        atomicMemoryFence(ordering: .sequentiallyConsistent)
        guard isEmpty() else {
            sleeping.store(false, ordering: .relaxed)
            return false
        }
        sleeps.wrappingIncrement(ordering: .relaxed)
        // A producer clears `sleeping` under the mutex before signalling; anything else
        // that ends pthread_cond_wait is spurious.
        while sleeping.load(ordering: .relaxed) {
            pthread_cond_wait(condition, mutex)
        }
        return true
    }

    /// How many times the consumer has gone to sleep.
    public var sleepCount: UInt64 { sleeps.load(ordering: .relaxed) }
}
