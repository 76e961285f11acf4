import Curl
import Foundation
import Providers

/// Sends adapters' `WireRequest`s through the one `Curl` client and turns transport failures
/// into `ProviderFailure`s, so the dispatcher sees one kind of answer.
public struct ProviderClient: Sendable {
    public let http: HTTPClient
    /// How long one submission may take before it counts as failed (and may be retried).
    public let timeout: Duration

    public init(http: HTTPClient, timeout: Duration) {
        self.http = http
        self.timeout = timeout
    }

    public enum Answer: Sendable {
        case response(WireResponse)
        /// No answer: `hung` when the request may have reached the provider (a timeout after
        /// sending), so a retry could duplicate the message.
        case transportFailure(ProviderFailure, hung: Bool)
    }

    public func send(_ wire: WireRequest) async -> Answer {
        guard let method = Curl.HTTPRequest.Method(rawValue: wire.method.uppercased()) else {
            return .transportFailure(ProviderFailure(.rejected, code: "invalid_request", message: "unsupported HTTP method \(wire.method)"), hung: false)
        }
        var headers = HTTPHeaders()
        for header in wire.headers { headers.add(name: header.name, value: header.value) }
        let request = Curl.HTTPRequest(method: method, url: wire.url, headers: headers,
                                       body: wire.body.isEmpty && method == .GET ? nil : wire.body, timeout: timeout)
        do {
            let response = try await http.send(request)
            var fields: [String: String] = [:]
            for (name, value) in response.headers { fields[name.lowercased()] = value }
            return .response(WireResponse(status: response.status, headers: fields, body: response.body))
        } catch let error as HTTPClientError {
            switch error.code {
            case .timeout:
                return .transportFailure(ProviderFailure(.unavailable, code: "timeout", message: "the provider did not answer in time"), hung: true)
            case .couldNotResolveHost, .couldNotConnect, .tls:
                return .transportFailure(ProviderFailure(.unavailable, code: "unreachable", message: "the provider could not be reached (\(error.code))"), hung: false)
            case .addressNotAllowed:
                // Never sent: the address is link-local, metadata, or private without HERALD_ALLOW_PRIVATE_NETWORKS.
                return .transportFailure(ProviderFailure(.rejected, code: "address_not_allowed",
                                                         message: "the provider URL resolves to an address Herald may not reach"), hung: false)
            case .invalidURL, .unsupportedProtocol, .invalidRequest:
                return .transportFailure(ProviderFailure(.rejected, code: "invalid_request", message: "the provider URL is not usable (\(error.code))"), hung: false)
            default:
                return .transportFailure(ProviderFailure(.unavailable, code: "transport_error", message: "the request failed (\(error.code))"), hung: true)
            }
        } catch {
            return .transportFailure(ProviderFailure(.unavailable, code: "transport_error", message: "the request failed"), hung: true)
        }
    }
}
