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
        try decode(Array(text.utf8))
    }

    /// Splits on the bytes `&` and `=` (never inside a UTF-8 sequence) and unescapes each part
    /// byte by byte: every receipt is decoded on the hot path, and splitting by `Character`
    /// cost more than the webhook's HMAC.
    public static func decode(_ body: [UInt8]) throws(WebhookError) -> [(String, String)] {
        guard !body.isEmpty else { return [] }
        guard String(validating: body, as: UTF8.self) != nil else { throw WebhookError("the form body is not UTF-8") }
        var pairs: [(String, String)] = []
        var start = body.startIndex
        while start < body.endIndex {
            let end = body[start...].firstIndex(of: UInt8(ascii: "&")) ?? body.endIndex
            let piece = body[start..<end]
            if !piece.isEmpty {
                if let equals = piece.firstIndex(of: UInt8(ascii: "=")) {
                    pairs.append((try unescape(piece[..<equals]), try unescape(piece[piece.index(after: equals)...])))
                } else {
                    pairs.append((try unescape(piece), ""))
                }
            }
            start = end == body.endIndex ? end : body.index(after: end)
        }
        return pairs
    }

    /// `+` is a space and `%XX` a byte; the bytes must be UTF-8.
    static func unescape(_ text: String) throws(WebhookError) -> String {
        try unescape(Array(text.utf8)[...])
    }

    static func unescape(_ utf8: ArraySlice<UInt8>) throws(WebhookError) -> String {
        guard utf8.contains(where: { $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "%") }) else {
            guard let text = String(validating: utf8, as: UTF8.self) else { throw WebhookError("the form body is not UTF-8") }
            return text
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(utf8.count)
        var index = utf8.startIndex
        while index != utf8.endIndex {
            let byte = utf8[index]
            switch byte {
            case UInt8(ascii: "+"):
                bytes.append(UInt8(ascii: " "))
            case UInt8(ascii: "%"):
                let high = utf8.index(after: index)
                guard high != utf8.endIndex, utf8.index(after: high) != utf8.endIndex,
                      let h = hexValue(utf8[high]), let l = hexValue(utf8[utf8.index(after: high)])
                else { throw WebhookError("the form body has a malformed escape") }
                bytes.append(h << 4 | l)
                index = utf8.index(after: high)
            default:
                bytes.append(byte)
            }
            index = utf8.index(after: index)
        }
        guard let decoded = String(validating: bytes, as: UTF8.self) else { throw WebhookError("the form body has a malformed escape") }
        return decoded
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
