import CPcap
import PacketDecoding

/// A capture problem, said in one line: what failed, on which file or interface, and
/// what to do about it.
public struct CaptureError: Error, CustomStringConvertible, Sendable {
    public let description: String
    /// True when retrying later may succeed (the interface may come back).
    public let isTransient: Bool

    public init(_ description: String, isTransient: Bool = false) {
        self.description = description
        self.isTransient = isTransient
    }
}

/// Options for a live capture handle.
public struct LiveCaptureOptions: Sendable {
    /// Bytes captured per packet; only headers are needed.
    public var snapLength: Int32 = 192
    /// Promiscuous mode (off: only this host's traffic).
    public var promiscuous = false
    /// How long the kernel may hold packets before handing a block over, in ms.
    public var bufferTimeoutMilliseconds: Int32 = 100
    /// Kernel ring buffer size (-capture-buffer-bytes). The kernel maps all of it into the
    /// process at once, so it is the largest single part of an idle agent's resident
    /// memory. 4 MiB holds about 25,000 minimum-size frames (a minimum frame takes about
    /// 160 bytes in a TPACKET_V3 block): 23 ms of a 1.1M packets/s flood, twice
    /// tcpdump's default of 2 MiB.
    public var bufferBytes: Int32 = 4 << 20
    /// BPF filter expression (empty: everything).
    public var filter = ""
    /// Capture DNS responses whole, every other packet still cut at `snapLength`
    /// (see `SnapLengthProgram`).
    public var wholeDNSResponses = false
    /// Hand each packet over as it arrives rather than a block at a time: for captures a
    /// person waits on, never for counting (a wake-up per packet).
    public var immediate = false

    public init() {}
}

/// One libpcap handle, live or offline. libpcap is wrapped here and nowhere else.
///
/// Not thread-safe except `breakLoop()`, which libpcap allows from another thread, and
/// `statistics()` (see there).
/// `@unchecked Sendable`: it holds a C pointer; one capture thread owns it, and only the
/// two calls above cross threads.
public final class PcapHandle: @unchecked Sendable {
    let raw: OpaquePointer
    /// The name shown in errors and metric labels (file path or interface name).
    public let name: String
    /// The link-layer type the decoder uses; nil when the decoder does not know it.
    public let linkType: LinkType?
    /// The raw libpcap link-layer type number.
    public let linkTypeNumber: Int32
    /// True for an interface, false for a file.
    public let isLive: Bool
    /// The kernel ring's size asked for (`LiveCaptureOptions.bufferBytes`); 0 for a file.
    public let bufferBytes: Int
    /// True when `breakLoop` wakes a dispatch waiting for packets and loses none: a Linux
    /// packet socket (an interface, `any`), whose poll waits on libpcap's break event too.
    /// False for a file, and for nflog, whose dispatch waits in recv() until packets come
    /// and then drops what that recv() read when a break was asked meanwhile.
    public let breakWakesWithoutLoss: Bool

    private init(raw: OpaquePointer, name: String, isLive: Bool, bufferBytes: Int = 0) {
        self.raw = raw
        self.name = name
        self.isLive = isLive
        self.bufferBytes = bufferBytes
        self.linkTypeNumber = pcap_datalink(raw)
        self.linkType = LinkType(pcapLinkType: UInt32(bitPattern: linkTypeNumber))
        self.breakWakesWithoutLoss = isLive && Self.isPacketSocket(pcap_fileno(raw))
    }

    private static func isPacketSocket(_ descriptor: Int32) -> Bool {
        var domain: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        return descriptor >= 0 && getsockopt(descriptor, SOL_SOCKET, SO_DOMAIN, &domain, &length) == 0 && domain == AF_PACKET
    }

    deinit { pcap_close(raw) }

    /// Opens a pcap or pcapng file.
    public static func openOffline(path: String) throws(CaptureError) -> PcapHandle {
        var errorBuffer = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE))
        guard let raw = pcap_open_offline(path, &errorBuffer) else {
            throw CaptureError("\(path): cannot read capture file: \(Self.text(errorBuffer))")
        }
        return PcapHandle(raw: raw, name: path, isLive: false)
    }

    /// Opens a live capture on an interface.
    public static func openLive(interface: String, options: LiveCaptureOptions) throws(CaptureError) -> PcapHandle {
        var errorBuffer = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE))
        guard let raw = pcap_create(interface, &errorBuffer) else {
            throw CaptureError("interface \(interface): cannot create capture: \(Self.text(errorBuffer))", isTransient: true)
        }
        // With whole DNS responses the filter program cuts each packet; libpcap would cut
        // them all again at the handle's snap length.
        let cutByProgram = options.wholeDNSResponses && options.snapLength < Int32(SnapLengthProgram.dnsSnapLength)
        pcap_set_snaplen(raw, cutByProgram ? Int32(SnapLengthProgram.dnsSnapLength) : options.snapLength)
        pcap_set_promisc(raw, options.promiscuous ? 1 : 0)
        pcap_set_timeout(raw, options.bufferTimeoutMilliseconds)
        pcap_set_buffer_size(raw, options.bufferBytes)
        // Said, though it is libpcap's default: immediate mode would hand over every
        // packet on its own, a wake-up each, instead of a block of them at a time.
        pcap_set_immediate_mode(raw, options.immediate ? 1 : 0)
        let status = pcap_activate(raw)
        if status < 0 {
            let detail = String(cString: pcap_geterr(raw))
            pcap_close(raw)
            throw Self.activationError(interface: interface, status: status, detail: detail)
        }
        let handle = PcapHandle(raw: raw, name: interface, isLive: true, bufferBytes: Int(options.bufferBytes))
        if cutByProgram {
            try handle.setSnapLengthProgram(filter: options.filter, snapLength: UInt32(options.snapLength))
        } else if !options.filter.isEmpty {
            try handle.setFilter(options.filter)
        }
        return handle
    }

    static func activationError(interface: String, status: Int32, detail: String) -> CaptureError {
        switch status {
        case cpcap_error_perm_denied:
            return CaptureError("interface \(interface): permission denied: capture needs root or CAP_NET_RAW (\(detail))")
        case cpcap_error_no_such_device:
            return CaptureError("interface \(interface): no such device (\(detail))", isTransient: true)
        case cpcap_error_iface_not_up:
            return CaptureError("interface \(interface): interface is down", isTransient: true)
        default:
            return CaptureError("interface \(interface): cannot start capture: \(detail)", isTransient: true)
        }
    }

    /// Compiles and installs a BPF filter.
    public func setFilter(_ expression: String) throws(CaptureError) {
        try install(SnapLengthProgram.compile(expression, on: raw, name: name))
    }

    /// Installs compiled instructions (libpcap copies them).
    private func install(_ instructions: [bpf_insn]) throws(CaptureError) {
        var program = instructions
        let installed = program.withUnsafeMutableBufferPointer { buffer in
            var fcode = bpf_program(bf_len: UInt32(buffer.count), bf_insns: buffer.baseAddress)
            return pcap_setfilter(raw, &fcode)
        }
        guard installed == 0 else {
            throw CaptureError("\(name): cannot install capture filter: \(String(cString: pcap_geterr(raw)))")
        }
    }

    /// Installs `SnapLengthProgram` over `filter` (empty: everything).
    func setSnapLengthProgram(filter: String, snapLength: UInt32) throws(CaptureError) {
        let program = try SnapLengthProgram(filter: filter, snapLength: snapLength, name: name) { expression throws(CaptureError) in
            try SnapLengthProgram.compile(expression, on: raw, name: name)
        }
        try install(program.instructions)
    }

    /// Kernel statistics of a live handle, as libpcap keeps them: 32-bit running counts
    /// of packets received, dropped by the kernel buffer, and dropped by the interface,
    /// each wrapping at 2^32 (`KernelDropTotals` widens them). Nil for files or when
    /// libpcap cannot tell.
    ///
    /// Safe beside a running dispatch on another thread, on Linux: libpcap's statistics
    /// read the kernel's counters (getsockopt, sysfs) into totals the reading path never
    /// touches. Calls to this function itself must not overlap.
    public func statistics() -> (received: UInt32, dropped: UInt32, interfaceDropped: UInt32)? {
        var stats = pcap_stat()
        guard pcap_stats(raw, &stats) == 0 else { return nil }
        return (stats.ps_recv, stats.ps_drop, stats.ps_ifdrop)
    }

    /// Makes a running dispatch return; safe from any thread.
    public func breakLoop() { pcap_breakloop(raw) }

    /// The last libpcap error text of this handle.
    public var lastError: String { String(cString: pcap_geterr(raw)) }

    private static func text(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
