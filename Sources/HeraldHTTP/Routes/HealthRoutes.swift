import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Herald
import SMS
import Prometheus
import Synchronization

/// `/healthz`, `/readyz`, `/metrics`, `/openapi.yaml`.
struct HealthRoutes {
    let health: HealthService
    let registry: PrometheusCollectorRegistry
    /// When set, `/metrics` answers only `Authorization: Bearer <token>`.
    let metricsToken: String?
    let openAPIDocument: ByteBuffer
    /// The pool's cumulative timeout count at the last scrape.
    let lastAcquireTimeouts = LastCount()

    final class LastCount: Sendable {
        private let value = Mutex<Int>(0)
        func withLock<T>(_ body: (inout Int) -> T) -> T { value.withLock { body(&$0) } }
    }

    struct Status: Encodable {
        let status: String
    }

    func register(on router: RouteRegistrar) {
        router.get("/healthz") { _, _ in try JSON.response(Status(status: "ok")) }
        router.get("/readyz") { _, _ in
            guard await health.databaseReachable(timeout: .seconds(2)) else {
                throw APIError(
                    status: .serviceUnavailable, code: "database_unavailable",
                    message: "the database cannot be reached", headers: [.retryAfter: "5"])
            }
            return try JSON.response(Status(status: "ready"))
        }
        router.get("/metrics") { request, _ in
            if let metricsToken {
                let sent = request.headers[.authorization] ?? ""
                guard ConstantTime.equals(sent, "Bearer " + metricsToken) else {
                    throw APIError(status: .unauthorized, code: "unauthorized", message: "send the metrics token as a bearer token",
                                   headers: [.wwwAuthenticate: "Bearer realm=\"metrics\""])
                }
            }
            recordPoolStatistics()
            var buffer: [UInt8] = []
            registry.emit(into: &buffer)
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: buffer)))
        }
        router.get("/openapi.yaml") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/yaml; charset=utf-8"], body: .init(byteBuffer: openAPIDocument))
        }
    }

    /// Pool usage as gauges, read at scrape time so they are never stale.
    func recordPoolStatistics() {
        let stats = health.poolUsage
        func gauge(_ name: String, _ help: String, _ value: Int) {
            registry.makeGauge(
                descriptor: .init(namespace: "herald", subsystem: "db_pool", metricName: name, unitName: "", helpText: help)
            ).set(Double(value))
        }
        gauge("connections_open", "Open database connections", stats.open)
        gauge("connections_in_use", "Database connections lent out", stats.inUse)
        gauge("connections_idle", "Idle database connections", stats.idle)
        gauge("waiters", "Tasks waiting for a database connection", stats.waiting)
        gauge("connections_max", "Maximum database connections", stats.maxConnections)
        // A counter (monotonic), advanced by what happened since the last scrape.
        let counter = registry.makeCounter(
            descriptor: .init(namespace: "herald", subsystem: "db_pool", metricName: "acquire_timeouts", unitName: "",
                              helpText: "Acquires that timed out"))
        let delta = lastAcquireTimeouts.withLock { last in
            defer { last = stats.acquireTimeouts }
            return max(0, stats.acquireTimeouts - last)
        }
        if delta > 0 { counter.increment(by: Int64(delta)) }
    }
}

extension HTTPField.Name {
    static let wwwAuthenticate = HTTPField.Name("WWW-Authenticate")!
}
