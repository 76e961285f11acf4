import Foundation
import TestSupport
import ProviderSim
import Testing

@Suite("Simulator options and the provider-sim command")
struct OptionsTests {
    @Test("the defaults are valid and match the documented ones")
    func defaults() throws {
        let options = SimulatorOptions()
        try options.validate()
        #expect(options.port == 9099)
        #expect(options.host == "127.0.0.1")
        #expect(options.authToken == "sim-auth-token")
        #expect(options.signatureSecret == "sim-signature-secret")
        #expect(options.vonageAPISecret == "sim-api-secret")
        #expect(options.signatureMethod == .md5hash)
    }

    /// Sets the property behind `flag` from text, as the command line would.
    static func options(_ flag: String, _ value: String) -> SimulatorOptions {
        var options = SimulatorOptions()
        switch flag {
        case "--error-rate": options.errorRate = Double(value)!
        case "--throttle-rate": options.throttleRate = Double(value)!
        case "--hang-rate": options.hangRate = Double(value)!
        case "--undelivered-rate": options.undeliveredRate = Double(value)!
        case "--latency-ms": options.latencyMs = Int(value)!
        case "--receipt-delay-ms": options.receiptDelayMs = Int(value)!
        case "--port": options.port = Int(value)!
        case "--auth-token": options.authToken = value
        default: options.errorRate = 0.6; options.throttleRate = 0.6
        }
        return options
    }

    @Test("out-of-range options are refused, naming the flag", arguments: [
        ("--error-rate", "1.5"), ("--throttle-rate", "-0.1"), ("--hang-rate", "nan"), ("--undelivered-rate", "2"),
        ("--error-rate, --throttle-rate, --hang-rate", "sum"), ("--latency-ms", "-1"), ("--receipt-delay-ms", "-5"),
        ("--port", "70000"), ("--auth-token", ""),
    ])
    func invalidOptions(flag: String, value: String) {
        let options = Self.options(flag, value)
        #expect { try options.validate() } throws: { ($0 as? SimulatorOptionsError)?.option == flag }
        #expect(throws: SimulatorOptionsError.self) { try ProviderSimulator(options: options, logger: quietLogger) }
    }

    @Test("undelivered-rate does not count towards the fault shares")
    func undeliveredIsSeparate() throws {
        var options = SimulatorOptions()
        options.errorRate = 0.5
        options.hangRate = 0.5
        options.undeliveredRate = 1
        try options.validate()
    }

    // MARK: The command itself

    /// The `herald` binary next to the test bundle (`swift build --build-tests` builds both).
    static let heraldBinary: URL? = {
        let candidates = [
            URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent(),
            Bundle.main.bundleURL.deletingLastPathComponent(),
            URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent(".build/debug"),
        ]
        return candidates.map { $0.appendingPathComponent("herald") }
            .first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }()

    static func runHerald(_ arguments: [String]) throws -> (status: Int32, output: String, errors: String) {
        let process = Process()
        guard let binary = heraldBinary else { throw CocoaError(.fileNoSuchFile) }
        process.executableURL = binary
        process.arguments = arguments
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let out = output.fileHandleForReading.readDataToEndOfFile()
        let err = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self))
    }

    @Test("herald provider-sim refuses bad flags with a clear message", .enabled(if: heraldBinary != nil), arguments: [
        (["--error-rate", "1.5"], "--error-rate"),
        (["--error-rate", "0.7", "--hang-rate", "0.7"], "add up to at most 1"),
        (["--latency-ms", "-3"], "--latency-ms"),
        (["--signature-method", "rot13"], "--signature-method"),
        (["--throttle-rate", "lots"], "throttle-rate"),
    ])
    func badFlags(arguments: [String], mention: String) async throws {
        let result = try await offPool { try Self.runHerald(["provider-sim"] + arguments) }
        #expect(result.status != 0)
        #expect(result.errors.contains(mention), "\(result.errors)")
    }

    @Test("herald provider-sim announces where it listens and serves", .enabled(if: heraldBinary != nil))
    func announces() async throws {
        let process = Process()
        guard let binary = Self.heraldBinary else { throw CocoaError(.fileNoSuchFile) }
        process.executableURL = binary
        process.arguments = ["provider-sim", "--port", "0"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { process.terminate() }; process.waitUntilExit() }
        let line = await Task.detached { () -> String in
            var bytes: [UInt8] = []
            while let byte = try? output.fileHandleForReading.read(upToCount: 1)?.first, byte != UInt8(ascii: "\n") {
                bytes.append(byte)
            }
            return String(decoding: bytes, as: UTF8.self)
        }.value
        let match = try #require(line.wholeMatch(of: /provider-sim listening on http:\/\/127\.0\.0\.1:(\d+)/))
        #expect(Int(match.1).map { $0 > 0 } == true)
        process.interrupt()
        let status = try await offPool { process.waitUntilExit(); return process.terminationStatus }
        #expect(status == 0)
    }
}
