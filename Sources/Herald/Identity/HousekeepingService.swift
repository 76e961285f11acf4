import Logging
import ServiceLifecycle

/// Periodic clean-up: expired sessions and ended rate-limit windows.
public struct HousekeepingService: Service {
    let identity: IdentityService
    let interval: Duration
    let logger: Logger

    public init(identity: IdentityService, interval: Duration = .seconds(600), logger: Logger) {
        self.identity = identity
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try await Task.sleep(for: interval)
                do {
                    try await identity.purgeExpired()
                } catch {
                    logger.warning("housekeeping failed", metadata: ["error": "\(error)"])
                }
            }
        }
    }
}
