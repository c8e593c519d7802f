import CPcap
import Diagnostics
import Foundation
import PacketDecoding
import NetAddress
import Synchronization

/// What a capture on demand is asked to take: on which interfaces, with which filter,
/// how much of each packet, for how long and how many bytes of file at most.
public struct OnDemandCaptureRequest: Sendable, Equatable {
    public var interfaces: [String]
    /// BPF filter expression; "" takes every packet.
    public var filter: String
    public var snapLength: Int32
    /// Most bytes of pcapng written, headers included.
    public var maxBytes: Int
    public var duration: Duration

    public init(interfaces: [String], filter: String, snapLength: Int32, maxBytes: Int, duration: Duration) {
        self.interfaces = interfaces
        self.filter = filter
        self.snapLength = snapLength
        self.maxBytes = maxBytes
        self.duration = duration
    }
}

/// Why a capture on demand could not start.
public enum OnDemandCaptureError: Error, CustomStringConvertible, Sendable {
    /// libpcap refused the filter; its message.
    case badFilter(String)
    /// An interface could not be opened.
    case cannotOpen(String)

    public var description: String {
        switch self {
        case .badFilter(let message), .cannotOpen(let message): message
        }
    }
}

/// How a capture on demand ended.
public struct OnDemandCaptureOutcome: Sendable, Equatable {
    /// Why it ended: "duration", "max_bytes", "stopped" (the client went away) or a read error.
    public var reason: String
    /// Bytes of pcapng produced, headers and statistics included.
    public var bytes: Int
    /// Packets written.
    public var packets: UInt64
    /// Packets the kernel or the interface dropped before the capture read them.
    public var dropped: UInt64
}

/// Names the process and the remote end of a packet for its comment: UTF-8 bytes, empty for
/// no comment. Made anew now and then, so it can hold a snapshot of what the agent knows.
public typealias PacketAnnotator = @Sendable (PacketSummary) -> [UInt8]

/// A capture someone asked for over the API: its own handle on each interface, apart from
/// the counting handles (which it never slows or drops from), read on its own thread and
/// written as pcapng as the packets arrive. It ends after its duration, at its byte bound,
/// or when `stop()` is called; its handles are closed when it ends.
/// `@unchecked Sendable`: the handles are used by the reading thread only; `stop()` crosses
/// threads through an atomic and libpcap's breakloop, which is safe from any thread.
public final class OnDemandCapture: @unchecked Sendable {
    public let request: OnDemandCaptureRequest
    /// The interfaces opened, in IDB order, with their link types.
    public let interfaces: [PcapngWriter.Interface]
    private var handles: [PcapHandle]
    private let stopRequested = Atomic<Bool>(false)
    private let result = Mutex<OnDemandCaptureOutcome?>(nil)

    /// How often statistics are written while no packet comes, so a reader sees progress
    /// and a client that went away is noticed within about this long.
    static let statisticsEvery: Duration = .seconds(1)
    /// Packets are handed to the client at most this late, or sooner when this many bytes wait.
    static let deliverEvery: Duration = .milliseconds(50)
    static let deliverBytes = 1 << 16
    /// How often the annotator is made anew (the socket table and DNS names change).
    static let annotatorEvery: Duration = .seconds(2)
    /// Most flows whose comment is remembered between two annotators.
    static let maxRememberedFlows = 4096

    /// Opens a handle on each interface of `request` with its filter; nothing is read until
    /// `start`. A filter libpcap refuses, or an interface that cannot be opened, closes
    /// what was opened and throws.
    public init(_ request: OnDemandCaptureRequest) throws(OnDemandCaptureError) {
        self.request = request
        var options = LiveCaptureOptions()
        options.snapLength = request.snapLength
        // Blocks of packets at most 50 ms old rather than a wake-up per packet (immediate
        // mode): under a flood, per-packet wake-ups and tiny writes cost ten times more.
        options.bufferTimeoutMilliseconds = Int32(Self.deliverEvery / .milliseconds(1))
        // Packets arrive as they are read; the kernel holds what comes while a write waits.
        options.bufferBytes = 4 << 20
        var handles: [PcapHandle] = []
        for name in request.interfaces {
            let handle: PcapHandle
            do {
                handle = try PcapHandle.openLive(interface: name, options: options)
            } catch {
                throw .cannotOpen(error.description)
            }
            do {
                if !request.filter.isEmpty { try handle.setFilter(request.filter) }
            } catch {
                // libpcap's own words, without the interface (the same on every one).
                throw .badFilter("invalid capture filter \(quoted(request.filter)): \(handle.lastError)")
            }
            handles.append(handle)
        }
        self.handles = handles
        self.interfaces = handles.map {
            PcapngWriter.Interface(name: $0.name, linkType: UInt16(truncatingIfNeeded: $0.linkTypeNumber),
                                   snapLength: UInt32(request.snapLength), filter: request.filter)
        }
    }

    /// Reads on a new thread, named pe-ondemand: `header` (the Section Header Block) and one
    /// Interface Description Block per interface, then packets and statistics, each batch
    /// handed to `deliver` as it is read; then `finished` with the outcome. `annotator`
    /// is called at start and every two seconds for the packets' comments.
    public func start(section: PcapngWriter.Section, annotator: @escaping @Sendable () -> PacketAnnotator,
                      deliver: @escaping @Sendable ([UInt8]) -> Void,
                      finished: @escaping @Sendable (OnDemandCaptureOutcome) -> Void) {
        let thread = Thread { [self] in
            nameCurrentThread("pe-ondemand")
            let outcome = run(section: section, annotator: annotator, deliver: deliver)
            result.withLock { $0 = outcome }
            finished(outcome)
        }
        thread.start()
    }

    /// Ends the capture soon (within one poll interval); safe from any thread, more than once.
    public func stop() {
        stopRequested.store(true, ordering: .releasing)
    }

    /// How it ended; nil while it runs.
    public var outcome: OnDemandCaptureOutcome? { result.withLock { $0 } }

    private func run(section: PcapngWriter.Section, annotator makeAnnotator: @Sendable () -> PacketAnnotator,
                     deliver: ([UInt8]) -> Void) -> OnDemandCaptureOutcome {
        // The handles close when this returns, whatever ended the capture.
        let handles = self.handles
        self.handles = []
        let clock = ContinuousClock()
        let start = clock.now
        let deadline = start + request.duration
        let startMicros = Self.nowMicros()
        var out: [UInt8] = []
        PcapngWriter.appendSectionHeader(section, to: &out)
        for interface in interfaces { PcapngWriter.appendInterfaceDescription(interface, to: &out) }
        let context = OnDemandContext(maxBytes: request.maxBytes, interfaces: handles.count, annotator: makeAnnotator())
        context.written = out.count
        // The file holds exactly the packets time-stamped from `startMicros` (every handle is
        // open with its filter by now) to the end time: what a reference capture on the same
        // interface saw in that window.
        context.windowStart = startMicros
        deliver(out)

        var pollSet = handles.map { handle -> pollfd in
            var errorBuffer = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE))
            _ = pcap_setnonblock(handle.raw, 1, &errorBuffer)
            return pollfd(fd: pcap_get_selectable_fd(handle.raw), events: Int16(POLLIN), revents: 0)
        }
        var reason = "duration"
        var lastStatistics = clock.now
        var lastAnnotator = clock.now
        var lastDelivery = clock.now
        reading: while true {
            if stopRequested.load(ordering: .acquiring) { reason = "stopped"; break }
            let now = clock.now
            if now >= deadline { break }
            if let failure = Self.read(handles, into: context, waiting: min(deadline - now, Self.deliverEvery), pollSet: &pollSet) {
                reason = failure
                break reading
            }
            if context.full { reason = "max_bytes"; break reading }
            if context.buffer.count >= Self.deliverBytes || (!context.buffer.isEmpty && clock.now - lastDelivery >= Self.deliverEvery) {
                deliver(context.take())
                lastStatistics = clock.now
                lastDelivery = clock.now
            } else if context.buffer.isEmpty, clock.now - lastStatistics >= Self.statisticsEvery {
                // Nothing came for a while: statistics tell the reader the capture is alive,
                // and a write to a client that went away fails and stops it.
                var block: [UInt8] = []
                appendStatistics(handles, startMicros: startMicros, endMicros: Self.nowMicros(), comment: "", context: context, to: &block)
                if context.written + block.count <= request.maxBytes - context.reserved {
                    context.written += block.count
                    deliver(block)
                }
                lastStatistics = clock.now
            }
            if clock.now - lastAnnotator >= Self.annotatorEvery {
                context.annotator = makeAnnotator()
                context.comments.removeAll(keepingCapacity: true)
                lastAnnotator = clock.now
            }
        }
        // Packets stamped before the end may still wait in the kernel, in a block it hands
        // over within the buffer timeout: read for twice that long, taking no later packet.
        let endMicros = Self.nowMicros()
        context.windowEnd = endMicros
        if !context.full && reason == "duration" {
            let drainUntil = clock.now + Self.deliverEvery * 2
            while clock.now < drainUntil && !context.full,
                  Self.read(handles, into: context, waiting: drainUntil - clock.now, pollSet: &pollSet) == nil {}
            if context.full { reason = "max_bytes" }
        }
        if !context.buffer.isEmpty { deliver(context.take()) }
        // Short, to fit the room kept for it; a read error's words are in the outcome and the log.
        let comment = "capture ended: " + (["duration", "stopped", "max_bytes"].contains(reason) ? reason : "read error")
        var last: [UInt8] = []
        let dropped = appendStatistics(handles, startMicros: startMicros, endMicros: endMicros, comment: comment, context: context, to: &last)
        context.written += last.count
        deliver(last)
        return OnDemandCaptureOutcome(reason: reason, bytes: context.written, packets: context.packets, dropped: dropped)
    }

    /// Waits up to `wait` for packets on any handle, then reads what each has; the reason
    /// when a handle fails.
    private static func read(_ handles: [PcapHandle], into context: OnDemandContext, waiting wait: Duration,
                             pollSet: inout [pollfd]) -> String? {
        let milliseconds = Int32(max(1, wait.components.seconds * 1000 + wait.components.attoseconds / 1_000_000_000_000_000))
        _ = pollSet.withUnsafeMutableBufferPointer { poll($0.baseAddress, nfds_t($0.count), milliseconds) }
        for (index, handle) in handles.enumerated() {
            context.interfaceID = UInt32(index)
            context.linkType = handle.linkType
            let status = pcap_dispatch(handle.raw, -1, onDemandPacket,
                                       UnsafeMutablePointer<UInt8>(OpaquePointer(Unmanaged.passUnretained(context).toOpaque())))
            if status < 0 && status != cpcap_error_break { return "\(handle.name): \(handle.lastError)" }
            if context.full { return nil }
        }
        return nil
    }

    /// Appends one Interface Statistics Block per handle; returns the packets dropped on all of them.
    @discardableResult
    private func appendStatistics(_ handles: [PcapHandle], startMicros: UInt64, endMicros now: UInt64, comment: String,
                                  context: OnDemandContext, to out: inout [UInt8]) -> UInt64 {
        var dropped: UInt64 = 0
        for (index, handle) in handles.enumerated() {
            let stats = handle.statistics()
            let lost = UInt64(stats?.dropped ?? 0) + UInt64(stats?.interfaceDropped ?? 0)
            dropped += lost
            PcapngWriter.appendInterfaceStatistics(interfaceID: UInt32(index), PcapngWriter.Statistics(
                startMicros: startMicros, endMicros: now, received: UInt64(stats?.received ?? 0), dropped: lost,
                accepted: context.accepted[index], delivered: context.delivered[index],
                comment: comment), to: &out)
        }
        return dropped
    }

    static func nowMicros() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return UInt64(time.tv_sec) * 1_000_000 + UInt64(time.tv_nsec / 1000)
    }
}

/// A flow's two ends, to remember its comment.
struct FlowKey: Hashable {
    var source: IPAddress
    var destination: IPAddress
    var ports: UInt32
    var ipProtocol: UInt8
}

/// What the libpcap callback of a capture on demand works on.
final class OnDemandContext {
    /// Upper bound of one Interface Statistics Block as written here (its comment is short).
    static let statisticsBytes = 256
    var buffer: [UInt8] = []
    var written = 0
    let maxBytes: Int
    var full = false
    var interfaceID: UInt32 = 0
    var linkType: LinkType?
    var summary = PacketSummary()
    var annotator: PacketAnnotator
    var comments: [FlowKey: [UInt8]] = [:]
    var packets: UInt64 = 0
    /// Per interface: packets the filter accepted, and those written.
    var accepted: [UInt64]
    var delivered: [UInt64]
    /// Bytes kept under `maxBytes` for the statistics at the end, so the file stays whole at the bound.
    let reserved: Int
    /// The capture's window, in microseconds since 1970: packets stamped outside it are left out.
    var windowStart: UInt64 = 0
    var windowEnd = UInt64.max

    init(maxBytes: Int, interfaces: Int, annotator: @escaping PacketAnnotator) {
        self.maxBytes = maxBytes
        self.accepted = Array(repeating: 0, count: interfaces)
        self.delivered = Array(repeating: 0, count: interfaces)
        self.reserved = interfaces * OnDemandContext.statisticsBytes
        self.annotator = annotator
        buffer.reserveCapacity(1 << 16)
    }

    /// The packets read since the last call, handed over.
    func take() -> [UInt8] {
        var taken: [UInt8] = []
        taken.reserveCapacity(1 << 16)
        swap(&taken, &buffer)
        return taken
    }

    /// The comment of the packet just decoded into `summary`, remembered per flow.
    func comment() -> [UInt8] {
        let key = FlowKey(source: summary.source, destination: summary.destination,
                          ports: UInt32(summary.sourcePort) << 16 | UInt32(summary.destinationPort), ipProtocol: summary.ipProtocol)
        if let known = comments[key] { return known }
        let made = annotator(summary)
        if comments.count >= OnDemandCapture.maxRememberedFlows { comments.removeAll(keepingCapacity: true) }
        comments[key] = made
        return made
    }
}

private func onDemandPacket(user: UnsafeMutablePointer<UInt8>?, header: UnsafePointer<pcap_pkthdr>?, bytes: UnsafePointer<UInt8>?) {
    guard let user, let header, let bytes else { return }
    let context = Unmanaged<OnDemandContext>.fromOpaque(UnsafeRawPointer(user)).takeUnretainedValue()
    let time = header.pointee.ts
    let micros = UInt64(clamping: Int64(time.tv_sec)) &* 1_000_000 &+ UInt64(clamping: Int64(time.tv_usec))
    guard micros >= context.windowStart && micros <= context.windowEnd else { return }
    let index = Int(context.interfaceID)
    context.accepted[index] &+= 1
    guard !context.full else { return }
    let captured = UnsafeRawBufferPointer(start: bytes, count: Int(header.pointee.caplen))
    var comment: [UInt8] = []
    if let linkType = context.linkType,
       PacketDecoder.decode(captured, wireLength: Int(header.pointee.len), linkType: linkType, into: &context.summary) == .ok {
        comment = context.comment()
    }
    let length = PcapngWriter.enhancedPacketLength(captured: captured.count, commentBytes: min(comment.count, PcapngWriter.maxCommentBytes))
    guard context.written + length <= context.maxBytes - context.reserved else {
        context.full = true
        return
    }
    comment.withUnsafeBytes { comment in
        PcapngWriter.appendEnhancedPacket(interfaceID: context.interfaceID, micros: micros, wireLength: header.pointee.len,
                                          packet: captured, comment: comment, to: &context.buffer)
    }
    context.written += length
    context.packets &+= 1
    context.delivered[index] &+= 1
}
