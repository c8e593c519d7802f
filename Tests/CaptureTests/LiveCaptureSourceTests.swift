import Capture
import Foundation
import NetAddress
import PacketDecoding
import Testing

/// A capture source reading a live interface (loopback, as root).
@Suite struct LiveCaptureSourceTests {
    static let isRoot = getuid() == 0

    /// New host addresses reach a reading thread waiting on an idle interface before the
    /// next packet: that packet's locality is by the new addresses, not the ones the
    /// thread was waiting with (an address added after the capture opened).
    @Test(.enabled(if: isRoot, "needs root to open a capture handle on lo"))
    func newAddressesMarkTheNextPacketOfAnIdleInterface() throws {
        let port = UInt16.random(in: 40000...50000)
        var options = LiveCaptureOptions()
        options.filter = "udp dst port \(port)"
        let source = CaptureSource(handle: try PcapHandle.openLive(interface: "lo", options: options), ringCapacity: 64,
                                   policy: .drop, decodesDNS: false,
                                   localAddresses: LocalAddresses(addresses: [IPAddress("192.0.2.1")!]), loopback: true)
        source.start()
        defer { source.stop() }
        let known = PacketSummary.localityKnown, both = PacketSummary.sourceLocal | PacketSummary.destinationLocal

        try Self.sendDatagram(port: port)
        #expect(try Self.nextLocality(source) == known)
        // The reading thread is back in libpcap's poll, waiting for the next block.
        try Self.waitUntilWaiting(thread: "pe-cap-lo", in: "poll")
        source.setLocalAddresses(LocalAddresses(addresses: [IPAddress("127.0.0.1")!]))
        try Self.sendDatagram(port: port)
        #expect(try Self.nextLocality(source) == known | both)
    }

    /// A break wakes a dispatch without loss on a packet socket only: not on nflog (its
    /// dispatch drops what its recv() read when a break was asked meanwhile), and a file
    /// never waits.
    @Test(.enabled(if: isRoot, "needs root to open capture handles on lo and nflog"))
    func onlyAPacketSocketIsWokenByABreak() throws {
        #expect(try PcapHandle.openLive(interface: "lo", options: LiveCaptureOptions()).breakWakesWithoutLoss)
        let group = Int.random(in: 1000...60000)
        #expect(try !PcapHandle.openLive(interface: "nflog:\(group)", options: LiveCaptureOptions()).breakWakesWithoutLoss)
        var file = PcapFile()
        file.addUDP(from: 0x0A00_0005, to: 0x0A00_0007, sport: 41000, dport: 8000, payload: 10)
        let path = try file.write()
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(try !PcapHandle.openOffline(path: path).breakWakesWithoutLoss)
    }

    /// The locality of the next summary in `source`'s ring, within five seconds.
    static func nextLocality(_ source: CaptureSource) throws -> UInt8 {
        let deadline = ContinuousClock.now + .seconds(5)
        var locality: UInt8?
        while locality == nil, ContinuousClock.now < deadline {
            _ = source.ring.drain(max: 1) { locality = $0.locality }
            if locality == nil { usleep(2_000) }
        }
        return try #require(locality, "no packet captured within 5 s")
    }

    /// Waits (up to five seconds) until the thread of this process named `name` (cut to
    /// the kernel's 15 bytes) sleeps in a kernel function whose name holds `function`, as
    /// /proc shows it.
    static func waitUntilWaiting(thread name: String, in function: String) throws {
        let deadline = ContinuousClock.now + .seconds(5)
        while ContinuousClock.now < deadline {
            let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
            for task in tasks {
                let comm = (try? String(contentsOfFile: "/proc/self/task/\(task)/comm", encoding: .utf8)) ?? ""
                let wchan = (try? String(contentsOfFile: "/proc/self/task/\(task)/wchan", encoding: .utf8)) ?? ""
                if comm.trimmingCharacters(in: .whitespacesAndNewlines) == String(name.utf8.prefix(15))!, wchan.contains(function) { return }
            }
            usleep(2_000)
        }
        Issue.record("thread \(name) not waiting in \(function) within 5 s")
    }

    /// stop() ends a reading thread that waits on an idle nflog group, in recv(), which
    /// libpcap's break alone does not end.
    @Test(.enabled(if: isRoot, "needs root to open a capture handle on nflog"))
    func stopEndsAWaitOnAnIdleNflogGroup() throws {
        let group = Int.random(in: 1000...60000)
        let source = CaptureSource(handle: try PcapHandle.openLive(interface: "nflog:\(group)", options: LiveCaptureOptions()),
                                   ringCapacity: 64, policy: .drop, decodesDNS: false)
        source.start()
        try Self.waitUntilWaiting(thread: "pe-cap-nflog:\(group)", in: "wait_for_more_packets")
        let stopped = DispatchSemaphore(value: 0)
        // On a thread of its own: without the signal, stop() would wait for a packet.
        Thread { source.stop(); stopped.signal() }.start()
        #expect(stopped.wait(timeout: .now() + 10) == .success, "stop() did not return within 10 s")
        #expect(source.hasFinished)
    }

    /// Sends one 10-byte UDP datagram to 127.0.0.1:`port`.
    static func sendDatagram(port: UInt16) throws {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        try #require(socket >= 0)
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let payload = [UInt8](repeating: 0x41, count: 10)
        let sent = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                sendto(socket, payload, payload.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        try #require(sent == payload.count)
    }
}
