import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Prometheus

/// Request ids, one log line per request, and Prometheus request metrics.
///
/// Logs and metric labels name the route pattern (`/v1/api-keys/{id}`), never the raw path
/// or query, which may carry phone numbers; unmatched paths share one label so scanners
/// cannot blow up the metric cardinality.
struct ObservabilityMiddleware: RouterMiddleware {
    typealias Context = HeraldRequestContext
    let metrics: HTTPMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        var response = try await next(request, context)
        let elapsed = ContinuousClock.now - start
        // Hummingbird names its not-found responder's path "NotFound"; we say "unmatched".
        let route = context.endpointPath.flatMap { $0.hasPrefix("/") ? $0 : nil } ?? "unmatched"
        response.headers[.requestID] = context.id
        metrics.record(method: request.method.rawValue, route: route, status: response.status.code, duration: elapsed)
        let level: Logger.Level = response.status.code >= 500 ? .error : .info
        context.logger.log(
            level: level, "request",
            metadata: [
                "http.method": "\(request.method.rawValue)", "http.route": "\(route)",
                "http.status": "\(response.status.code)",
                "http.duration_ms": "\(String(format: "%.2f", Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000))",
            ])
        return response
    }
}

extension HTTPField.Name {
    static let requestID = HTTPField.Name("X-Request-Id")!
    static let csrfToken = HTTPField.Name("X-CSRF-Token")!
}

/// Herald's HTTP metrics in one Prometheus registry per application (tests build many).
final class HTTPMetrics: Sendable {
    let registry: PrometheusCollectorRegistry
    static let buckets: [Duration] = [
        .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
        .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10),
    ]

    init(registry: PrometheusCollectorRegistry) { self.registry = registry }

    func record(method: String, route: String, status: Int, duration: Duration) {
        registry.makeCounter(
            descriptor: .init(namespace: "herald", subsystem: "http", metricName: "requests", unitName: "total",
                              helpText: "HTTP requests by route, method and status"),
            labels: [("route", route), ("method", method), ("status", String(status))]
        ).increment()
        registry.makeDurationHistogram(
            descriptor: .init(namespace: "herald", subsystem: "http", metricName: "request_duration", unitName: "seconds",
                              helpText: "HTTP request latency by route and method"),
            labels: [("route", route), ("method", method)],
            buckets: Self.buckets
        ).record(duration)
    }
}
