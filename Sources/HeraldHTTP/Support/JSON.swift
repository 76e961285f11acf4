import Foundation
import Herald
import HTTPTypes
import Hummingbird
import NIOCore

/// JSON in and out, with every failure mapped to the documented error codes.
enum JSON {
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
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
    /// - a `Content-Type` other than JSON → 415 `unsupported_media_type`;
    /// - more than `context.maxUploadSize` bytes → 413 `payload_too_large`;
    /// - not JSON at all → 400 `invalid_json`;
    /// - JSON of the wrong shape → 400 `validation_failed` naming the field.
    static func decode<T: Decodable>(_ type: T.Type, from request: Request, context: HeraldRequestContext) async throws -> T {
        if let contentType = request.headers[.contentType]?.lowercased(),
            !(contentType.hasPrefix("application/json") || contentType.contains("+json"))
        {
            throw APIError(status: .unsupportedMediaType, code: "unsupported_media_type", message: "send the body as application/json")
        }
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: context.maxUploadSize)
        } catch is NIOTooManyBytesError {
            throw APIError.payloadTooLarge(limit: context.maxUploadSize)
        }
        return try decode(type, from: Data(buffer: buffer))
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

/// Encodes user-keyed JSON (config, headers, translations) without the snake_case key
/// conversion the main encoder applies.
enum PlainJSON {
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    static func response(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        Response(status: status, headers: [.contentType: "application/json; charset=utf-8"],
                 body: .init(byteBuffer: ByteBuffer(bytes: try encoder.encode(value))))
    }
}

/// A JSON list page: `{"data": [...], "next_cursor": "…" | null}`.
struct ListResponse<Item: Encodable>: Encodable {
    let data: [Item]
    let nextCursor: String?

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(data, forKey: .data)
        try container.encode(nextCursor, forKey: .nextCursor)  // explicit null, never omitted
    }

    enum CodingKeys: String, CodingKey { case data, nextCursor }
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

extension Parameters {
    /// A path id as a UUID; anything else is simply not found (ids are opaque).
    func uuid(_ name: String, what: String) throws -> UUID {
        guard let text = get(name), let id = UUID(uuidString: text) else {
            throw HeraldError(.notFound, "no \(what) with this id")
        }
        return id
    }
}
