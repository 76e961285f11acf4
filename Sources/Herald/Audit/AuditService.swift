import Foundation
import Logging
import SMS

/// The audit log: every change a person or an API key makes through the API, with the object
/// before and after, secrets removed (``AuditRedaction``).
///
/// Recorded at the edge, after the change succeeded: a change whose entry cannot be written
/// is logged as an error rather than undone (the change itself is already committed).
public final class AuditService: Sendable {
    let store: AuditStore
    let logger: Logger

    init(store: AuditStore, logger: Logger) {
        self.store = store
        self.logger = logger
    }

    /// Records `change` by `actor`.
    public func record(_ change: AuditChange, by actor: AuditActor, clientIP: String?) async {
        let redacted = AuditChange(change.action, change.target,
                                   before: change.before.map(AuditRedaction.redact), after: change.after.map(AuditRedaction.redact))
        do {
            try await store.insert(actor, redacted, clientIP: clientIP)
        } catch {
            logger.error("could not write an audit entry", metadata: [
                "audit.action": "\(change.action)", "audit.target": "\(change.target.type)", "error": "\(error)",
            ])
        }
    }

    public func entries(_ filter: AuditFilter, limit: Int, cursor: ListCursor?) async throws -> Page<AuditEntry> {
        try await store.entries(filter, limit: limit, after: cursor)
    }
}
