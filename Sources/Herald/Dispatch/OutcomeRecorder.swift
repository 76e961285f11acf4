import Foundation
import Synchronization

/// What became of one claimed message.
enum DispatchOutcome: Sendable {
    case sent(id: UUID, attempts: Int, providerID: UUID?, providerMessageID: String)
    /// `body`: the text as submitted, when it differs from the stored one (a code message).
    case outboxed(id: UUID, attempts: Int, providerID: UUID?, body: String?)
    case retry(id: UUID, attempts: Int, delayMilliseconds: Int64, counted: Bool, providerID: UUID?,
               errorCode: String?, errorMessage: String?, providerErrorCode: String?)
    case failed(id: UUID, attempts: Int, providerID: UUID?, errorCode: String, errorMessage: String, providerErrorCode: String?)
    /// Cancelled by the claim itself (an opted-out recipient of a marketing message, a code
    /// message whose code expired while it waited).
    case canceled(id: UUID)
}

/// Collects outcomes from concurrent submissions and writes them in batches: one statement
/// per kind of outcome for everything that finished in the last few milliseconds.
final class OutcomeRecorder: Sendable {
    private let pending = Mutex<[DispatchOutcome]>([])
    let store: QueueStore
    let events: EventService
    let clock: any HeraldClock

    /// Told how many outcomes each successful write recorded.
    let onRecorded: @Sendable (Int) -> Void

    init(store: QueueStore, events: EventService, clock: any HeraldClock, onRecorded: @escaping @Sendable (Int) -> Void) {
        self.store = store
        self.events = events
        self.clock = clock
        self.onRecorded = onRecorded
    }

    func add(_ outcome: DispatchOutcome) { pending.withLock { $0.append(outcome) } }

    var backlog: Int { pending.withLock { $0.count } }

    /// Writes everything pending. On a database failure the outcomes go back to the front
    /// of the queue and the error is thrown: nothing is dropped.
    func flush() async throws {
        let batch = pending.withLock { current in
            let taken = current
            current.removeAll(keepingCapacity: true)
            return taken
        }
        guard !batch.isEmpty else { return }
        do {
            try await write(batch)
            onRecorded(batch.count)
        } catch {
            pending.withLock { $0.insert(contentsOf: batch, at: 0) }
            throw error
        }
    }

    private func write(_ batch: [DispatchOutcome]) async throws {
        var sent = (ids: [UUID](), attempts: [Int](), providers: [UUID?](), providerIDs: [String]())
        var outboxed = (ids: [UUID](), attempts: [Int](), providers: [UUID?](), bodies: [String?]())
        var retry = (ids: [UUID](), attempts: [Int](), delays: [Int64](), counted: [Bool](), providers: [UUID?](),
                     codes: [String?](), messages: [String?](), providerCodes: [String?]())
        var failed = (ids: [UUID](), attempts: [Int](), providers: [UUID?](), codes: [String](), messages: [String](), providerCodes: [String?]())
        var canceled: [UUID] = []
        for outcome in batch {
            switch outcome {
            case .sent(let id, let attempts, let provider, let providerMessageID):
                sent.ids.append(id); sent.attempts.append(attempts); sent.providers.append(provider); sent.providerIDs.append(providerMessageID)
            case .outboxed(let id, let attempts, let provider, let body):
                outboxed.ids.append(id); outboxed.attempts.append(attempts); outboxed.providers.append(provider)
                outboxed.bodies.append(body)
            case .retry(let id, let attempts, let delay, let counted, let provider, let code, let message, let providerCode):
                retry.ids.append(id); retry.attempts.append(attempts); retry.delays.append(delay); retry.counted.append(counted)
                retry.providers.append(provider); retry.codes.append(code); retry.messages.append(message); retry.providerCodes.append(providerCode)
            case .failed(let id, let attempts, let provider, let code, let message, let providerCode):
                failed.ids.append(id); failed.attempts.append(attempts); failed.providers.append(provider)
                failed.codes.append(code); failed.messages.append(message); failed.providerCodes.append(providerCode)
            case .canceled(let id):
                canceled.append(id)
            }
        }
        let now = clock.now
        var changed: [UUID] = canceled
        changed += try await store.recordSent(ids: sent.ids, attempts: sent.attempts, providerIDs: sent.providers,
                                              providerMessageIDs: sent.providerIDs, now: now).map(\.id)
        changed += try await store.recordOutboxed(ids: outboxed.ids, attempts: outboxed.attempts, providerIDs: outboxed.providers,
                                                  bodies: outboxed.bodies, now: now).map(\.id)
        try await store.recordRetry(ids: retry.ids, attempts: retry.attempts, delayMilliseconds: retry.delays, counted: retry.counted,
                                    providerIDs: retry.providers, errorCodes: retry.codes, errorMessages: retry.messages,
                                    providerErrorCodes: retry.providerCodes, now: now)
        changed += try await store.recordFailed(ids: failed.ids, attempts: failed.attempts, providerIDs: failed.providers,
                                                errorCodes: failed.codes, errorMessages: failed.messages,
                                                providerErrorCodes: failed.providerCodes).map(\.id)
        try await events.messagesChanged(changed)
    }
}
