/// How long a capture thread that has caught up with a busy interface pauses before it
/// reads again (see `CaptureSource.run`), sized by how fast the interface fills the
/// kernel ring.
///
/// Waiting in libpcap's poll instead costs a wake-up per 256 KiB block of the ring (about
/// 1,700 minimum-size frames), and on a busy machine a wake-up costs far more than the
/// frames it reads. A pause lets several blocks fill and be read in one go. Each pause aims
/// at a quarter of the ring: the bytes read since the previous pause give the rate, and
/// the next pause is what that rate takes to fill a quarter of the ring, at most twice the
/// previous one and between `shortestMicroseconds` and `longest`. A rate that triples
/// during a pause still fits in the ring, and the next pause shrinks to match it; and no
/// pause is so long that a burst at the rate the ring is sized for (1.1M minimum-size
/// frames a second, `LiveCaptureOptions.bufferBytes`) would fill more than three quarters
/// of it, whatever the rate before.
struct BusyPause {
    /// The first pause, before any rate is known.
    static let firstMicroseconds: UInt64 = 5_000
    static let shortestMicroseconds: UInt64 = 1_000
    /// Counts are at most this much later under load than when read block by block.
    static let longestMicroseconds: UInt64 = 50_000
    /// The burst a pause leaves room for, in ring bytes a second.
    static let burstBytesPerSecond: UInt64 = 1_100_000 * (64 + frameOverhead)
    /// What a frame takes in a TPACKET_V3 block beside its captured bytes: its header, its
    /// link-layer address and the alignment of the two (86 bytes before an Ethernet frame,
    /// then the frame rounded up to 8).
    static let frameOverhead: UInt64 = 90

    /// The bytes of the kernel ring; 0 (a file) leaves the first pause as it is.
    let ringBytes: UInt64
    /// The longest pause: what a burst fills three quarters of the ring in, at most
    /// `longestMicroseconds` (18.6 ms for the default 4 MiB).
    let longest: UInt64
    /// The pause to take next.
    private(set) var microseconds = Self.firstMicroseconds
    /// The ring bytes read (`CaptureSource`'s running count) when the last pause began:
    /// nothing is read during a pause, so also when it ended.
    private var mark: UInt64?

    init(ringBytes: Int) {
        self.ringBytes = UInt64(max(0, ringBytes))
        let burst = self.ringBytes / 4 * 3 * 1_000_000 / Self.burstBytesPerSecond
        longest = max(Self.shortestMicroseconds, min(burst, Self.longestMicroseconds))
    }

    /// The ring bytes `frames` frames of `capturedBytes` in all take.
    static func ringBytes(frames: UInt64, capturedBytes: UInt64) -> UInt64 {
        capturedBytes &+ frames &* frameOverhead
    }

    /// The pause to take now, when the capture has read `read` ring bytes since it started;
    /// what it read since the previous pause sets the length.
    mutating func next(read: UInt64) -> UInt32 {
        if let mark { adjust(readSincePause: read &- mark) }
        mark = read
        return UInt32(microseconds)
    }

    /// Scales the pause to the rate at which the last one's reads came in.
    private mutating func adjust(readSincePause read: UInt64) {
        let target = ringBytes / 4
        guard target > 0 else { return }
        // The reads also took the time between the pause's end and now, so the rate is
        // overestimated and the pause errs short. The pause stays below 2^16 microseconds
        // and the target is capped at 2^46 bytes: the product stays below 2^62.
        let scaled = read == 0 ? UInt64.max : microseconds * min(target, 1 << 46) / read
        microseconds = max(Self.shortestMicroseconds, min(scaled, microseconds * 2, longest))
    }
}
