import CZlib
import NIOCore

/// Compresses a stream of parts into one gzip member (RFC 1952) with zlib, a part at a
/// time, so a large scrape is never held whole, compressed or not.
final class GzipEncoder {
    /// zlib's fastest level: on an exposition (long runs of repeated label names) it
    /// comes within a few percent of the default level's size at a fraction of its CPU.
    static let level: Int32 = 1

    private let stream: UnsafeMutablePointer<z_stream>
    private static let scratchBytes = 64 << 10
    private let scratch = UnsafeMutablePointer<UInt8>.allocate(capacity: scratchBytes)

    init() {
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        let status = czlib_deflate_init_gzip(stream, Self.level)
        // Fails only for bad arguments or out of memory; neither is a state to serve from.
        precondition(status == Z_OK, "zlib deflateInit2 failed (\(status))")
    }

    deinit {
        deflateEnd(stream)
        stream.deallocate()
        scratch.deallocate()
    }

    /// Compresses `bytes` and returns what zlib has ready (often nothing for a small part).
    func compress(_ bytes: [UInt8]) -> ByteBuffer {
        bytes.withUnsafeBufferPointer { input in run(input, flush: Z_NO_FLUSH) }
    }

    /// Ends the stream: returns the rest of the compressed data and the gzip trailer.
    func finish() -> ByteBuffer {
        run(UnsafeBufferPointer(start: nil, count: 0), flush: Z_FINISH)
    }

    private func run(_ input: UnsafeBufferPointer<UInt8>, flush: Int32) -> ByteBuffer {
        var output = ByteBuffer()
        stream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress)
        stream.pointee.avail_in = UInt32(input.count)
        // Bounded: each round either consumes input or fills the scratch space.
        while true {
            stream.pointee.next_out = scratch
            stream.pointee.avail_out = UInt32(Self.scratchBytes)
            let status = deflate(stream, flush)
            precondition(status == Z_OK || status == Z_STREAM_END || status == Z_BUF_ERROR, "zlib deflate failed (\(status))")
            let produced = Self.scratchBytes - Int(stream.pointee.avail_out)
            // Copied out at its size: a part held for later readers takes no more than it needs.
            output.writeBytes(UnsafeRawBufferPointer(start: scratch, count: produced))
            let scratchFull = stream.pointee.avail_out == 0
            if flush == Z_FINISH ? status == Z_STREAM_END : (stream.pointee.avail_in == 0 && !scratchFull) { break }
        }
        stream.pointee.next_in = nil
        return output
    }
}

/// What the client's Accept-Encoding says about gzip (RFC 9110 12.5.3).
enum AcceptEncoding {
    /// True when `header` lists gzip (or x-gzip) with a quality above zero.
    static func allowsGzip(_ header: String?) -> Bool {
        guard let header else { return false }
        for item in header.split(separator: ",") {
            // Codings and their parameters hold no white space: drop it all.
            let fields = item.filter { $0 != " " && $0 != "\t" }.lowercased().split(separator: ";")
            guard let coding = fields.first, coding == "gzip" || coding == "x-gzip" else { continue }
            let quality = fields.dropFirst().first { $0.hasPrefix("q=") }.flatMap { Double($0.dropFirst(2)) } ?? 1
            return quality > 0
        }
        return false
    }
}
