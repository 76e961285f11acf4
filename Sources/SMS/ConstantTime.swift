/// Comparison whose time does not depend on where two byte strings differ: for signatures,
/// webhook tokens, codes and anything else an attacker could guess byte by byte. The one
/// place Herald compares secrets.
public enum ConstantTime {
    /// True when `a` and `b` are equal. Only the lengths may leak (they are not secret here:
    /// every caller compares fixed-length digests or tokens).
    public static func equals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }

    public static func equals(_ a: String, _ b: String) -> Bool {
        equals(Array(a.utf8), Array(b.utf8))
    }
}
