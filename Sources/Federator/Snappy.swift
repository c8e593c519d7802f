import CSnappy

/// Snappy block format (not the framed stream format), as remote write requires.
enum Snappy {
    /// `input` compressed.
    static func compress(_ input: [UInt8]) -> [UInt8] {
        var length = snappy_max_compressed_length(input.count)
        var output = [UInt8](repeating: 0, count: length)
        let status = input.withUnsafeBytes { source in
            output.withUnsafeMutableBytes { target in
                snappy_compress(
                    source.baseAddress?.assumingMemoryBound(to: CChar.self), input.count,
                    target.baseAddress?.assumingMemoryBound(to: CChar.self), &length)
            }
        }
        // Compression fails only for a too-small output buffer, which the bound above rules out.
        precondition(status == SNAPPY_OK, "snappy_compress failed with a buffer of its own maximum size")
        output.removeSubrange(length...)
        return output
    }

    /// `input` uncompressed, or nil when it is not valid snappy data.
    static func uncompress(_ input: [UInt8]) -> [UInt8]? {
        var length = 0
        let sized = input.withUnsafeBytes { source in
            snappy_uncompressed_length(source.baseAddress?.assumingMemoryBound(to: CChar.self), input.count, &length)
        }
        guard sized == SNAPPY_OK else { return nil }
        var output = [UInt8](repeating: 0, count: length)
        let status = input.withUnsafeBytes { source in
            output.withUnsafeMutableBytes { target in
                snappy_uncompress(
                    source.baseAddress?.assumingMemoryBound(to: CChar.self), input.count,
                    target.baseAddress?.assumingMemoryBound(to: CChar.self), &length)
            }
        }
        guard status == SNAPPY_OK else { return nil }
        return Array(output.prefix(length))
    }
}
