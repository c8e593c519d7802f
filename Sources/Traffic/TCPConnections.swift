#if canImport(Glibc)
import Glibc
#endif
import NetAddress
import PacketDecoding

/// What one side of the connections of an edge sent, and the round trips its segments
/// took: the `sender="local"|"remote"` half of an edge's connection analysis.
public struct TCPSenderHealth: Sendable {
    /// Segments carrying data (keep-alives and zero-window probes excluded).
    public var dataSegments: UInt64 = 0
    /// Data segments whose sequence range this side had already sent (seen before).
    public var retransmissions: UInt64 = 0
    /// Data segments below the highest sequence seen that fill a gap never seen before.
    public var outOfOrder: UInt64 = 0
    /// Segments advertising a window of 0 (SYN, FIN and RST excluded).
    public var zeroWindows: UInt64 = 0
    /// Runs of three or more duplicate ACKs this side sent, counted once each.
    public var duplicateAckRuns: UInt64 = 0
    /// Times this side's new data reached the end of the window the other side had
    /// advertised, counted once until that window opens again.
    public var windowFullStalls: UInt64 = 0
    /// Round trips of this side's data (to the other side's ACK or timestamp echo) per
    /// bucket of `TCPHealth.rttBucketBounds`, not cumulative; the last bucket is +Inf.
    public var rttBuckets = InlineArray<12, UInt64>(repeating: 0)
    /// The round trips of each bucket summed, in microseconds: where inside its bucket the
    /// samples lie, for the quantiles.
    public var rttBucketMicroseconds = InlineArray<12, UInt64>(repeating: 0)
    /// The round trips summed, in microseconds.
    public var rttMicroseconds: UInt64 = 0
    /// Round trips timed from the timestamps option, and from data to its covering ACK.
    public var timestampSamples: UInt64 = 0
    public var ackSamples: UInt64 = 0
    /// Connections this side ended first, with a FIN and with a RST.
    public var finFirst: UInt64 = 0
    public var rstFirst: UInt64 = 0

    public init() {}

    /// Round trips timed (the histogram's count).
    public var rttSamples: UInt64 { timestampSamples &+ ackSamples }

    /// True when nothing was counted.
    public var isZero: Bool {
        dataSegments == 0 && zeroWindows == 0 && duplicateAckRuns == 0 && windowFullStalls == 0 && rttSamples == 0
            && finFirst == 0 && rstFirst == 0
    }

    mutating func add(_ tally: TCPHealth.SenderTally) {
        dataSegments &+= UInt64(tally.dataSegments)
        retransmissions &+= UInt64(tally.retransmissions)
        outOfOrder &+= UInt64(tally.outOfOrder)
        zeroWindows &+= UInt64(tally.zeroWindows)
        duplicateAckRuns &+= UInt64(tally.duplicateAckRuns)
        windowFullStalls &+= UInt64(tally.windowFullStalls)
        for i in rttBuckets.indices {
            rttBuckets[i] &+= UInt64(tally.rttBuckets[i])
            rttBucketMicroseconds[i] &+= UInt64(tally.rttBucketMicroseconds[i])
        }
        rttMicroseconds &+= tally.rttMicroseconds
        timestampSamples &+= UInt64(tally.timestampSamples)
        ackSamples &+= UInt64(tally.ackSamples)
        finFirst &+= UInt64(tally.finFirst)
        rstFirst &+= UInt64(tally.rstFirst)
    }

    /// The round trip below which `fraction` of the samples lie, in seconds; nil without
    /// samples.
    ///
    /// Inside the bucket holding that rank it interpolates linearly, as Prometheus's
    /// histogram_quantile does, but over the widest interval centred on the mean of that
    /// bucket's samples that fits in the bucket, not over the whole bucket: round trips
    /// of one path sit close together, and a bucket spanning 25 to 50 ms answers 40 ms for
    /// samples all near 40 ms where histogram_quantile answers 37.5 ms. Samples spread
    /// evenly over the bucket give the same answer as histogram_quantile. The +Inf bucket
    /// answers the mean of its samples.
    public func rttQuantile(_ fraction: Double) -> Double? {
        let total = rttSamples
        guard total > 0 else { return nil }
        let rank = fraction * Double(total)
        var below: UInt64 = 0
        for i in rttBuckets.indices {
            let count = rttBuckets[i]
            guard count > 0 && Double(below &+ count) >= rank else {
                below &+= count
                continue
            }
            let lower = i == 0 ? 0 : Double(TCPHealth.rttBucketBounds[i - 1])
            let mean = Double(rttBucketMicroseconds[i]) / Double(count)
            if i == TCPHealth.rttBucketBounds.count { return max(lower, mean) / 1e6 }
            let upper = Double(TCPHealth.rttBucketBounds[i])
            let centre = min(max(mean, lower), upper)
            let half = min(centre - lower, upper - centre)
            return (centre - half + 2 * half * max(0, rank - Double(below)) / Double(count)) / 1e6
        }
        return nil
    }
}

extension TCPHealth {
    /// Upper bounds of the round-trip histogram's buckets, in microseconds.
    public static let rttBucketBounds: [UInt64] = [250, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000,
                                                   500_000, 1_000_000]
    /// Gaps in the sequence space remembered per direction: a segment filling one is out of
    /// order, not a retransmission. Past it the oldest gap is forgotten (and a segment
    /// filling it later counts as a retransmission).
    static let gapsPerSide = 4
    /// Slots of a set of the connection table: a connection may live in any of them.
    static let connectionWays = 4

    /// What one side sent since the connection's counts were last added to its edge.
    struct SenderTally {
        var dataSegments: UInt32 = 0
        var retransmissions: UInt32 = 0
        var outOfOrder: UInt32 = 0
        var zeroWindows: UInt32 = 0
        var duplicateAckRuns: UInt32 = 0
        var timestampSamples: UInt32 = 0
        var ackSamples: UInt32 = 0
        var finFirst: UInt32 = 0
        var rstFirst: UInt32 = 0
        var windowFullStalls: UInt32 = 0
        var rttBuckets = InlineArray<12, UInt32>(repeating: 0)
        /// Per bucket, in microseconds. A side times one segment at a time, so its samples
        /// sum to at most the packet time since its counts last reached the edge: 32 bits
        /// last 71 minutes, and `sample` moves the counts on before they would wrap.
        var rttBucketMicroseconds = InlineArray<12, UInt32>(repeating: 0)
        var rttMicroseconds: UInt64 = 0
    }

    /// The analysis state of one direction of a connection. All zero is "nothing seen".
    struct Side {
        /// One past the highest sequence number sent (SYN and FIN count one).
        var highSeq: UInt32
        var lastAck: UInt32
        /// The sequence end of the segment being timed, and when it was sent.
        var timedEnd: UInt32
        var timedAt: UInt64
        /// The TSval being timed (until the other side echoes it), and when it was first sent.
        var timedTSval: UInt32
        var timedTSAt: UInt64
        /// Gaps [start, end) below `highSeq` nothing has filled yet.
        var gapStart: InlineArray<4, UInt32>
        var gapEnd: InlineArray<4, UInt32>
        var gaps: UInt8
        var lastWindow: UInt16
        var duplicateAcks: UInt16
        var seenSeq: Bool
        var seenAck: Bool
        var timing: Bool
        var timingTS: Bool
        /// `timedTSval` holds the last value timed: a segment whose TSval is not newer is
        /// not timed, since an echo of that value may answer an earlier segment.
        var timedTSOnce: Bool
        var usesTimestamps: Bool
        /// This side's SYN was seen (the opener's from the handshake table), and the window
        /// scale it offered (`scales`) if any: what `windowEnd` needs to scale windows.
        var sawSyn: Bool
        var scales: Bool
        var windowShift: UInt8
        /// `lastWindow` is a SYN's, which is never scaled.
        var windowFromSyn: Bool
        /// This side's data reached the other's window end and the window has not opened since.
        var windowFull: Bool
        var tally: SenderTally
    }

    /// One connection of the connection table. All-zero memory is an empty slot.
    struct Connection {
        var local: IPAddress
        var remote: IPAddress
        var lastSeen: UInt64
        var localPort: UInt16
        var remotePort: UInt16
        var servicePort: UInt16
        /// 0 empty, 1 open, 2 ended (a FIN from both sides, or a RST): reused first.
        var state: UInt8
        var upstream: Bool
        /// Has a FIN or RST been seen (the first one is counted)?
        var ended: Bool
        var finLocal: Bool
        var finRemote: Bool
        /// In the list of slots whose counts wait to be added to their edges.
        var listed: Bool
        var sides: InlineArray<2, Side>

        func matches(_ local: IPAddress, _ localPort: UInt16, _ remote: IPAddress, _ remotePort: UInt16) -> Bool {
            self.localPort == localPort && self.remotePort == remotePort && self.local == local && self.remote == remote
        }
    }

    /// The RTT histogram bucket of a round trip.
    static func rttBucket(_ micros: UInt64) -> Int { bucket(micros, bounds: rttBucketBounds) }

    /// Sequence-space comparisons modulo 2^32 (RFC 1982).
    @inline(__always) static func before(_ a: UInt32, _ b: UInt32) -> Bool { Int32(bitPattern: a &- b) < 0 }
    @inline(__always) static func notBefore(_ a: UInt32, _ b: UInt32) -> Bool { Int32(bitPattern: a &- b) >= 0 }

    /// Follows one TCP segment through its connection: data, retransmissions, gaps, window,
    /// duplicate ACKs, round trips and the end. `d` is 0 for a local sender, 1 for a remote one.
    func analyze(_ packet: PacketSummary, fromLocal: Bool, servicePort: UInt16) {
        guard packet.tcpFields & PacketSummary.tcpHeaderRead != 0 else { return }
        let local = fromLocal ? packet.source : packet.destination
        let remote = fromLocal ? packet.destination : packet.source
        let localPort = fromLocal ? packet.sourcePort : packet.destinationPort
        let remotePort = fromLocal ? packet.destinationPort : packet.sourcePort
        let flags = packet.tcpFlags
        let syn = flags & PacketSummary.tcpSYN != 0, rst = flags & PacketSummary.tcpRST != 0
        let ack = flags & PacketSummary.tcpACK != 0, fin = flags & PacketSummary.tcpFIN != 0
        let time = packet.timestamp
        if time > now { now = time }
        let set = connectionIndex(local, localPort, remote, remotePort)
        var found: UnsafeMutablePointer<Connection>? = nil
        for way in 0..<Self.connectionWays {
            let slot = connections + (set + way)
            if slot.pointee.state != 0 && slot.pointee.matches(local, localPort, remote, remotePort) {
                found = slot
                break
            }
        }
        let seq = packet.tcpSequence
        // A SYN opening a new connection on the 4-tuple of an ended one, or one whose
        // sequence number is not the SYN already seen: the old connection is over.
        if let slot = found, syn && !ack {
            let side = slot.pointee.sides[fromLocal ? 0 : 1]
            if slot.pointee.state == 2 || (side.seenSeq && side.highSeq != seq &+ 1) {
                release(slot)
                found = nil
            }
        }
        let slot: UnsafeMutablePointer<Connection>
        if let found {
            slot = found
        } else {
            // A RST of a connection never seen carries nothing to analyze, and a bare SYN
            // may be refused or a scan's: a connection takes a slot from its SYN/ACK or
            // its first later segment, so closed ports never make an edge here.
            if rst || (syn && !ack) { return }
            slot = claim(set, at: time)
            slot.pointee.local = local
            slot.pointee.remote = remote
            slot.pointee.localPort = localPort
            slot.pointee.remotePort = remotePort
            slot.pointee.servicePort = servicePort
            slot.pointee.upstream = servicePort != localPort
            slot.pointee.state = 1
            // Taken from a SYN/ACK: the opener's SYN, which took no slot, is in the handshake table.
            if syn, let scale = openingWindowScale(local, localPort, remote, remotePort) {
                let opener = fromLocal ? 1 : 0
                slot.pointee.sides[opener].sawSyn = true
                slot.pointee.sides[opener].scales = scale != 0
                slot.pointee.sides[opener].windowShift = scale &- 1
            }
        }
        slot.pointee.lastSeen = time
        if !slot.pointee.listed { list(slot) }
        let d = fromLocal ? 0 : 1, o = 1 - d

        if rst {
            if !slot.pointee.ended {
                slot.pointee.ended = true
                slot.pointee.sides[d].tally.rstFirst &+= 1
            }
            slot.pointee.state = 2
            return
        }
        if packet.tcpFields & PacketSummary.tcpTimestampsRead != 0 { slot.pointee.sides[d].usesTimestamps = true }
        let bothTimestamps = slot.pointee.sides[0].usesTimestamps && slot.pointee.sides[1].usesTimestamps
        let window = packet.tcpWindow
        let length = UInt32(packet.tcpPayload)

        if syn {
            slot.pointee.sides[d].highSeq = seq &+ 1
            slot.pointee.sides[d].seenSeq = true
            slot.pointee.sides[d].sawSyn = true
            slot.pointee.sides[d].scales = packet.tcpFields & PacketSummary.tcpWindowScaleRead != 0
            slot.pointee.sides[d].windowShift = packet.tcpWindowShift
            if ack {
                slot.pointee.sides[d].lastAck = packet.tcpAcknowledgment
                slot.pointee.sides[d].lastWindow = window
                slot.pointee.sides[d].windowFromSyn = true
                slot.pointee.sides[d].seenAck = true
            }
            return
        }

        if ack {
            let ackNumber = packet.tcpAcknowledgment
            let side = slot.pointee.sides[d]
            if length == 0 && !fin && side.seenAck && ackNumber == side.lastAck && window == side.lastWindow {
                slot.pointee.sides[d].duplicateAcks &+= 1
                if slot.pointee.sides[d].duplicateAcks == 3 { slot.pointee.sides[d].tally.duplicateAckRuns &+= 1 }
            } else if !side.seenAck || ackNumber != side.lastAck {
                slot.pointee.sides[d].duplicateAcks = 0
            }
            // Round trips of the other side's data.
            let other = slot.pointee.sides[o]
            if bothTimestamps {
                if other.timingTS && packet.tcpFields & PacketSummary.tcpTimestampsRead != 0 {
                    if packet.tcpTSecr == other.timedTSval {
                        slot.pointee.sides[o].timingTS = false
                        sample(slot, side: o, micros: time > other.timedTSAt ? time - other.timedTSAt : 0, timestamps: true)
                    } else if Self.before(other.timedTSval, packet.tcpTSecr) {
                        // The echo passed the timed value (its segment was lost or reordered):
                        // no sample, time the next segment instead.
                        slot.pointee.sides[o].timingTS = false
                    }
                }
            } else if other.timing && Self.notBefore(ackNumber, other.timedEnd) {
                slot.pointee.sides[o].timing = false
                sample(slot, side: o, micros: time > other.timedAt ? time - other.timedAt : 0, timestamps: false)
            }
            slot.pointee.sides[d].lastAck = ackNumber
            slot.pointee.sides[d].lastWindow = window
            slot.pointee.sides[d].windowFromSyn = false
            slot.pointee.sides[d].seenAck = true
            // The other side's stall ends once this window leaves it room to send.
            if other.windowFull, window > 0, let end = Self.windowEnd(slot, receiver: d), Self.before(other.highSeq, end) {
                slot.pointee.sides[o].windowFull = false
            }
        }
        if window == 0 && !fin { slot.pointee.sides[d].tally.zeroWindows &+= 1 }

        if length > 0 {
            dataSegment(slot, side: d, seq: seq, length: length, time: time, packet: packet, bothTimestamps: bothTimestamps)
        }
        if fin {
            let end = seq &+ length &+ 1
            if !slot.pointee.sides[d].seenSeq || Self.before(slot.pointee.sides[d].highSeq, end) {
                slot.pointee.sides[d].highSeq = end
                slot.pointee.sides[d].seenSeq = true
            }
            if !slot.pointee.ended {
                slot.pointee.ended = true
                slot.pointee.sides[d].tally.finFirst &+= 1
            }
            if fromLocal { slot.pointee.finLocal = true } else { slot.pointee.finRemote = true }
            if slot.pointee.finLocal && slot.pointee.finRemote { slot.pointee.state = 2 }
        }
    }

    /// Classifies a segment carrying data: new, a retransmission, or out of order.
    private func dataSegment(_ slot: UnsafeMutablePointer<Connection>, side d: Int, seq: UInt32, length: UInt32, time: UInt64,
                             packet: PacketSummary, bothTimestamps: Bool) {
        let side = slot.pointee.sides[d]
        let other = slot.pointee.sides[1 - d]
        // One byte at the next sequence while the other side's window is shut: a
        // zero-window probe, which the receiver is expected to refuse.
        if length == 1 && side.seenSeq && seq == side.highSeq && other.seenAck && other.lastWindow == 0 { return }
        // One byte below the next sequence, already acknowledged: a keep-alive.
        if length <= 1 && side.seenSeq && seq == side.highSeq &- 1 { return }
        let end = seq &+ length
        slot.pointee.sides[d].tally.dataSegments &+= 1
        var fresh = false
        if !side.seenSeq {
            slot.pointee.sides[d].highSeq = end
            slot.pointee.sides[d].seenSeq = true
            fresh = true
        } else if Self.notBefore(seq, side.highSeq) {
            if seq != side.highSeq { addGap(slot, side: d, from: side.highSeq, to: seq) }
            slot.pointee.sides[d].highSeq = end
            fresh = true
        } else if Self.before(side.highSeq, end) {
            // Starts below the highest sequence but brings bytes past it: data sent again in
            // new segment boundaries along with new data, which no stack sends as a
            // retransmission; new data, not timed (its ACK may answer the old bytes).
            _ = fillGaps(slot, side: d, from: seq, to: side.highSeq)
            slot.pointee.sides[d].highSeq = end
        } else {
            if fillGaps(slot, side: d, from: seq, to: end) {
                slot.pointee.sides[d].tally.outOfOrder &+= 1
            } else {
                slot.pointee.sides[d].tally.retransmissions &+= 1
                // Karn: a segment sent twice cannot be timed by its ACK.
                if side.timing && Self.before(seq, side.timedEnd) { slot.pointee.sides[d].timing = false }
            }
        }
        guard fresh else { return }
        if !side.windowFull && other.seenAck && other.lastWindow > 0, let edge = Self.windowEnd(slot, receiver: 1 - d),
           Self.notBefore(end, edge) {
            slot.pointee.sides[d].windowFull = true
            slot.pointee.sides[d].tally.windowFullStalls &+= 1
        }
        if bothTimestamps {
            if !side.timingTS && packet.tcpFields & PacketSummary.tcpTimestampsRead != 0
                && (!side.timedTSOnce || Self.before(side.timedTSval, packet.tcpTSval)) {
                slot.pointee.sides[d].timingTS = true
                slot.pointee.sides[d].timedTSOnce = true
                slot.pointee.sides[d].timedTSval = packet.tcpTSval
                slot.pointee.sides[d].timedTSAt = time
            }
        } else if !side.timing {
            slot.pointee.sides[d].timing = true
            slot.pointee.sides[d].timedEnd = end
            slot.pointee.sides[d].timedAt = time
        }
    }

    private func addGap(_ slot: UnsafeMutablePointer<Connection>, side d: Int, from start: UInt32, to end: UInt32) {
        var count = Int(slot.pointee.sides[d].gaps)
        if count == Self.gapsPerSide {
            // Forget the oldest gap (the lowest sequence numbers).
            for i in 1..<count {
                slot.pointee.sides[d].gapStart[i - 1] = slot.pointee.sides[d].gapStart[i]
                slot.pointee.sides[d].gapEnd[i - 1] = slot.pointee.sides[d].gapEnd[i]
            }
            count -= 1
        }
        slot.pointee.sides[d].gapStart[count] = start
        slot.pointee.sides[d].gapEnd[count] = end
        slot.pointee.sides[d].gaps = UInt8(count + 1)
    }

    /// Removes [start, end) from the gaps; true when it covered a part of one.
    private func fillGaps(_ slot: UnsafeMutablePointer<Connection>, side d: Int, from start: UInt32, to end: UInt32) -> Bool {
        var filled = false
        var i = 0
        var count = Int(slot.pointee.sides[d].gaps)
        while i < count {
            let gapStart = slot.pointee.sides[d].gapStart[i], gapEnd = slot.pointee.sides[d].gapEnd[i]
            guard Self.before(start, gapEnd) && Self.before(gapStart, end) else {
                i += 1
                continue
            }
            filled = true
            let keepsHead = Self.before(gapStart, start), keepsTail = Self.before(end, gapEnd)
            if keepsHead && keepsTail {
                // Split in two; without room the tail is forgotten.
                slot.pointee.sides[d].gapEnd[i] = start
                if count < Self.gapsPerSide {
                    slot.pointee.sides[d].gapStart[count] = end
                    slot.pointee.sides[d].gapEnd[count] = gapEnd
                    count += 1
                }
                i += 1
            } else if keepsHead {
                slot.pointee.sides[d].gapEnd[i] = start
                i += 1
            } else if keepsTail {
                slot.pointee.sides[d].gapStart[i] = end
                i += 1
            } else {
                count -= 1
                slot.pointee.sides[d].gapStart[i] = slot.pointee.sides[d].gapStart[count]
                slot.pointee.sides[d].gapEnd[i] = slot.pointee.sides[d].gapEnd[count]
            }
        }
        slot.pointee.sides[d].gaps = UInt8(count)
        return filled
    }

    /// The sequence number one past the window `receiver` advertised last (its ACK plus its
    /// window, scaled); nil before its ACK, or while the scale in force is unknown. Window
    /// scaling holds only when both SYNs offered it (RFC 7323), so one SYN seen without the
    /// option settles it, and it never applies to the window of a SYN itself.
    static func windowEnd(_ slot: UnsafeMutablePointer<Connection>, receiver r: Int) -> UInt32? {
        let receiver = slot.pointee.sides[r], sender = slot.pointee.sides[1 - r]
        guard receiver.seenAck else { return nil }
        let shift: UInt32
        if receiver.windowFromSyn || (receiver.sawSyn && !receiver.scales) || (sender.sawSyn && !sender.scales) {
            shift = 0
        } else if receiver.sawSyn && sender.sawSyn {
            shift = UInt32(receiver.windowShift)
        } else {
            return nil
        }
        return receiver.lastAck &+ (UInt32(receiver.lastWindow) << shift)
    }

    private func sample(_ slot: UnsafeMutablePointer<Connection>, side d: Int, micros: UInt64, timestamps: Bool) {
        let bucket = Self.rttBucket(micros)
        let part = UInt32(clamping: micros)
        var (sum, wrapped) = slot.pointee.sides[d].tally.rttBucketMicroseconds[bucket].addingReportingOverflow(part)
        if wrapped {
            // 71 minutes of round trips since the counts last reached the edge: move them
            // on now if the socket table lets them go, else keep the bucket's sum at its top.
            sum = settle(slot, force: false) ? part : .max
        }
        slot.pointee.sides[d].tally.rttBucketMicroseconds[bucket] = sum
        slot.pointee.sides[d].tally.rttBuckets[bucket] &+= 1
        slot.pointee.sides[d].tally.rttMicroseconds &+= micros
        if timestamps {
            slot.pointee.sides[d].tally.timestampSamples &+= 1
        } else {
            slot.pointee.sides[d].tally.ackSamples &+= 1
        }
    }

    /// A slot of `set` for a new connection: an empty one, else an ended one, else the one
    /// idle longest, whose connection is evicted (its counts go to its edge first).
    private func claim(_ set: Int, at time: UInt64) -> UnsafeMutablePointer<Connection> {
        var victim = connections + set
        for way in 0..<Self.connectionWays {
            let slot = connections + (set + way)
            if slot.pointee.state == 0 { return slot }
            if slot.pointee.state == 2 {
                if victim.pointee.state != 2 || slot.pointee.lastSeen < victim.pointee.lastSeen { victim = slot }
            } else if victim.pointee.state != 2 && slot.pointee.lastSeen < victim.pointee.lastSeen {
                victim = slot
            }
        }
        if victim.pointee.state != 2 { evictedConnections &+= 1 }
        release(victim)
        return victim
    }

    /// Adds a slot's counts to its edge and empties it; it stays in the list if it was.
    private func release(_ slot: UnsafeMutablePointer<Connection>) {
        settle(slot, force: true)
        if !namedConnections.isEmpty { namedConnections[slot - connections] = nil }
        let listed = slot.pointee.listed
        // The slot's type is trivial: all-zero bytes are an empty slot, as calloc made it.
        memset(slot, 0, MemoryLayout<Connection>.stride)
        slot.pointee.listed = listed
    }

    private func list(_ slot: UnsafeMutablePointer<Connection>) {
        slot.pointee.listed = true
        listedSlots[listedCount] = UInt32(truncatingIfNeeded: slot - connections)
        listedCount += 1
    }

    /// Adds the counts of a slot to its edge under the process the socket table names.
    /// Without `force`, an open connection whose process the latest reading does not name
    /// yet waits for the next reading; false when it waits.
    @discardableResult
    func settle(_ slot: UnsafeMutablePointer<Connection>, force: Bool) -> Bool {
        let tallies = (slot.pointee.sides[0].tally, slot.pointee.sides[1].tally)
        let empty = SenderTally()
        if Self.isEmpty(tallies.0) && Self.isEmpty(tallies.1) { return true }
        var process = ProcessIdentity(name: "")
        let index = slot - connections
        if let endpoints {
            if let named = endpoints.process(ipProtocol: 6, localAddress: slot.pointee.local, localPort: slot.pointee.localPort) {
                process = named
                // Remembered for what the connection sends after its socket is gone.
                if namedConnections[index] != named { namedConnections[index] = named }
            } else if let named = namedConnections[index] {
                process = named
            } else if !force && slot.pointee.state == 1 {
                return false
            }
        }
        addConnectionCounts(local: tallies.0, remote: tallies.1, peer: slot.pointee.remote, port: slot.pointee.servicePort,
                            upstream: slot.pointee.upstream, process: process)
        slot.pointee.sides[0].tally = empty
        slot.pointee.sides[1].tally = empty
        return true
    }

    static func isEmpty(_ tally: SenderTally) -> Bool {
        tally.dataSegments == 0 && tally.zeroWindows == 0 && tally.duplicateAckRuns == 0 && tally.windowFullStalls == 0
            && tally.timestampSamples == 0
            && tally.ackSamples == 0 && tally.finFirst == 0 && tally.rstFirst == 0
    }

    /// Adds the counts of every listed slot to its edges; with `force`, open connections the
    /// socket table does not name go under process "" instead of waiting.
    func settleConnections(force: Bool) {
        var kept = 0
        for i in 0..<listedCount {
            let slot = connections + Int(listedSlots[i])
            if settle(slot, force: force) {
                slot.pointee.listed = false
            } else {
                listedSlots[kept] = listedSlots[i]
                kept += 1
            }
        }
        listedCount = kept
    }

    func connectionIndex(_ local: IPAddress, _ localPort: UInt16, _ remote: IPAddress, _ remotePort: UInt16) -> Int {
        // A different seed from the handshake table's, so the two tables' collisions differ.
        let hash = SeededHash.mix(seed: seed ^ 0x9E37_79B9_7F4A_7C15, remote.low, remote.high ^ local.low ^ (local.high >> 1),
                                  UInt64(localPort) << 16 | UInt64(remotePort))
        return Int(truncatingIfNeeded: hash) & connectionMask & ~(Self.connectionWays - 1)
    }
}
