/// The one hash mixer of the project's open-addressed tables (traffic series, TCP
/// connections, outstanding DNS queries, the API's peer grouping): three 64-bit words
/// and a per-table random seed in, 64 well-mixed bits out. The seed keeps a sender who
/// chooses addresses or ports from aiming every key at one bucket.
public enum SeededHash {
    /// Mixes `a`, `b` and `c` under `seed`: multiply-xorshift rounds, one per word.
    @inlinable @inline(__always)
    public static func mix(seed: UInt64, _ a: UInt64, _ b: UInt64, _ c: UInt64) -> UInt64 {
        var h = seed ^ (a &* 0x9E37_79B9_7F4A_7C15)
        h = (h ^ (h >> 32)) &* 0xD6E8_FEB8_6659_FD93
        h ^= b &* 0xC2B2_AE3D_27D4_EB4F
        h = (h ^ (h >> 29)) &* 0x1656_67B1_9E37_79F9
        h ^= c &* 0x85EB_CA77_C2B2_AE63
        h = (h ^ (h >> 32)) &* 0xD6E8_FEB8_6659_FD93
        return h ^ (h >> 29)
    }

    /// A fresh random seed for one table.
    public static func randomSeed() -> UInt64 { UInt64.random(in: .min ... .max) }
}
