import Curl
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import ProviderSim
import Providers
import Testing

@Suite("Faults and the /sim endpoints")
struct FaultTests {
    typealias Sim = RunningSimulator
    static let message = [("To", "+14155550100"), ("From", "+15005550006"), ("Body", "hi")]

    @Test("error-rate 1 answers 500 with a provider-style body")
    func errors() async throws {
        try await Sim.with({ $0.errorRate = 1 }) { sim in
            let twilio = try await sim.sendTwilio(Self.message)
            #expect(twilio.status == 500)
            #expect(try twilio.jsonObject()["code"] as? Int == 20500)
            let vonage = try await sim.sendVonage(VonageTests.credentials + [("from", "H"), ("to", "447700900000"), ("text", "hi")])
            #expect(vonage.status == 500)
            #expect((try vonage.jsonObject()["messages"] as? [[String: Any]])?.first?["status"] as? String == "5")
            let stats = try await sim.stats()
            #expect(stats["errors"] == 2)
            #expect(stats["accepted"] == 0)
            #expect(try await sim.listedMessages().isEmpty)
        }
    }

    @Test("throttle-rate 1 answers 429 with Retry-After: 1, and an immediate retry counts as early")
    func throttling() async throws {
        try await Sim.with({ $0.throttleRate = 1 }) { sim in
            let first = try await sim.sendTwilio(Self.message)
            #expect(first.status == 429)
            #expect(first.headers["Retry-After"] == "1")
            #expect(try first.jsonObject()["code"] as? Int == 20429)
            let retry = try await sim.sendTwilio(Self.message)
            #expect(retry.status == 429)
            let other = try await sim.sendTwilio([("To", "+14155550199"), ("From", "+15005550006"), ("Body", "hi")])
            #expect(other.status == 429)
            let stats = try await sim.stats()
            #expect(stats["throttled"] == 3)
            #expect(stats["early_retries"] == 1)
        }
    }

    @Test("a retry after Retry-After has passed is not early")
    func patientRetry() async throws {
        try await Sim.with({ $0.throttleRate = 1 }) { sim in
            _ = try await sim.sendTwilio(Self.message)
            try await Task.sleep(for: .milliseconds(1050))
            _ = try await sim.sendTwilio(Self.message)
            #expect(try await sim.stats()["early_retries"] == 0)
        }
    }

    @Test("hang-rate 1 never answers, so the client times out, and other requests still get answers")
    func hanging() async throws {
        try await Sim.with({ $0.hangRate = 1 }) { sim in
            let start = ContinuousClock.now
            await #expect(throws: HTTPClientError.self) {
                // Long enough that the simulator is holding the request (watching for the client
                // to leave) before the client gives up, even on a loaded machine.
                _ = try await sim.sendTwilio(Self.message, timeout: .milliseconds(1500))
            }
            #expect(ContinuousClock.now - start >= .milliseconds(1500))
            #expect(try await sim.stats()["hung"] == 1)
            // The client gave up and closed its connection: the simulator lets go of the request.
            _ = try await sim.waitForStats(timeout: .seconds(5)) { $0["hanging"] == 0 }
            #expect(try await sim.get("/sim/stats").status == 200)
            _ = try await sim.postJSON("/sim/config", #"{"hang_rate": 0}"#)
            #expect(try await sim.sendTwilio(Self.message).status == 201)
        }
    }

    @Test("a client that half-closes right after its request, before the simulator starts holding it, still frees it")
    func halfClosedBeforeHold() async throws {
        try await Sim.with({ $0.hangRate = 1 }) { sim in
            // The request and the end of input arrive together, so the end of input is seen before the
            // request handler begins to hold; a watcher installed only then never hears of it.
            let port = Int(sim.baseURL.split(separator: ":").last!)!
            let form = FormEncoding.encode(Self.message)
            let credentials = Data("\(Sim.accountSID):\(Sim.authToken)".utf8).base64EncodedString()
            let request = "POST /2010-04-01/Accounts/\(Sim.accountSID)/Messages.json HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                + "Authorization: Basic \(credentials)\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                + "Content-Length: \(form.utf8.count)\r\n\r\n\(form)"
            let socket = try HalfClosingClient(port: port)
            defer { socket.close() }
            try socket.sendThenHalfClose(request)
            let stats = try await sim.waitForStats(timeout: .seconds(30)) { $0["hung"] == 1 && $0["hanging"] == 0 }
            #expect(stats["requests"] == 1)
        }
    }

    @Test("a hung request is answered 504 once its hang timeout passes")
    func hangTimeout() async throws {
        try await Sim.with({ $0.hangRate = 1; $0.hangTimeout = .milliseconds(200) }) { sim in
            let response = try await sim.sendTwilio(Self.message, timeout: .seconds(5))
            #expect(response.status == 504)
        }
    }

    @Test("latency delays the answer")
    func latency() async throws {
        try await Sim.with({ $0.latencyMs = 200 }) { sim in
            let start = ContinuousClock.now
            let response = try await sim.sendTwilio(Self.message)
            #expect(response.status == 201)
            #expect(ContinuousClock.now - start >= .milliseconds(200))
        }
    }

    @Test("stats count every outcome, duplicates included")
    func statistics() async throws {
        try await Sim.with { sim in
            _ = try await sim.sendTwilio(Self.message)
            _ = try await sim.sendTwilio(Self.message)  // same to and body: a duplicate
            _ = try await sim.sendTwilio([("To", "+14155550100"), ("From", "+15005550006"), ("Body", "other")])
            _ = try await sim.sendTwilio([("From", "+15005550006"), ("Body", "hi")])  // invalid
            _ = try await sim.post(sim.twilioMessagesURL, form: Self.message, basicAuth: ("x", "y"))  // unauthorized
            let stats = try await sim.stats()
            #expect(stats == [
                "requests": 5, "accepted": 3, "errors": 0, "throttled": 0, "hung": 0, "unauthorized": 1, "invalid": 1,
                "receipts_sent": 0, "receipts_failed": 0, "duplicates": 1, "early_retries": 0, "hanging": 0,
            ])
        }
    }

    @Test("DELETE /sim/messages clears the messages and the stats")
    func clearing() async throws {
        try await Sim.with { sim in
            _ = try await sim.sendTwilio(Self.message)
            #expect(try await sim.listedMessages().count == 1)
            #expect(try await sim.delete("/sim/messages").status == 204)
            #expect(try await sim.listedMessages().isEmpty)
            #expect(try await sim.stats().values.allSatisfy { $0 == 0 })
            _ = try await sim.sendTwilio(Self.message)
            #expect(try await sim.stats()["duplicates"] == 0)
        }
    }

    @Test("/sim/messages filters by to (with or without +) and keeps the latest `limit`")
    func listing() async throws {
        try await Sim.with { sim in
            for index in 0..<3 {
                _ = try await sim.sendTwilio([("To", "+14155550100"), ("From", "+15005550006"), ("Body", "m\(index)")])
            }
            _ = try await sim.sendTwilio([("To", "+14155550111"), ("From", "+15005550006"), ("Body", "other")])
            #expect(try await sim.listedMessages().map { $0["body"] as? String } == ["m0", "m1", "m2", "other"])
            #expect(try await sim.listedMessages(query: "?to=%2B14155550111").count == 1)
            #expect(try await sim.listedMessages(query: "?to=+14155550100").count == 3)
            #expect(try await sim.listedMessages(query: "?to=14155550100&limit=2").map { $0["body"] as? String } == ["m1", "m2"])
        }
    }

    @Test("stored messages are capped, oldest dropped first")
    func storageCap() async throws {
        try await Sim.with({ $0.maxStoredMessages = 2 }) { sim in
            for index in 0..<5 {
                _ = try await sim.sendTwilio([("To", "+14155550100"), ("From", "+15005550006"), ("Body", "m\(index)")])
            }
            #expect(try await sim.listedMessages().map { $0["body"] as? String } == ["m3", "m4"])
            #expect(try await sim.stats()["accepted"] == 5)
        }
    }

    @Test("POST /sim/config changes fault rates at run time and refuses bad values")
    func runtimeConfig() async throws {
        try await Sim.with { sim in
            let changed = try await sim.postJSON("/sim/config", #"{"error_rate": 1, "latency-ms": 5}"#)
            #expect(changed.status == 200)
            let config = try changed.jsonObject()
            #expect(config["error_rate"] as? Double == 1)
            #expect(config["latency_ms"] as? Int == 5)
            #expect(try await sim.sendTwilio(Self.message).status == 500)

            for body in [#"{"throttle_rate": 0.5}"#, #"{"error_rate": 2}"#, #"{"latency_ms": -1}"#, #"{"nonsense": 1}"#, "[1]"] {
                let refused = try await sim.postJSON("/sim/config", body)
                #expect(refused.status == 400, "\(body)")
                #expect((try refused.jsonObject()["error"] as? [String: Any])?["code"] as? String == "validation_failed")
            }
            #expect(try await sim.get("/sim/config").jsonObject()["error_rate"] as? Double == 1)
            _ = try await sim.postJSON("/sim/config", #"{"error_rate": 0}"#)
            #expect(try await sim.sendTwilio(Self.message).status == 201)
        }
    }

    @Test("a seeded simulator makes the same fault decisions every run")
    func seeded() async throws {
        @Sendable func statuses() async throws -> [Int] {
            try await Sim.with({ $0.errorRate = 0.3; $0.throttleRate = 0.3; $0.seed = 99 }) { sim in
                var statuses: [Int] = []
                for _ in 0..<20 { statuses.append(try await sim.sendTwilio(Self.message).status) }
                return statuses
            }
        }
        let first = try await statuses()
        #expect(try await statuses() == first)
        #expect(Set(first) == [201, 429, 500])
    }
}

/// A plain TCP client that writes a request and shuts down its sending side at once.
final class HalfClosingClient {
    private let descriptor: Int32

    init(port: Int) throws {
        descriptor = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw HarnessError("socket: \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let connected = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
        guard connected else { Glibc.close(descriptor); throw HarnessError("connect: \(errno)") }
    }

    func sendThenHalfClose(_ text: String) throws {
        let bytes = Array(text.utf8)
        var sent = 0
        while sent < bytes.count {
            let written = bytes[sent...].withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard written > 0 else { throw HarnessError("send: \(errno)") }
            sent += written
        }
        guard Glibc.shutdown(descriptor, Int32(SHUT_WR)) == 0 else { throw HarnessError("shutdown: \(errno)") }
    }

    func close() { Glibc.close(descriptor) }
}
