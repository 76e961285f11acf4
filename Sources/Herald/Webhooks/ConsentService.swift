import Foundation

/// Subscriptions and the consent ledger, for the API and the dashboard.
public struct ConsentService: Sendable {
    let store: ConsentStore

    /// Sets a number's subscription and records why, in one transaction.
    @discardableResult
    public func record(_ change: ConsentStore.Change) async throws -> UUID { try await store.record(change) }

    /// Every subscription change of a number, oldest first.
    public func ledger(phone: String) async throws -> [ConsentEntry] { try await store.ledger(phone: phone) }

    /// Nil when the number is not a contact.
    public func isSubscribed(phone: String) async throws -> Bool? { try await store.isSubscribed(phone: phone) }
}
