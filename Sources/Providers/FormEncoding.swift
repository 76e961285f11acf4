import Foundation

/// `application/x-www-form-urlencoded`, as providers send and expect it.
public enum FormEncoding {
    /// Bytes left as they are: RFC 3986 unreserved. A space becomes `+` (as HTML forms send
    /// it) unless `spaceAsPlus` is false, then `%20`.
    private static let unreservedTable: [Bool] = {
        var table = [Bool](repeating: false, count: 256)
        for byte in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~".utf8 { table[Int(byte)] = true }
        return table
    }()
    private static let hexDigits = Array("0123456789ABCDEF".utf8)

    /// Runs on every provider request, so it works on bytes: one pass, one allocation.
    public static func percentEncode(_ text: String, spaceAsPlus: Bool = true) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count + 16)
        for byte in text.utf8 {
            if unreservedTable[Int(byte)] {
                out.append(byte)
            } else if byte == 0x20 && spaceAsPlus {
                out.append(UInt8(ascii: "+"))
            } else {
                out.append(UInt8(ascii: "%"))
                out.append(hexDigits[Int(byte >> 4)])
                out.append(hexDigits[Int(byte & 0x0F)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// `a=1&b=2`, in the given order.
    public static func encode(_ pairs: [(String, String)]) -> String {
        pairs.map { percentEncode($0.0) + "=" + percentEncode($0.1) }.joined(separator: "&")
    }

    /// Parses a form body or query string; `+` is a space. Malformed escapes fail.
    public static func decode(_ text: String) throws(WebhookError) -> [(String, String)] {
        guard !text.isEmpty else { return [] }
        var pairs: [(String, String)] = []
        for piece in text.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = piece.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = try unescape(String(parts[0]))
            let value = parts.count > 1 ? try unescape(String(parts[1])) : ""
            pairs.append((name, value))
        }
        return pairs
    }

    public static func decode(_ body: [UInt8]) throws(WebhookError) -> [(String, String)] {
        guard let text = String(validating: body, as: UTF8.self) else { throw WebhookError("the form body is not UTF-8") }
        return try decode(text)
    }

    private static func unescape(_ text: String) throws(WebhookError) -> String {
        let plus = text.replacingOccurrences(of: "+", with: " ")
        guard let decoded = plus.removingPercentEncoding else { throw WebhookError("the form body has a malformed escape") }
        return decoded
    }
}
