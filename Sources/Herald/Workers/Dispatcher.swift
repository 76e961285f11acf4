import Foundation
import Logging
import Metrics
import Providers
import SMS
import ServiceLifecycle
import Synchronization

/// Sends queued messages: claim → route → rate-limit → submit → record, as a pipeline.
///
/// One claim loop keeps up to `window` submissions in flight on the shared curl multi loop;
/// outcomes are written in batches by the `OutcomeRecorder`. Any number of dispatchers in
/// any number of processes share the queue through `FOR UPDATE SKIP LOCKED`; a dispatcher
/// that dies leaves leased rows that go back to the queue when the lease expires, so
/// duplicates are bounded by the in-flight window and nothing is lost.
public final class Dispatcher: Service, Sendable {
    let store: QueueStore
    let providers: ProviderStore
    let directory: ProviderDirectory
    let client: ProviderClient
    let callbacks: CallbackURLs
    let codeSeal: CodeSeal
    let recorder: OutcomeRecorder
    let configuration: DispatcherConfiguration
    let clock: any HeraldClock
    let logger: Logger
    /// Signalled when messages are queued in this process.
    let wakeUp: WakeSignal
    private let stopping = Atomic<Bool>(false)
    private let submitted = Counter(label: "herald_dispatch_submissions_total")
    private let hungCounter = Counter(label: "herald_dispatch_hung_total")

    init(store: QueueStore, providers: ProviderStore, directory: ProviderDirectory, client: ProviderClient,
         callbacks: CallbackURLs, codeSeal: CodeSeal, events: EventService, configuration: DispatcherConfiguration,
         clock: any HeraldClock, wakeUp: WakeSignal, logger: Logger) {
        self.wakeUp = wakeUp
        self.codeSeal = codeSeal
        self.store = store
        self.providers = providers
        self.directory = directory
        self.client = client
        self.callbacks = callbacks
        self.configuration = configuration
        self.clock = clock
        self.logger = logger
        let counter = SharedCounter()
        self.inFlightCounter = counter
        self.recorder = OutcomeRecorder(store: store, events: events, clock: clock, onRecorded: { counter.recorded($0) })
    }

    /// Claimed messages whose outcome is not yet written: what the window bounds, and so
    /// what a crash can duplicate.
    private let inFlightCounter: SharedCounter

    private var unrecorded: Int { inFlightCounter.value }

    /// Runs until a graceful shutdown or cancellation. A dispatcher may be run again after it
    /// stopped (tests start and stop the same workers several times).
    public func run() async throws {
        stopping.store(false, ordering: .releasing)
        logger.info("dispatcher started", metadata: ["dispatch.window": "\(configuration.window)"])
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                group.addTask { await self.recordLoop() }
                await self.claimLoop(group: &group)
                // Stopping: let submissions in flight finish (each has a timeout) and their
                // outcomes be written; if the database stays away, leases requeue the rest.
                // Cancelled (a hard stop): no waiting at all. A cancelled sleep returns at
                // once, so waiting here would spin and starve the tasks it waits for.
                let deadline = ContinuousClock.now + self.configuration.providerTimeout + .seconds(10)
                while self.unrecorded > 0 && ContinuousClock.now < deadline && !Task.isCancelled {
                    try? await Task.sleep(for: .milliseconds(10))
                }
                self.stopping.store(true, ordering: .releasing)
            }
        } onGracefulShutdown: {
            self.stopping.store(true, ordering: .releasing)
        }
        logger.info("dispatcher stopped")
    }

    private var isStopping: Bool { stopping.load(ordering: .acquiring) || Task.isCancelled }

    private func claimLoop(group: inout DiscardingTaskGroup) async {
        var lastReserveClaim = ContinuousClock.now
        // The last claim filled its limit: more due rows are likely waiting (a backlog of codes).
        var moreWaiting = false
        while !isStopping {
            let free = configuration.window - unrecorded
            // Marketing claims in useful amounts and only within its share of the window; the
            // rest is the reserve that keeps codes from queueing behind a campaign.
            let marketingRoom = configuration.marketingWindow - unrecorded
            let withMarketing = marketingRoom >= min(configuration.batchSize, max(1, configuration.marketingWindow / 4))
            if free <= 0 {
                try? await Task.sleep(for: .milliseconds(2))
                continue
            }
            if !withMarketing {
                // No room for marketing. A backlog of codes is claimed as soon as there is a
                // useful amount of room; otherwise wait, claiming codes the moment one is queued
                // here (the signal) or at the poll interval (other processes' messages).
                let useful = free >= min(configuration.batchSize, max(1, configuration.window / 4))
                if !(moreWaiting && useful) {
                    let signalled = await wakeUp.wait(upTo: .milliseconds(2))
                    guard signalled || ContinuousClock.now - lastReserveClaim >= configuration.idlePoll else { continue }
                }
                lastReserveClaim = ContinuousClock.now
            }
            do {
                let snapshot = try await directory.snapshot()
                let room = withMarketing ? marketingRoom : free
                let limit = min(room, configuration.batchSize, Self.claimCap(snapshot))
                let claimed = try await store.claim(limit: limit, lease: configuration.lease, now: clock.now,
                                                    transactionalOnly: !withMarketing)
                inFlightCounter.claimed(claimed.count)
                moreWaiting = claimed.count >= limit
                if claimed.isEmpty {
                    // Until the next poll (other processes' messages, due retries) or until
                    // this process queues a message.
                    if withMarketing { await wakeUp.wait(upTo: configuration.idlePoll) }
                    continue
                }
                try await dispatch(claimed, snapshot: snapshot, group: &group)
            } catch {
                logger.warning("dispatch paused after an error; retrying", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }

    /// When every route is rate-limited, claim no more than two seconds of their rate, so
    /// claimed rows do not wait out their lease.
    static func claimCap(_ snapshot: ProviderDirectory.Snapshot) -> Int {
        guard !snapshot.noneConfigured, !snapshot.routes.isEmpty else { return Int.max }
        var total = 0
        for route in snapshot.routes {
            guard let rate = route.provider.ratePerSecond else { return Int.max }
            total += rate
        }
        return max(1, total * 2)
    }

    private func dispatch(_ claimed: [QueueStore.Claimed], snapshot: ProviderDirectory.Snapshot, group: inout DiscardingTaskGroup) async throws {
        // Route every message, then take rate-limit tokens per first-choice provider.
        var planned: [(QueueStore.Claimed, [Route])] = []
        var demand: [UUID: Int] = [:]
        for message in claimed {
            if message.canceled {
                recorder.add(.canceled(id: message.id))
                continue
            }
            let routes = snapshot.routes(country: message.country, pinned: message.pinnedProviderID)
            guard let first = routes.first else {
                recorder.add(.failed(id: message.id, attempts: message.attempts, providerID: nil, errorCode: "no_route",
                                     errorMessage: "no enabled provider sends to this country", providerErrorCode: nil))
                continue
            }
            if first.provider.ratePerSecond != nil { demand[first.provider.id, default: 0] += 1 }
            planned.append((message, routes))
        }
        var granted: [UUID: Int] = [:]
        var deferredSoFar: [UUID: Int] = [:]
        let now = clock.now
        let second = Int64(now.timeIntervalSince1970)
        for (providerID, count) in demand {
            guard let rate = snapshot.routes.first(where: { $0.provider.id == providerID })?.provider.ratePerSecond else { continue }
            granted[providerID] = try await providers.reserve(providerID: providerID, second: second, count: count, rate: rate)
        }
        for (message, routes) in planned {
            let first = routes[0].provider
            if let rate = first.ratePerSecond {
                if granted[first.id, default: 0] > 0 {
                    granted[first.id, default: 0] -= 1
                } else {
                    // Over this second's budget: back to the queue, spread over the next
                    // seconds at the provider's rate. Not an attempt: nothing was sent.
                    let position = deferredSoFar[first.id, default: 0]
                    deferredSoFar[first.id] = position + 1
                    let millisecondsIntoSecond = Int64(now.timeIntervalSince1970 * 1000) % 1000
                    let delay = (Int64(position / rate) + 1) * 1000 - millisecondsIntoSecond + Int64.random(in: 0..<50)
                    recorder.add(.retry(id: message.id, attempts: message.attempts, delayMilliseconds: delay, counted: false,
                                        providerID: nil, errorCode: nil, errorMessage: nil, providerErrorCode: nil))
                    continue
                }
            }
            group.addTask {
                self.recorder.add(await self.submit(message, routes: routes))
            }
        }
    }

    /// Tries the routes in order (failover) and says what became of the message.
    func submit(_ message: QueueStore.Claimed, routes: [Route]) async -> DispatchOutcome {
        // A code message's body is rendered here, from the code sealed for it, and nowhere else.
        var text = message.body
        if let sealed = message.sealedCode {
            guard let code = codeSeal.open(sealed, messageID: message.id) else {
                return .failed(id: message.id, attempts: message.attempts, providerID: nil, errorCode: "code_unreadable",
                               errorMessage: "the sealed verification code cannot be opened (HERALD_SECRET changed)", providerErrorCode: nil)
            }
            text = CodeText.render(message.body, code: code)
        }
        var lastFailure: ProviderFailure?
        var lastProvider: UUID?
        var retryAfter: Duration?
        for route in routes.prefix(configuration.maxFailover) {
            if route.provider.type == .outbox {
                return .outboxed(id: message.id, attempts: message.attempts, providerID: route.storedID,
                                 body: message.sealedCode == nil ? nil : text)
            }
            guard let adapter = route.adapter else { continue }
            let outgoing = OutgoingMessage(
                id: message.id, to: message.to, from: message.from, text: text, channel: message.channel,
                unicode: message.encoding == .ucs2, locale: message.locale,
                statusCallbackURL: callbacks.status(provider: route.provider, messageID: message.id,
                                                    needsToken: adapter.webhookAuthentication == .urlToken))
            let wire: WireRequest
            do {
                wire = message.channel == .voice ? try adapter.voiceRequest(outgoing) : try adapter.smsRequest(outgoing)
            } catch {
                // This provider cannot carry it (no voice API, bad config): try the next one.
                lastFailure = error
                lastProvider = route.provider.id
                continue
            }
            submitted.increment()
            let failure: ProviderFailure
            var providerRetryAfter: Duration?
            switch await client.send(wire) {
            case .transportFailure(let transport, let hung):
                if hung { hungCounter.increment() }
                // Failures only (rare): making the handle here costs nothing on the happy path.
                Counter(label: "herald_dispatch_transport_failures_total", dimensions: [("reason", transport.code)]).increment()
                failure = transport
            case .response(let response):
                switch adapter.interpret(response, for: outgoing) {
                case .accepted(let providerMessageID):
                    return .sent(id: message.id, attempts: message.attempts, providerID: route.provider.id, providerMessageID: providerMessageID)
                case .failed(let refused, let after):
                    failure = refused
                    providerRetryAfter = after
                }
            }
            lastFailure = failure
            lastProvider = route.provider.id
            if let providerRetryAfter { retryAfter = max(retryAfter ?? .zero, providerRetryAfter) }
            switch failure.category {
            case .invalidNumber, .blocked, .unsubscribed:
                // About the recipient, not the provider: another provider would refuse too.
                return .failed(id: message.id, attempts: message.attempts, providerID: route.provider.id,
                               errorCode: failure.category.rawValue, errorMessage: failure.message, providerErrorCode: failure.code)
            case .throttled, .unavailable, .account, .rejected:
                continue
            }
        }
        guard let failure = lastFailure else {
            return .failed(id: message.id, attempts: message.attempts, providerID: nil, errorCode: "no_route",
                           errorMessage: "no enabled provider can send this message", providerErrorCode: nil)
        }
        if failure.isTransient && message.attempts < configuration.maxAttempts {
            let delay = configuration.backoff.delay(afterFailures: message.attempts, retryAfter: retryAfter)
            return .retry(id: message.id, attempts: message.attempts, delayMilliseconds: delay.wholeMilliseconds, counted: true,
                          providerID: lastProvider, errorCode: failure.category.rawValue, errorMessage: failure.message,
                          providerErrorCode: failure.code)
        }
        return .failed(id: message.id, attempts: message.attempts, providerID: lastProvider,
                       errorCode: failure.isTransient ? "attempts_exhausted" : failure.category.rawValue,
                       errorMessage: failure.message, providerErrorCode: failure.code)
    }

    private func recordLoop() async {
        while true {
            // Cancelled counts as stopping: what is pending is written once more, then the
            // loop ends (its sleeps would return at once and the loop would spin).
            let done = stopping.load(ordering: .acquiring) || Task.isCancelled
            do {
                try await recorder.flush()
            } catch {
                logger.warning("could not record outcomes; will retry", metadata: ["error": "\(error)", "outcomes": "\(recorder.backlog)"])
                try? await Task.sleep(for: .seconds(1))
                // Give up only when stopping and the database stays away: leases then requeue.
                if done { return }
                continue
            }
            if done && recorder.backlog == 0 { return }
            try? await Task.sleep(for: configuration.flushInterval)
        }
    }
}

/// Claimed-but-unrecorded messages, shared by the claim loop and the recorder.
final class SharedCounter: Sendable {
    private let count = Atomic<Int>(0)
    var value: Int { count.load(ordering: .acquiring) }
    func claimed(_ n: Int) { count.add(n, ordering: .acquiringAndReleasing) }
    func recorded(_ n: Int) { count.subtract(n, ordering: .acquiringAndReleasing) }
}
