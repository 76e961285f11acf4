import Foundation
import Herald
import HTTPTypes
import Hummingbird
import NIOCore

/// An error in the wire form of API.md: a status and
/// `{"error": {"code", "message", "field"}}`.
struct APIError: Error, HTTPResponseError {
    let status: HTTPResponse.Status
    let code: String
    let message: String
    let field: String?
    var headers: HTTPFields = [:]

    init(status: HTTPResponse.Status, code: String, message: String, field: String? = nil, headers: HTTPFields = [:]) {
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.headers = headers
    }

    struct Body: Encodable {
        struct Detail: Encodable {
            let code: String
            let message: String
            @Nullable var field: String?
        }
        let error: Detail
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        var headers = headers
        // The rest of a refused body is not worth reading: the connection ends after the
        // response (``CloseAfterResponseHandler`` lets the client read it first).
        if status == .contentTooLarge { headers[.connection] = "close" }
        return try JSON.response(Body(error: .init(code: code, message: message, field: field)), status: status, headers: headers)
    }

    static let notFound = APIError(status: .notFound, code: "not_found", message: "no such resource")
    static let internalError = APIError(status: .internalServerError, code: "internal_error", message: "an unexpected error occurred; it has been logged")

    static func payloadTooLarge(limit: Int) -> APIError {
        APIError(status: .contentTooLarge, code: "payload_too_large", message: "the request body is larger than \(limit) bytes")
    }

    static func methodNotAllowed(allowed: [HTTPRequest.Method]) -> APIError {
        let allow = allowed.map(\.rawValue).sorted().joined(separator: ", ")
        return APIError(
            status: .methodNotAllowed, code: "method_not_allowed", message: "this path does not accept that method",
            headers: [.allow: allow])
    }

    /// Maps a domain error onto its HTTP form. The only place statuses are chosen for them.
    init(_ error: HeraldError) {
        let status: HTTPResponse.Status =
            switch error.code {
            case .validationFailed: .badRequest
            case .notFound: .notFound
            case .unauthorized, .invalidCredentials: .unauthorized
            case .forbidden, .csrfFailed, .countryNotAllowed, .invalidSignature: .forbidden
            case .passwordChangeRequired, .invalidCurrentPassword: .forbidden
            case .alreadyExists, .recipientUnsubscribed, .idempotencyConflict: .conflict
            case .lastAdmin, .invalidState, .inUse: .conflict
            case .providerError: .badGateway
            case .secretsRequired: .badRequest
            case .secretsUnreadable: .serviceUnavailable
            case .rateLimited, .resendTooSoon, .maxSendsReached, .suspectedFraud: .tooManyRequests
            case .verificationNotFound: .notFound
            case .numberTypeNotSupported: .forbidden
            case .databaseUnavailable, .serverBusy: .serviceUnavailable
            case .payloadTooLarge: .contentTooLarge
            case .invalidRule: .badRequest
            case .invalidPhoneNumber, .invalidTemplate, .templateNotFound, .missingVariable, .invalidWebhook, .templateTooComplex: .badRequest
            }
        var headers: HTTPFields = [:]
        if let retryAfter = error.retryAfter { headers[.retryAfter] = String(retryAfter) }
        self.init(status: status, code: error.code.rawValue, message: error.message, field: error.field, headers: headers)
    }

    /// A JSON body of the wrong shape → 400 `validation_failed` with the JSON path.
    static func validation(_ error: DecodingError) -> APIError {
        func path(_ codingPath: [any CodingKey], _ last: (any CodingKey)? = nil) -> String? {
            let keys = codingPath + (last.map { [$0] } ?? [])
            guard !keys.isEmpty else { return nil }
            return keys.reduce(into: "") { result, key in
                if let index = key.intValue { result += "[\(index)]" } else { result += (result.isEmpty ? "" : ".") + key.stringValue }
            }
        }
        switch error {
        case .keyNotFound(let key, let context):
            return APIError(status: .badRequest, code: "validation_failed", message: "is required", field: path(context.codingPath, key))
        case .valueNotFound(_, let context):
            return APIError(status: .badRequest, code: "validation_failed", message: "must not be null", field: path(context.codingPath))
        case .typeMismatch(let type, let context):
            let field = path(context.codingPath)
            return APIError(
                status: .badRequest, code: "validation_failed",
                message: field == nil ? "the body must be a JSON object" : "must be \(describe(type))", field: field)
        case .dataCorrupted(let context):
            return APIError(status: .badRequest, code: "validation_failed", message: "has an invalid value", field: path(context.codingPath))
        @unknown default:
            return APIError(status: .badRequest, code: "validation_failed", message: "the body does not match the expected shape")
        }
    }

    private static func describe(_ type: Any.Type) -> String {
        let name = String(describing: type)
        switch type {
        case is String.Type: return "a string"
        case is Int.Type, is Int64.Type, is Int32.Type: return "an integer"
        case is Double.Type, is Float.Type: return "a number"
        case is Bool.Type: return "true or false"
        default:
            if name.hasPrefix("Array") { return "an array" }
            if name.hasPrefix("Dictionary") { return "an object" }
            return "of another type"
        }
    }
}
