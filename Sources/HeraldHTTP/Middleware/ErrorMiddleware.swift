import Herald
import HTTPTypes
import Hummingbird
import NIOCore
import Logging

/// Turns every failure into API.md's error body. Nothing unexpected reaches the client:
/// the detail goes to the log (with the request id), the client gets `internal_error`.
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = HeraldRequestContext
    let routes: RouteTable

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            let response = try await next(request, context)
            return response
        } catch {
            return try map(error, request: request, context: context).response(from: request, context: context)
        }
    }

    func map(_ error: any Error, request: Request, context: Context) -> APIError {
        switch error {
        case let error as APIError:
            return error
        case let error as HeraldError:
            return APIError(error)
        case let error as HTTPError where error.status == .notFound:
            let allowed = routes.methods(for: request.uri.path)
            if !allowed.isEmpty && !allowed.contains(request.method) {
                return .methodNotAllowed(allowed: allowed)
            }
            return .notFound
        case let error as HTTPError:
            return APIError(
                status: error.status, code: Self.code(for: error.status),
                message: error.body ?? error.status.reasonPhrase.lowercased())
        case is NIOTooManyBytesError:
            return .payloadTooLarge(limit: context.maxUploadSize)
        case let error where HeraldError(databaseFailure: error) != nil:
            context.logger.error("database unavailable", metadata: ["error": "\(error)"])
            return APIError(HeraldError(databaseFailure: error)!)
        case let error as any HTTPResponseError where error.status.code < 500:
            return APIError(status: error.status, code: Self.code(for: error.status), message: error.status.reasonPhrase.lowercased())
        default:
            context.logger.error("unhandled error", metadata: ["error": "\(error)", "error.type": "\(type(of: error))"])
            return .internalError
        }
    }

    static func code(for status: HTTPResponse.Status) -> String {
        switch status {
        case .badRequest: "bad_request"
        case .unauthorized: "unauthorized"
        case .forbidden: "forbidden"
        case .notFound: "not_found"
        case .methodNotAllowed: "method_not_allowed"
        case .contentTooLarge: "payload_too_large"
        case .unsupportedMediaType: "unsupported_media_type"
        case .tooManyRequests: "rate_limited"
        case .serviceUnavailable: "unavailable"
        default: status.code < 500 ? "bad_request" : "internal_error"
        }
    }
}
