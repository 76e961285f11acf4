import Foundation

/// The opaque `?cursor=` of keyset-paginated lists (newest first).
///
/// It carries the last row's `created_at` in whole microseconds (PostgreSQL's precision, so
/// the comparison is exact) and its id. Clients must not parse it; a damaged one is a
/// validation error, never a 500.
public struct ListCursor: Sendable, Equatable {
    public let createdAtMicroseconds: Int64
    public let id: UUID

    public init(createdAtMicroseconds: Int64, id: UUID) {
        self.createdAtMicroseconds = createdAtMicroseconds
        self.id = id
    }

    public var encoded: String {
        let raw = "\(createdAtMicroseconds):\(id.uuidString.lowercased())"
        return Data(raw.utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    public init(decoding text: String, field: String = "cursor") throws {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        guard text.count <= 200, let data = Data(base64Encoded: base64),
            let raw = String(data: data, encoding: .utf8)
        else { throw HeraldError.validation(field, "is not a cursor returned by this list") }
        let parts = raw.split(separator: ":")
        guard parts.count == 2, let micros = Int64(parts[0]), let id = UUID(uuidString: String(parts[1])) else {
            throw HeraldError.validation(field, "is not a cursor returned by this list")
        }
        self.init(createdAtMicroseconds: micros, id: id)
    }
}

/// `?limit=` of lists: 1–500, default 50 (API.md, "Conventions").
public enum ListLimit {
    public static let `default` = 50
    public static let maximum = 500

    public static func parse(_ raw: String?, field: String = "limit") throws -> Int {
        guard let raw else { return Self.default }
        guard let value = Int(raw), (1...maximum).contains(value) else {
            throw HeraldError.validation(field, "must be a whole number from 1 to \(maximum)")
        }
        return value
    }
}
