import Curl
import ServiceLifecycle
import Synchronization

/// The one outbound HTTP client (providers, events) as a lifecycle service: it runs until
/// the graceful shutdown, after the workers that use it have stopped, then shuts down.
final class HTTPClientService: Service, Sendable {
    let client: HTTPClient
    private let closed = Atomic<Bool>(false)

    init(client: HTTPClient) { self.client = client }

    func run() async throws {
        try? await gracefulShutdown()
        await close()
    }

    /// Shuts the client down; only the first call acts.
    func close() async {
        guard closed.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else { return }
        await client.shutdown()
    }
}
