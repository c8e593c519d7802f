import CPcap
import Diagnostics
import Foundation
import NetAddress
import PacketDecoding
import Ring
import Synchronization

/// What happens when the ring to the aggregator is full.
public enum RingFullPolicy: Sendable {
    /// Drop the packet and count it: live capture never blocks the kernel ring.
    case drop
    /// Wait for room: file replay must not lose packets.
    case wait
}

/// State the libpcap callback works on; plain memory so the per-packet path does no
/// reference counting and no allocation.
struct DispatchContext {
    /// Nil for a link type the decoder does not know: every frame counts as unsupported_link.
    var linkType: LinkType?
    var ring: Unmanaged<SPSCRing<PacketSummary>>
    var policy: RingFullPolicy
    var packets: UInt64 = 0
    /// The captured bytes of `packets` (what libpcap hands over, at most the snap length).
    var capturedBytes: UInt64 = 0
    var decoded: UInt64 = 0
    var undecoded: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)
    var bytes = CaptureTally()
    /// Where a packet is decoded when the ring has no room for it.
    var summary = PacketSummary()
    /// The time stamp of the latest packet decoded.
    var latestTimestamp: UInt64 = 0
    /// Where the answers of DNS responses go; nil when names are not wanted.
    var dnsRing: Unmanaged<SPSCRing<DNSAnswers>>?
    /// The queries seen to port 53, which responses must answer to name anything; set with `dnsRing`.
    var queries: Unmanaged<DNSQueryTable>?
    var dns = DNSTally()
    var answers = DNSAnswers()
    /// The host's addresses and local networks; nil while unknown. Freed by `run`.
    var local: LocalAddressMatch?
    /// Whether the handle captures a loopback interface, whose frames are all the host's own.
    var loopback = false

    /// Whether summaries leave marked with their `locality`: only where `local` is never
    /// behind the host's (a file, or a handle that `setLocalAddresses` wakes). Elsewhere
    /// the accounting looks the addresses up itself, with the addresses of the moment.
    var marksLocality = true

    /// Which of `summary`'s addresses are local (`PacketSummary.locality` bits); zero when
    /// the host's addresses are not known.
    @inline(__always)
    func locality(of summary: UnsafeMutablePointer<PacketSummary>) -> UInt8 {
        guard let local else { return 0 }
        return PacketSummary.localityKnown
            | (local.contains(summary.pointee.source) ? PacketSummary.sourceLocal : 0)
            | (local.contains(summary.pointee.destination) ? PacketSummary.destinationLocal : 0)
    }

    /// Whether `frame`, whose source address is `source`, claims to come from one of the
    /// host's addresses but was sent by another host: on Ethernet its sender is none of the
    /// host's interfaces' link-layer addresses, or it went to a group (broadcast or
    /// multicast) address, as no query the host sends to a server does; in a cooked
    /// capture (`any`) the kernel marks it as arriving, not leaving. Known only live, where
    /// the host's link-layer addresses are; loopback frames are all the host's own.
    func isSpoofedFromHost(_ frame: UnsafeRawBufferPointer, source: IPAddress) -> Bool {
        guard !loopback, let local, local.knowsHardwareAddresses, local.isHostAddress(source) else { return false }
        switch linkType?.sender(of: frame) {
        case .station(let hardware)?: return local.isForeign(hardwareAddress: hardware)
        case .group?, .arriving?: return true
        case .leaving?, .loopback?, .unknown?, nil: return false
        }
    }
}

/// Whether DNS between a client and a server is the host's own DNS service answering
/// another host: by a packet's `locality` bits, the server's address (bit `server`) is local
/// and the client's (bit `client`) is not. False while the host's addresses are unknown.
@inline(__always)
private func hostServes(client: UInt8, server: UInt8, _ locality: UInt8) -> Bool {
    locality & (PacketSummary.localityKnown | client | server) == PacketSummary.localityKnown | server
}

/// Remembers a DNS query (to port 53), or decodes a DNS response (from port 53) and, when it
/// answers a remembered query, hands its answers to the aggregator.
/// Out of line: the flood's packets only pay the port comparisons.
@inline(never)
private func handleDNS(_ context: UnsafeMutablePointer<DispatchContext>, _ decoded: UnsafePointer<PacketSummary>,
                       _ captured: UnsafeRawBufferPointer, locality: UInt8, wireLength: Int, seconds: Int) {
    guard let queries = context.pointee.queries else { return }
    // The summary is read field by field through the pointer, and copied whole only for the
    // host's own queries: the decoder has just written it field by field, and a copy's wide
    // loads, each spanning several of those stores, wait for them to reach the cache
    // instead of being forwarded from them.
    if decoded.pointee.destinationPort == 53 {
        // A query from another host to one of the host's addresses asks the host's own DNS
        // service: it is not the host's lookup, and a flood of them would crowd the host's
        // own queries out of the table. So would a flood of queries claiming one of the
        // host's addresses in frames another host sent: those are counted, not remembered.
        if !hostServes(client: PacketSummary.sourceLocal, server: PacketSummary.destinationLocal, locality),
           let id = DNSResponseDecoder.queryID(frame: captured, span: decoded.pointee.transportSpan) {
            if context.pointee.isSpoofedFromHost(captured, source: decoded.pointee.source) {
                context.pointee.dns.queriesSpoofed &+= 1
            } else {
                queries._withUnsafeGuaranteedRef { $0.record(query: decoded.pointee, id: id) }
            }
        }
    }
    // From port 53 (to port 53 too, one server asking another: a query, which the decoder
    // counts as such).
    guard decoded.pointee.sourcePort == 53 else { return }
    guard let status = DNSResponseDecoder.decode(frame: captured, span: decoded.pointee.transportSpan, wireLength: wireLength,
                                                 into: &context.pointee.answers)
    else { return }  // a TCP segment without data
    context.pointee.dns.count(status, droppedAddresses: context.pointee.answers.droppedAddresses)
    let named = status == .ok || status == .partial
    guard status.answersItsQuery else { return }
    // The host's DNS service answering another host: no query of the host's was asked, so
    // it names nothing and is not refused either.
    guard !hostServes(client: PacketSummary.destinationLocal, server: PacketSummary.sourceLocal, locality) else { return }
    // Every response answers its query, with addresses or without.
    let match = queries._withUnsafeGuaranteedRef {
        $0.match(client: decoded.pointee.destination, server: decoded.pointee.source, clientPort: decoded.pointee.destinationPort,
                 id: context.pointee.answers.id, ipProtocol: decoded.pointee.ipProtocol, at: decoded.pointee.timestamp)
    }
    guard named, let ring = context.pointee.dnsRing else { return }
    guard match == .matched else {
        context.pointee.dns.refused[Int(match.rawValue)] &+= 1
        return
    }
    DNSResponseDecoder.readQuestionName(frame: captured, span: decoded.pointee.transportSpan, into: &context.pointee.answers)
    context.pointee.answers.capturedAt = Int64(seconds)
    ring._withUnsafeGuaranteedRef { ring in
        if ring.tryPush(context.pointee.answers) { return }
        // The aggregator may be asleep: it is otherwise woken only after the whole
        // dispatch, which can hold far more responses than the 128 slots (a resolver's
        // host, or a capture of one). Without this a waiting reader would wait forever.
        ring.wakeUp?.notify()
        if context.pointee.policy == .drop {
            context.pointee.dns.ringDropped &+= 1
        } else {
            while !ring.tryPush(context.pointee.answers) { usleep(20) }
        }
    }
}

private func handlePacket(user: UnsafeMutablePointer<UInt8>?, header: UnsafePointer<pcap_pkthdr>?, bytes: UnsafePointer<UInt8>?) {
    guard let user, let header, let bytes else { return }
    let context = UnsafeMutableRawPointer(user).assumingMemoryBound(to: DispatchContext.self)
    context.pointee.packets &+= 1
    context.pointee.capturedBytes &+= UInt64(header.pointee.caplen)
    let captured = UnsafeRawBufferPointer(start: bytes, count: Int(header.pointee.caplen))
    context.pointee.ring._withUnsafeGuaranteedRef { ring in
        // The summary is decoded in place, into the ring's next slot, so it is written once
        // and never copied; into the context's own when the ring is full (`.drop`), to be
        // counted all the same.
        var slot = ring.reserve()
        if slot == nil && context.pointee.policy == .wait {
            // The aggregator drains in batches: sleeping briefly while it catches up costs
            // far less CPU than spinning on sched_yield.
            repeat {
                usleep(20)
                slot = ring.reserve()
            } while slot == nil
        }
        let summary = slot ?? context.pointer(to: \.summary)!
        let status: DecodeStatus
        if let linkType = context.pointee.linkType {
            status = PacketDecoder.decode(captured, wireLength: Int(header.pointee.len), linkType: linkType,
                                          into: &summary.pointee)
        } else {
            summary.pointee = PacketSummary()
            status = .unsupportedLink
        }
        context.pointee.bytes.count(status, wireLength: header.pointee.len, ipBytes: summary.pointee.ipBytes,
                                    lengthClamped: summary.pointee.lengthClamped, ipVersion: summary.pointee.ipVersion)
        guard status == .ok else {
            withUnsafeMutableBytes(of: &context.pointee.undecoded) { raw in
                // A homogeneous tuple's memory is bound to its element type as well.
                let counts = raw.assumingMemoryBound(to: UInt64.self)
                let index = Int(status.rawValue)
                if index < counts.count { counts[index] &+= 1 }
            }
            return
        }
        context.pointee.decoded &+= 1
        // A file can hold any time stamp: a negative one is taken as 0 rather than trapping.
        let time = header.pointee.ts
        let timestamp = UInt64(clamping: Int64(time.tv_sec)) &* 1_000_000 &+ UInt64(clamping: Int64(time.tv_usec))
        summary.pointee.timestamp = timestamp
        context.pointee.latestTimestamp = timestamp
        let locality = context.pointee.locality(of: summary)
        summary.pointee.locality = context.pointee.marksLocality ? locality : 0
        let sourcePort = summary.pointee.sourcePort, destinationPort = summary.pointee.destinationPort
        let ipProtocol = summary.pointee.ipProtocol
        if sourcePort == 53 || destinationPort == 53, ipProtocol == 17 || ipProtocol == 6, context.pointee.queries != nil {
            handleDNS(context, summary, captured, locality: locality, wireLength: Int(header.pointee.len), seconds: time.tv_sec)
        }
        if slot != nil {
            ring.publish()
        } else {
            ring.countDrop()
            context.pointee.bytes.ringDroppedIPBytes &+= UInt64(summary.pointee.ipBytes)
        }
    }
}

/// Reads packets from one pcap handle on its own thread, decodes them and pushes the
/// summaries into its ring. One source per interface or file.
/// `@unchecked Sendable`: its handle and decoder are used only by its own reading thread;
/// what other threads read (counters, the stop flag) is atomic or under a Mutex.
public final class CaptureSource: @unchecked Sendable {
    public let handle: PcapHandle
    public let ring: SPSCRing<PacketSummary>
    /// The answers of the DNS responses captured (nil when names are not decoded).
    public let dnsRing: SPSCRing<DNSAnswers>?
    /// The DNS queries awaiting their response (nil when names are not decoded).
    private let queries: DNSQueryTable?
    private let policy: RingFullPolicy
    /// Whether `handle` captures a loopback interface.
    private let loopback: Bool
    private let published = Mutex(CaptureCounters())
    private let stopRequested = Atomic<Bool>(false)
    private let started = Atomic<Bool>(false)
    private let finished = Atomic<Bool>(false)
    private let joined = Atomic<Bool>(false)
    private let done = DispatchSemaphore(value: 0)
    /// The reading thread while it runs, when only a signal ends its wait (see `stop`).
    private let interruptible = Mutex<pthread_t?>(nil)
    private let failure = Mutex<CaptureError?>(nil)
    private let kernelDrops = KernelDropReader()
    /// Counts what the rings hold on the reading thread; see `init`.
    private let drainIfFree: (@Sendable () -> Bool)?
    /// The host's addresses (`setLocalAddresses`), and how many times they were set: the
    /// reading thread takes a copy before a dispatch when the count moved.
    private let localAddresses: Mutex<LocalAddresses?>
    private let localAddressChanges = Atomic<UInt64>(0)

    /// A source over `handle` whose summaries go into a new ring of `ringCapacity`, whose
    /// consumer sleeps on `wakeUp` (the aggregator's). Frames of a link type the decoder
    /// does not know are counted as undecoded (unsupported_link). With `decodesDNS`, the
    /// answers of DNS responses go into `dnsRing`, which the aggregator drains too.
    ///
    /// With `drainIfFree`, the reading thread calls it with the two rings after each
    /// dispatch that read packets; it counts them there and then and returns true, or
    /// returns false (the consumer is busy), and then `wakeUp` is rung as without it.
    ///
    /// `localAddresses` (and `setLocalAddresses`) tell the host's own DNS lookups from
    /// its DNS service answering other hosts, and, with their link-layer addresses, from
    /// queries another host forged in the host's name; see `setLocalAddresses`. A
    /// `loopback` interface's frames are all the host's own.
    public init(handle: PcapHandle, ringCapacity: Int = 65536, policy: RingFullPolicy, wakeUp: WakeUp? = nil,
                decodesDNS: Bool = true, localAddresses: LocalAddresses? = nil, loopback: Bool = false,
                drainIfFree: (@Sendable (SPSCRing<PacketSummary>, SPSCRing<DNSAnswers>?) -> Bool)? = nil) {
        self.handle = handle
        self.localAddresses = Mutex(localAddresses)
        self.ring = SPSCRing(minimumCapacity: ringCapacity, wakeUp: wakeUp)
        // A host receives a few DNS answers per second, not thousands: 128 slots of
        // about 600 bytes hold what arrives between two passes of the aggregator.
        self.dnsRing = decodesDNS ? SPSCRing(minimumCapacity: 128, wakeUp: wakeUp) : nil
        self.queries = decodesDNS ? DNSQueryTable() : nil
        self.policy = policy
        self.loopback = loopback
        if let drainIfFree {
            let ring = self.ring, dnsRing = self.dnsRing
            self.drainIfFree = { drainIfFree(ring, dnsRing) }
        } else {
            self.drainIfFree = nil
        }
    }

    /// The host's addresses and local networks, now. Only the queries the host asks, and
    /// those crossing it, are remembered for their responses: a query from another host to
    /// one of these addresses asks the host's own DNS service, and its response names
    /// nothing; one from one of these addresses in a frame another host sent (by the
    /// link-layer addresses given) is forged, and counted in `DNSTally.queriesSpoofed`.
    /// Until they are known every query is remembered. Each packet's `locality` is marked
    /// by them as it is decoded: the reading thread, perhaps waiting on an idle interface,
    /// is woken so the next packet it decodes is marked by these, not by the ones before.
    /// Where libpcap cannot wake it without losing packets (nflog), packets are not marked
    /// and the accounting looks their addresses up itself.
    public func setLocalAddresses(_ local: LocalAddresses) {
        localAddresses.withLock { $0 = local }
        localAddressChanges.add(1, ordering: .releasing)
        if handle.breakWakesWithoutLoss { handle.breakLoop() }
    }

    /// The latest counters, with the kernel's drop count read now (live handles).
    public var counters: CaptureCounters {
        var counters = published.withLock { $0 }
        if handle.isLive { counters.kernelDropped = kernelDrops.read(handle) }
        return counters
    }

    /// Why reading stopped early (a read error or truncated file), if it did.
    public var error: CaptureError? { failure.withLock { $0 } }

    /// Reads on a new thread, named pe-cap-INTERFACE, until end of file, an error, or `stop()`.
    public func start() {
        guard !started.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let thread = Thread { [self] in
            nameCurrentThread("pe-cap-\(handle.name)")
            if handle.isLive && !handle.breakWakesWithoutLoss {
                ReaderInterrupt.prepareCurrentThread()
                interruptible.withLock { $0 = pthread_self() }
            }
            run()
            // Under the lock: `stop` signals this thread only while it has not ended.
            interruptible.withLock { $0 = nil }
            finished.store(true, ordering: .releasing)
            done.signal()
        }
        thread.start()
    }

    /// True once the reading thread has ended (end of file, error or stop).
    public var hasFinished: Bool { finished.load(ordering: .acquiring) }

    /// Blocks until the reading thread started by `start()` has finished.
    public func wait() {
        guard started.load(ordering: .acquiring), !joined.exchange(true, ordering: .acquiringAndReleasing) else { return }
        done.wait()
    }

    /// Asks the reading thread to stop and waits for it; safe to call more than once.
    public func stop() {
        stopRequested.store(true, ordering: .releasing)
        handle.breakLoop()
        // On nflog libpcap waits in recv(), which a break does not end: a signal does
        // (EINTR), and libpcap then sees the break. It is sent again until the thread ends,
        // for one that comes just before recv() is entered is lost; for 5 s at most.
        for _ in 0..<250 {
            let signalled = interruptible.withLock { thread in thread.map { pthread_kill($0, ReaderInterrupt.signal) == 0 } ?? false }
            guard signalled, !hasFinished else { break }
            usleep(20_000)
        }
        wait()
    }

    /// Reads everything on the calling thread (used by `start`, and directly by tests).
    public func run() {
        var context = DispatchContext(linkType: handle.linkType, ring: .passUnretained(ring), policy: policy,
                                      dnsRing: dnsRing.map { .passUnretained($0) }, queries: queries.map { .passUnretained($0) },
                                      local: localAddresses.withLock { $0 }.map { LocalAddressMatch($0) }, loopback: loopback)
        context.marksLocality = !handle.isLive || handle.breakWakesWithoutLoss
        var localChanges = localAddressChanges.load(ordering: .acquiring)
        defer { context.local?.deallocate() }
        // Each dispatch hands over at most one ring's worth of packets and then wakes the
        // aggregator: a sleeping aggregator is woken at least every `batch` packets (the
        // ring never fills behind its back), at the cost of one wake-up per batch, never
        // one per packet. With .wait, a batch that fits in the ring also means the reader
        // never waits for room while the aggregator sleeps.
        let batch = Int32(min(policy == .wait ? 4096 : 1024, ring.capacity))
        let clock = ContinuousClock()
        var lastDropReading = clock.now
        // Whether a dispatch since the last pause came back full: packets arrive faster
        // than a block is read.
        var busy = false
        var busyPause = BusyPause(ringBytes: handle.bufferBytes)
        let readiness = handle.isLive ? pcap_get_selectable_fd(handle.raw) : -1
        while !stopRequested.load(ordering: .acquiring) {
            let changes = localAddressChanges.load(ordering: .acquiring)
            if changes != localChanges {
                localChanges = changes
                if let local = localAddresses.withLock({ $0 }) {
                    if context.local == nil { context.local = LocalAddressMatch(local) } else { context.local?.update(local) }
                }
            }
            let status = withUnsafeMutablePointer(to: &context) { pointer in
                // libpcap hands `user` back untouched: convert the pointer rather than
                // rebind the context's memory, which stays bound to DispatchContext.
                pcap_dispatch(handle.raw, batch, handlePacket, UnsafeMutablePointer<UInt8>(OpaquePointer(pointer)))
            }
            // Caught up with a busy interface when the next block is not full yet: waiting
            // for it in libpcap's poll costs a wake-up per block (a 256 KiB block holds
            // about 1,700 small frames); pausing, once this dispatch is handed over, lets
            // several fill and be read in one go, a quarter of the kernel ring at the rate
            // the last pause's reads showed (see `BusyPause`).
            var pause: UInt32? = nil
            if status == batch {
                busy = true
            } else if busy, status > 0, readiness >= 0, !Self.blockReady(readiness) {
                busy = false
                pause = busyPause.next(read: BusyPause.ringBytes(frames: context.packets, capturedBytes: context.capturedBytes))
            }
            // What a dispatch read is counted or handed to the aggregator now, not after the
            // next dispatch: on an idle interface that one does not return until packets
            // come (out of immediate mode libpcap polls its TPACKET_V3 ring without a
            // timeout, and the kernel hands a block over at the buffer timeout only when it
            // holds packets). Nothing read, nothing published: the aggregator stays asleep.
            // A break also comes from `setLocalAddresses`: a dispatch it ended may have
            // handed packets over before it returned.
            let woken = status == cpcap_error_break && !stopRequested.load(ordering: .acquiring)
            if status > 0 || woken, drainIfFree?() != true { ring.wakeUp?.notify() }
            if status == cpcap_error_break && !woken { break }
            if status < 0 && !woken {
                // Read the error text before anything else asks libpcap and overwrites it.
                let message = "\(handle.name): \(handle.lastError)"
                failure.withLock { $0 = CaptureError(message, isTransient: true) }
                break
            }
            publish(context)
            // Scrapes read the kernel's drop counter; reading it here too, now and then,
            // keeps the 64-bit total exact through the kernel's 32-bit wrap even when
            // nobody scrapes for hours of drops.
            if handle.isLive, clock.now - lastDropReading >= KernelDropReader.readEvery {
                lastDropReading = clock.now
                _ = kernelDrops.read(handle)
            }
            // A file returns 0 at its end.
            if status == 0 && policy == .wait { break }
            if let pause { usleep(pause) }
        }
        publish(context)
    }

    /// Whether the kernel has handed over a block the capture has not read yet.
    private static func blockReady(_ descriptor: Int32) -> Bool {
        var request = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        return poll(&request, 1, 0) > 0
    }

    /// Copies the reading thread's counters into the published ones, in place, so a
    /// batch of packets costs no allocation (only a scrape's copy makes the next one copy).
    private func publish(_ context: DispatchContext) {
        let ringDropped = ring.droppedCount
        published.withLock { counters in
            counters.packets = context.packets
            counters.decoded = context.decoded
            withUnsafeBytes(of: context.undecoded) { raw in
                let counts = raw.assumingMemoryBound(to: UInt64.self)
                for index in counters.undecoded.indices where index < counts.count {
                    counters.undecoded[index] = counts[index]
                }
            }
            counters.bytes = context.bytes
            counters.dns = context.dns
            if let queries {
                counters.dns.queries = queries.recorded
                counters.dns.queriesDropped = queries.dropped
            }
            counters.ringDropped = ringDropped
            // The batch's last packet: capture files are written in time order.
            counters.latestPacketMicros = max(counters.latestPacketMicros, context.latestTimestamp)
        }
    }
}

/// The signal that ends a reading thread's wait in recv() (nflog): a handler that does
/// nothing, installed without SA_RESTART, so the call returns EINTR.
enum ReaderInterrupt {
    static let signal = SIGUSR2

    private static let installed: Void = {
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in }
        sigemptyset(&action.sa_mask)
        action.sa_flags = 0
        sigaction(signal, &action, nil)
    }()

    /// Installs the handler (once) and lets the calling thread take the signal.
    static func prepareCurrentThread() {
        _ = installed
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, signal)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }
}
