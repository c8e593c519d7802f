/// The one hash mixer of the project's open-addressed tables (traffic series, TCP
/// connections, outstanding DNS queries, the API's peer grouping): three 64-bit words
/// and a per-table random seed in, 64 well-mixed bits out. The seed keeps a sender who
/// chooses addresses or ports from aiming every key at one bucket.
public enum SeededHash {
    /// Mixes `a`, `b` and `c` under `seed`: two folded multiplications (the 128-bit
    /// product's halves xored), the first of `a` and `b`, each keyed by the seed, the second
    /// of that and `c` by the seed again. Two multiplications in a row, where a
    /// multiply-xorshift round per word takes six: every packet hashes at least once.
    @inlinable @inline(__always)
    public static func mix(seed: UInt64, _ a: UInt64, _ b: UInt64, _ c: UInt64) -> UInt64 {
        // The seed's halves swapped key `b`: a pair (a, b), (b', a') cannot be made to
        // collide without knowing it (the product is symmetric).
        let first = fold(a ^ seed, b ^ (seed << 32 | seed >> 32) ^ 0x9E37_79B9_7F4A_7C15)
        // Odd, so no seed makes the second product 0 whatever the keys.
        return fold(first ^ c ^ 0xC2B2_AE3D_27D4_EB4F, (seed ^ 0xD6E8_FEB8_6659_FD93) | 1)
    }

    /// The high and low halves of `x` times `y`, xored.
    @inlinable @inline(__always)
    static func fold(_ x: UInt64, _ y: UInt64) -> UInt64 {
        let product = x.multipliedFullWidth(by: y)
        return product.high ^ product.low
    }

    /// A fresh random seed for one table.
    public static func randomSeed() -> UInt64 { UInt64.random(in: .min ... .max) }
}
