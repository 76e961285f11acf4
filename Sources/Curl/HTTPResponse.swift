/// The final response of a transfer (after redirects, when they are followed).
public struct HTTPResponse: Sendable {
    public let status: Int
    /// The header fields of the final response only.
    public let headers: HTTPHeaders
    public let body: [UInt8]

    public init(status: Int, headers: HTTPHeaders = [:], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The body decoded as UTF-8, invalid sequences replaced.
    public var bodyText: String {
        String(decoding: body, as: UTF8.self)
    }
}

extension HTTPResponse: CustomStringConvertible {
    /// Status and size only: the body may hold personal data.
    public var description: String {
        "HTTPResponse(status: \(status), \(body.count) bytes)"
    }
}
