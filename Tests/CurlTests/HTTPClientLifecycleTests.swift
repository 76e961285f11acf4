import Curl
import Foundation
import Testing

@Suite("concurrency, cancellation and shutdown")
struct HTTPClientLifecycleTests {
    @Test("2,000 concurrent requests over 64 slots all succeed on at most 64 connections")
    func manyConcurrentRequests() async throws {
        try await withTestServer { base in
            try await withClient({ $0.maxConcurrentTransfers = 64; $0.maxConnectionsPerHost = 64 }) { client in
                let count = 2_000
                let bodies = try await withThrowingTaskGroup(of: (Int, String).self) { group in
                    for index in 0..<count {
                        group.addTask {
                            let response = try await client.send(HTTPRequest(url: base + "/query?i=\(index)"))
                            #expect(response.status == 200)
                            return (index, response.bodyText)
                        }
                    }
                    var bodies: [Int: String] = [:]
                    for try await (index, body) in group { bodies[index] = body }
                    return bodies
                }
                #expect(bodies.count == count)
                #expect(bodies.allSatisfy { $0.value == "i=\($0.key)" })
                let statistics = client.statistics
                #expect(statistics.completed == count)
                #expect(statistics.inFlight == 0)
                #expect(statistics.queued == 0)
                #expect(statistics.connectionsOpened >= 1)
                #expect(statistics.connectionsOpened <= 64)
            }
        }
    }

    @Test("sequential requests reuse one keep-alive connection")
    func keepAlive() async throws {
        try await withTestServer { base in
            try await withClient { client in
                for index in 0..<50 {
                    let response = try await client.send(HTTPRequest(
                        method: .POST, url: base + "/echo", body: Array("n=\(index)".utf8)))
                    #expect(response.status == 200)
                }
                #expect(client.statistics.connectionsOpened == 1)
            }
        }
    }

    @Test("cancelling a running request throws .cancelled promptly, closes its connection, and the client goes on")
    func cancelRunning() async throws {
        let silent = try RawServer()
        defer { silent.stop() }
        try await withTestServer { base in
            try await withClient { client in
                let task = Task {
                    try await client.send(HTTPRequest(url: "http://127.0.0.1:\(silent.port)/", timeout: .seconds(30)))
                }
                #expect(await silent.wait { silent.acceptedCount == 1 })
                let (error, elapsed) = await timed {
                    task.cancel()
                    return await #expect(throws: HTTPClientError.self) { try await task.value }
                }
                #expect(error?.code == .cancelled)
                #expect(elapsed < .seconds(10), "cancellation does not wait for the 30 s timeout")
                #expect(await silent.wait { silent.closedCount == 1 })
                let after = try await client.send(HTTPRequest(url: base + "/query?after=cancel"))
                #expect(after.bodyText == "after=cancel")
                #expect(client.statistics.inFlight == 0)
            }
        }
    }

    @Test("cancelling a queued request throws .cancelled without it ever starting")
    func cancelQueued() async throws {
        let silent = try RawServer()
        defer { silent.stop() }
        try await withClient({ $0.maxConcurrentTransfers = 1 }) { client in
            let url = "http://127.0.0.1:\(silent.port)/"
            let running = Task { try await client.send(HTTPRequest(url: url, timeout: .seconds(30))) }
            #expect(await silent.wait { silent.acceptedCount == 1 })
            let queued = Task { try await client.send(HTTPRequest(url: url, timeout: .seconds(30))) }
            #expect(await silent.wait { client.statistics.queued == 1 })
            queued.cancel()
            let error = await #expect(throws: HTTPClientError.self) { try await queued.value }
            #expect(error?.code == .cancelled)
            running.cancel()
            _ = try? await running.value
            #expect(silent.acceptedCount == 1)
        }
    }

    @Test("a request from an already cancelled task throws .cancelled")
    func alreadyCancelled() async throws {
        try await withClient { client in
            let task = Task {
                withUnsafeCurrentTask { $0?.cancel() }
                return try await client.send(HTTPRequest(url: "http://127.0.0.1:1/"))
            }
            let error = await #expect(throws: HTTPClientError.self) { try await task.value }
            #expect(error?.code == .cancelled)
        }
    }

    @Test("shutdown fails running and queued requests with .shutdown, refuses new ones, and is idempotent")
    func shutdownFailsPendingWork() async throws {
        let silent = try RawServer()
        defer { silent.stop() }
        let client = HTTPClient(configuration: { var c = HTTPClient.Configuration(); c.maxConcurrentTransfers = 1; return c }(),
                                logger: LogRecorder().logger)
        let url = "http://127.0.0.1:\(silent.port)/"
        let running = Task { try await client.send(HTTPRequest(url: url)) }
        let queued = Task { try await client.send(HTTPRequest(url: url)) }
        #expect(await silent.wait { client.statistics == HTTPClientStatistics(inFlight: 1, queued: 1) })
        let (_, elapsed) = await timed { await client.shutdown() }
        #expect(elapsed < .seconds(10), "shutdown does not wait for the 30 s timeouts of pending work")
        for task in [running, queued] {
            let error = await #expect(throws: HTTPClientError.self) { try await task.value }
            #expect(error?.code == .shutdown)
        }
        let late = await #expect(throws: HTTPClientError.self) { try await client.send(HTTPRequest(url: url)) }
        #expect(late?.code == .shutdown)
        await client.shutdown()
        #expect(client.statistics.completed == 2)
        #expect(await silent.wait { silent.closedCount == 1 })
    }

    @Test("a client dropped without shutdown stops its thread and closes its connections")
    func dropWithoutShutdown() async throws {
        let server = try RawServer(response: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        defer { server.stop() }
        do {
            let client = HTTPClient(logger: LogRecorder().logger)
            #expect(try await client.send(HTTPRequest(url: "http://127.0.0.1:\(server.port)/")).bodyText == "ok")
        }
        #expect(await server.wait { server.closedCount == 1 })
    }

    @Test("tasks that prefer the client's executor run on its thread, and still finish after shutdown")
    func clientExecutor() async throws {
        let silent = try RawServer()
        defer { silent.stop() }
        try await withTestServer { base in
            let client = HTTPClient(logger: LogRecorder().logger)
            let bodies = try await withThrowingTaskGroup(of: String.self) { group in
                for index in 0..<8 {
                    group.addTask(executorPreference: client.executor) {
                        var last = ""
                        for round in 0..<25 {
                            last = try await client.send(HTTPRequest(url: base + "/query?task=\(index)&round=\(round)")).bodyText
                        }
                        return last
                    }
                }
                return try await group.reduce(into: Set<String>()) { $0.insert($1) }
            }
            #expect(bodies == Set((0..<8).map { "task=\($0)&round=24" }))
            #expect(client.statistics.completed == 200)

            // A task parked on the client's thread when it shuts down resumes elsewhere.
            let parked = Task(executorPreference: client.executor) {
                do {
                    _ = try await client.send(HTTPRequest(url: "http://127.0.0.1:\(silent.port)/"))
                    return "response"
                } catch let error as HTTPClientError {
                    try await Task.sleep(for: .milliseconds(1))  // runs on the global executor now
                    return "\(error.code)"
                }
            }
            #expect(await silent.wait { silent.acceptedCount == 1 })
            await client.shutdown()
            #expect(try await parked.value == "shutdown")
        }
    }
}
