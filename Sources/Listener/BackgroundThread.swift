import Diagnostics
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// One thread of its own, at a lower scheduling priority than the rest of the process,
/// that runs jobs in turn: for work an outside client can ask for in bulk (a bcrypt check
/// per wrong password) that must not take CPU from capture. The thread's nice value is
/// raised (on Linux, setpriority on a thread id applies to that thread only), so when it
/// and the capture threads both want a CPU, within the unit's CPUQuota too, the scheduler
/// gives the capture threads about nine tenths of it. The thread ends when its owner goes.
final class BackgroundThread: Sendable {
    /// The nice value of the thread: 10, a weight of 110 against 1024 at nice 0.
    static let niceness: Int32 = 10

    private final class Queue: Sendable {
        /// Jobs not run yet, urgent ones first; the semaphore is signalled once per job,
        /// and once more when the owner goes (a signal with no job ends the thread).
        let jobs = Mutex<(urgent: [@Sendable () -> Void], other: [@Sendable () -> Void])>(([], []))
        let ready = DispatchSemaphore(value: 0)
        /// The thread's nice value once it has set it; nil before.
        let niceness = Mutex<Int32?>(nil)
    }

    private let queue = Queue()

    init(name: String) {
        let queue = self.queue
        let thread = Thread {
            #if os(Linux)
            // Named here: a new thread starts with its creator's name.
            nameCurrentThread(name)
            // Who 0 is the calling thread: on Linux the nice value is a thread's.
            let which = __priority_which_t(PRIO_PROCESS.rawValue)
            _ = setpriority(which, 0, max(getpriority(which, 0), Self.niceness))
            queue.niceness.withLock { $0 = getpriority(which, 0) }
            #endif
            while true {
                queue.ready.wait()
                let job = queue.jobs.withLock { jobs -> (@Sendable () -> Void)? in
                    if !jobs.urgent.isEmpty { return jobs.urgent.removeFirst() }
                    return jobs.other.isEmpty ? nil : jobs.other.removeFirst()
                }
                guard let job else { return }
                job()
            }
        }
        thread.start()
    }

    deinit { queue.ready.signal() }

    /// Runs `job` on the thread after the jobs before it; an urgent job runs before
    /// every job that is not.
    func async(urgent: Bool = false, _ job: @escaping @Sendable () -> Void) {
        queue.jobs.withLock { jobs in
            if urgent { jobs.urgent.append(job) } else { jobs.other.append(job) }
        }
        queue.ready.signal()
    }

    /// The thread's nice value, once it started; for tests.
    var niceness: Int32? { queue.niceness.withLock { $0 } }
}
