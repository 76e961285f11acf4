import ArgumentParser
import Foundation
import Logging
import ProviderSim
import Providers
import ServiceLifecycle

/// `herald provider-sim`: the local SMS/voice provider simulator (see API.md).
struct ProviderSimCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "provider-sim",
        abstract: "Run a local SMS/voice provider simulator (Twilio and Vonage APIs, signed receipts, faults on demand).",
        discussion: """
            Twilio: POST /2010-04-01/Accounts/{sid}/Messages.json and …/Calls.json (basic auth: any account SID, \
            password = --auth-token). Vonage: POST /sms/json (any api_key, api_secret = --vonage-api-secret, or signed \
            with --signature-secret). Receipts go to StatusCallback / callback. GET /sim/messages, DELETE /sim/messages, \
            GET /sim/stats, GET|POST /sim/config.
            """
    )

    @Option(help: "Address to listen on.") var host: String = "127.0.0.1"
    @Option(help: "Port to listen on (0 picks a free one).") var port: Int = 9099
    @Option(name: .customLong("latency-ms"), help: "Delay every answer by N milliseconds.") var latencyMs: Int = 0
    @Option(name: .customLong("error-rate"), help: "Share of requests answered 500 (0–1).") var errorRate: Double = 0
    @Option(name: .customLong("throttle-rate"), help: "Share of requests answered 429 with Retry-After: 1 (0–1).")
    var throttleRate: Double = 0
    @Option(name: .customLong("hang-rate"), help: "Share of requests never answered (0–1).") var hangRate: Double = 0
    @Option(name: .customLong("undelivered-rate"), help: "Share of accepted messages whose receipt says undelivered (0–1).")
    var undeliveredRate: Double = 0
    @Option(name: .customLong("receipt-delay-ms"), help: "Delay before posting a receipt, in milliseconds.")
    var receiptDelayMs: Int = 100
    @Flag(name: .customLong("sent-receipts"), help: "Also post the intermediate receipt (sent / accepted / ringing) before the final one.")
    var sentReceipts = false
    @Flag(name: .customLong("no-receipts"), help: "Post no delivery receipts (benchmarks of submission alone).")
    var noReceipts = false
    @Option(name: .customLong("auth-token"), help: "Twilio auth token: the basic-auth password, and the key receipts are signed with.")
    var authToken: String = "sim-auth-token"
    @Option(name: .customLong("vonage-api-secret"), help: "Vonage api_secret that requests must carry (any api_key is accepted).")
    var vonageAPISecret: String = "sim-api-secret"
    @Option(name: .customLong("signature-secret"), help: "Vonage signature secret (signed requests, receipts' sig).")
    var signatureSecret: String = "sim-signature-secret"
    @Option(name: .customLong("signature-method"), help: "Vonage signature method: md5hash, md5, sha1, sha256 or sha512.")
    var signatureMethod: String = "md5hash"
    @Option(help: "Seed for fault decisions and ids (repeatable runs).") var seed: UInt64?
    @Option(name: .customLong("max-messages"), help: "Messages kept for GET /sim/messages (oldest dropped first).")
    var maxMessages: Int = 100_000

    func options() throws -> SimulatorOptions {
        guard let method = VonageSignature.Method(rawValue: signatureMethod.lowercased()) else {
            throw ValidationError("--signature-method must be one of \(VonageSignature.Method.allCases.map(\.rawValue).joined(separator: ", ")), got \(signatureMethod)")
        }
        var options = SimulatorOptions()
        options.host = host
        options.port = port
        options.latencyMs = latencyMs
        options.errorRate = errorRate
        options.throttleRate = throttleRate
        options.hangRate = hangRate
        options.undeliveredRate = undeliveredRate
        options.receiptDelayMs = receiptDelayMs
        options.sentReceipts = sentReceipts
        options.receipts = !noReceipts
        options.authToken = authToken
        options.vonageAPISecret = vonageAPISecret
        options.signatureSecret = signatureSecret
        options.signatureMethod = method
        options.seed = seed
        options.maxStoredMessages = maxMessages
        do {
            try options.validate()
        } catch {
            throw ValidationError(error.description)
        }
        return options
    }

    func validate() throws {
        _ = try options()
    }

    func run() async throws {
        let options = try options()
        let level = ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0.lowercased()) } ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "herald.provider-sim")
        let simulator = try ProviderSimulator(options: options, logger: logger)
        let host = options.host.contains(":") ? "[\(options.host)]" : options.host
        let service = ListeningService(simulator: simulator) { port in
            say("provider-sim listening on http://\(host):\(port)")
        }
        let group = ServiceGroup(configuration: .init(
            services: [service], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}

/// Runs the simulator as a service, announcing its port.
private struct ListeningService: Service {
    let simulator: ProviderSimulator
    let onListening: @Sendable (Int) async -> Void

    func run() async throws {
        try await simulator.run(onListening: onListening)
    }
}
