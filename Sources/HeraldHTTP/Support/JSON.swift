import Foundation
import Herald
import HTTPTypes
import Hummingbird
import NIOCore

/// JSON in and out, with every failure mapped to the documented error codes.
///
/// One encoder writes every response. It converts no keys — user-keyed objects (provider
/// config, settings, translations, template variables) keep their keys as given — so each
/// response DTO names its wire keys in a `CodingKeys` enum, and optionals that the contract
/// shows as `null` are marked ``Nullable`` (synthesised `Encodable` would omit them).
enum JSON {
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    /// Encodes `value` as a response with `status`.
    static func response(_ value: some Encodable, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) throws -> Response {
        let data = try encoder.encode(value)
        var fields = headers
        fields[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// Reads and decodes a JSON request body.
    ///
    /// - a missing `Content-Type`, or one other than JSON → 415 `unsupported_media_type`;
    /// - more than `context.maxUploadSize` bytes → 413 `payload_too_large`;
    /// - not JSON at all → 400 `invalid_json`;
    /// - JSON of the wrong shape → 400 `validation_failed` naming the field.
    static func decode<T: Decodable>(_ type: T.Type, from request: Request, context: HeraldRequestContext) async throws -> T {
        try decode(type, from: try await body(of: request, context: context))
    }

    /// The raw bytes of a JSON request body, after the `Content-Type` and size checks.
    static func body(of request: Request, context: HeraldRequestContext) async throws -> Data {
        // A missing type is refused too: a browser form (text/plain, no preflight) must not
        // be able to post JSON-looking bodies across origins.
        guard let contentType = request.headers[.contentType]?.lowercased(),
              contentType.hasPrefix("application/json") || (contentType.hasPrefix("application/") && contentType.contains("+json"))
        else {
            throw APIError(status: .unsupportedMediaType, code: "unsupported_media_type",
                           message: "send the body as application/json with a Content-Type header")
        }
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: context.maxUploadSize)
        } catch is NIOTooManyBytesError {
            throw APIError.payloadTooLarge(limit: context.maxUploadSize)
        }
        return Data(buffer: buffer)
    }

    static func decode<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
        guard !data.isEmpty else { throw APIError(status: .badRequest, code: "invalid_json", message: "the request body is empty; send a JSON object") }
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch DecodingError.dataCorrupted(let context) where context.codingPath.isEmpty {
            // Corrupt at the top level: the bytes are not JSON at all (our bodies are objects).
            throw APIError(status: .badRequest, code: "invalid_json", message: "the request body is not valid JSON")
        } catch let error as DecodingError {
            throw APIError.validation(error)
        }
    }
}

/// An optional that is written as `null` when absent, never left out: API.md shows every
/// field of a resource, set or not.
@propertyWrapper
struct Nullable<Value: Encodable>: Encodable {
    var wrappedValue: Value?

    init(wrappedValue: Value?) { self.wrappedValue = wrappedValue }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        if let wrappedValue { try container.encode(wrappedValue) } else { try container.encodeNil() }
    }
}

/// A JSON list page: `{"data": [...], "next_cursor": "…" | null}`.
struct ListResponse<Item: Encodable>: Encodable {
    let data: [Item]
    @Nullable var nextCursor: String?

    init(data: [Item], nextCursor: String?) {
        self.data = data
        self.nextCursor = nextCursor
    }

    enum CodingKeys: String, CodingKey { case data, nextCursor = "next_cursor" }
}

extension Request {
    /// `?limit=` and `?cursor=` of a list.
    func listParameters() throws -> (limit: Int, cursor: ListCursor?) {
        let query = uri.queryParameters
        let limit = try ListLimit.parse(query["limit"].map(String.init))
        let cursor = try query["cursor"].map { try ListCursor(decoding: String($0)) }
        return (limit, cursor)
    }
}

extension Request {
    /// `?hours=` of the statistics endpoints: a whole number in `range`, `fallback` when absent.
    func hoursParameter(_ range: ClosedRange<Int>, default fallback: Int) throws -> Int {
        guard let text = uri.queryParameters["hours"].map(String.init) else { return fallback }
        guard let value = Int(text), range.contains(value) else {
            throw HeraldError.validation("hours", "must be a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }
}

extension UUID {
    /// The id as the API shows it: lowercase.
    var wire: String { uuidString.lowercased() }
}

extension Parameters {
    /// A path id as a UUID; anything else is simply not found (ids are opaque).
    func uuid(_ name: String, what: String) throws -> UUID {
        guard let text = get(name), let id = UUID(uuidString: text) else {
            throw HeraldError(.notFound, "no \(what) with this id")
        }
        return id
    }
}
