/// Converts a sample value to a byte count; counters of bytes are whole and non-negative.
func byteCount(_ value: Double) -> UInt64? {
    guard value.isFinite, value >= 0, value < 18_446_744_073_709_551_616.0, value == value.rounded(.towardZero) else {
        return nil
    }
    return UInt64(value)
}
