import Curl
import Hummingbird
import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle

/// A stand-in SMS/voice provider: Twilio's Messages and Calls API, Vonage's SMS API, signed
/// delivery receipts, and faults on demand. Run it as a `Service` (in a `ServiceGroup`, which
/// shuts it down gracefully) or call `run(onListening:)` and cancel the task to stop it.
///
/// ```swift
/// var options = SimulatorOptions()
/// options.port = 0
/// let simulator = try ProviderSimulator(options: options, logger: logger)
/// try await simulator.run { port in print("listening on \(port)") }
/// ```
public final class ProviderSimulator: Service, Sendable {
    public let options: SimulatorOptions
    private let logger: Logger
    private let state: SimulatorState
    private let receipts: ReceiptSender
    private let boundPort = NIOLockedValueBox<Int?>(nil)

    /// Validates `options`; nothing listens before `run`.
    public init(options: SimulatorOptions, logger: Logger) throws(SimulatorOptionsError) {
        try options.validate()
        self.options = options
        self.logger = logger
        state = SimulatorState(options: options)
        receipts = ReceiptSender(state: state, options: options, logger: logger)
    }

    /// The port it listens on, once it does.
    public var port: Int? { boundPort.withLockedValue { $0 } }

    /// Counts by outcome since start or the last `reset()`.
    public var statistics: SimulatorStatistics { state.statistics }

    /// Accepted messages and calls, oldest first (at most `options.maxStoredMessages`).
    public var messages: [SimulatedMessage] { state.messages }

    /// The current fault knobs.
    public var faults: FaultSettings { state.faults }

    /// Changes the fault knobs for the requests that follow.
    public func setFaults(_ faults: FaultSettings) throws(SimulatorOptionsError) {
        try faults.validate()
        state.setFaults(faults)
    }

    /// Forgets the stored messages and zeroes the statistics (what `DELETE /sim/messages` does).
    public func reset() { state.reset() }

    /// `Service`: serves until graceful shutdown or cancellation.
    public func run() async throws {
        try await run(onListening: { _ in })
    }

    /// Serves until graceful shutdown or cancellation; `onListening` gets the bound port once
    /// the socket listens (the chosen one when `options.port` is 0). Run it once per instance.
    public func run(onListening: @escaping @Sendable (Int) async -> Void) async throws {
        let client = HTTPClient(configuration: Self.clientConfiguration, logger: logger)
        let responder = SimulatorResponder(state: state, receipts: receipts, options: options, logger: logger)
        let configuration = ApplicationConfiguration(
            address: .hostname(options.host, port: options.port), serverName: nil, backlog: 1024)
        let app = Application(
            responder: responder,
            server: .http1(configuration: .init(additionalChannelHandlers: [ConnectionWatch()])),
            configuration: configuration,
            onServerRunning: { [boundPort, logger] channel in
                let port = channel.localAddress?.port ?? 0
                boundPort.withLockedValue { $0 = port }
                logger.info("provider simulator listening", metadata: ["sim.port": "\(port)"])
                await onListening(port)
            },
            logger: logger)
        let receipts = self.receipts
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await receipts.run(client: client) }
                try await app.run()
                receipts.finish()
                group.cancelAll()
            }
        } catch {
            receipts.finish()
            await client.shutdown()
            throw error
        }
        await client.shutdown()
    }

    /// Builds a simulator and serves until the task is cancelled or shut down gracefully.
    public static func run(
        options: SimulatorOptions, logger: Logger, onListening: @escaping @Sendable (Int) async -> Void = { _ in }
    ) async throws {
        try await ProviderSimulator(options: options, logger: logger).run(onListening: onListening)
    }

    private static var clientConfiguration: HTTPClient.Configuration {
        var configuration = HTTPClient.Configuration()
        configuration.userAgent = "Herald provider-sim"
        configuration.maxResponseBytes = 1 << 20
        return configuration
    }
}
