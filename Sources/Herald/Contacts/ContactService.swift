import Foundation
import Logging
import Phone
import SMS

/// Contacts: upsert by phone, search, patch, subscribe and unsubscribe with the consent ledger,
/// deletion that keeps an opt-out, and each contact's messages.
public struct ContactService: Sendable {
    let store: ContactStore
    let segments: SegmentStore
    let consent: ConsentStore
    let messages: MessageService
    let clock: any HeraldClock
    let logger: Logger

    public init(store: ContactStore, segments: SegmentStore, consent: ConsentStore, messages: MessageService, clock: any HeraldClock,
                logger: Logger) {
        self.store = store
        self.segments = segments
        self.consent = consent
        self.messages = messages
        self.clock = clock
        self.logger = logger
    }

    static let notFound = HeraldError(.notFound, "no contact with this id")

    /// Creates the contact of this number, or updates it: given fields replace, attributes merge
    /// per key (`null` removes one), tags are added. A new contact is subscribed, with a ledger
    /// entry naming `source`; an existing one is subscribed again only with `consent`, so a
    /// re-import never undoes an opt-out. `actor` is who made the call (`user:…`, `api_key:…`).
    public func upsert(_ input: ContactInput, source: String, actor: String?) async throws -> (Contact, created: Bool) {
        let now = clock.now
        let number = try ContactRules.phone(input.phone, country: input.country)
        let firstName = try ContactRules.name(input.firstName, field: "first_name")
        let lastName = try ContactRules.name(input.lastName, field: "last_name")
        let locale = try ContactRules.locale(input.locale)
        let timezone = try ContactRules.timezone(input.timezone)
        let addedTags = try ContactRules.tags(input.tags ?? [])
        let attributePatch = input.attributes ?? [:]
        try ContactRules.attributes(attributePatch.filter { $0.value != .null })
        let consent = try input.consent.map { try ContactRules.consent($0, defaultSource: source, now: now) }
        func entry(_ consent: ContactRules.Consent?) -> ConsentStore.Change {
            ConsentStore.Change(phone: number.e164, subscribe: true, source: consent?.source ?? source, text: consent?.text,
                                ip: consent?.ip, actor: actor, consentedAt: consent?.at)
        }
        let upsert = ContactStore.Upsert(
            phone: number.e164, country: number.regionCode, lineType: number.type.rawValue,
            change: { current in
                var next = current
                next.country = number.regionCode ?? current.country
                if let firstName { next.firstName = firstName }
                if let lastName { next.lastName = lastName }
                if let locale { next.locale = locale }
                if let timezone { next.timezone = timezone }
                next.attributes = ContactRules.merge(current.attributes, attributePatch)
                try ContactRules.attributes(next.attributes)
                next.tags = try ContactRules.tags(current.tags + addedTags)
                return next
            },
            consent: consent.map(entry))
        let (contact, created) = try await store.upsert(upsert, newContactConsent: entry(nil))
        logger.info(created ? "contact created" : "contact updated", metadata: ["contact.id": "\(contact.id)"])
        return (contact, created)
    }

    public func contact(id: UUID) async throws -> Contact {
        guard let contact = try await store.contact(id: id) else { throw Self.notFound }
        return contact
    }

    public func contacts(_ filter: ContactFilter, limit: Int, cursor: ListCursor?) async throws -> Page<Contact> {
        var checked = filter
        checked.search = try ContactRules.search(filter.search)
        checked.tag = try filter.tag.map { try ContactRules.tag($0, field: "tag") }
        var rule: SegmentRule?
        if let id = filter.segmentID {
            guard let segment = try await segments.segment(id: id) else {
                throw HeraldError.validation("segment_id", "names no segment")
            }
            rule = segment.rule
        }
        return try await store.contacts(checked, segment: rule, now: clock.now, limit: limit, after: cursor)
    }

    /// Applies a merge patch; the result is validated as a whole.
    public func update(id: UUID, _ patch: ContactPatch) async throws -> Contact {
        func name(_ patch: FieldPatch<String>, _ field: String) throws -> FieldPatch<String> {
            guard case .set(let raw) = patch else { return patch }
            return try ContactRules.name(raw, field: field).map { .set($0) } ?? .clear
        }
        let firstName = try name(patch.firstName, "first_name")
        let lastName = try name(patch.lastName, "last_name")
        var locale = patch.locale
        if case .set(let raw) = locale { locale = try ContactRules.locale(raw).map { .set($0) } ?? .clear }
        var timezone = patch.timezone
        if case .set(let raw) = timezone { timezone = try ContactRules.timezone(raw).map { .set($0) } ?? .clear }
        let tags = try patch.tags.map { try ContactRules.tags($0) }
        let updated = try await store.update(id: id) { current in
            var next = current
            next.firstName = firstName.applied(to: current.firstName)
            next.lastName = lastName.applied(to: current.lastName)
            next.locale = locale.applied(to: current.locale)
            next.timezone = timezone.applied(to: current.timezone)
            if let attributes = patch.attributes {
                next.attributes = ContactRules.merge(current.attributes, attributes)
                try ContactRules.attributes(next.attributes)
            }
            if let tags { next.tags = tags }
            return next
        }
        guard let updated else { throw Self.notFound }
        return updated
    }

    /// Subscribes or unsubscribes the contact, with a ledger entry (`consent` says how the person
    /// agreed or asked; `source` when it says nothing).
    public func setSubscribed(id: UUID, _ subscribe: Bool, consent raw: ConsentInput?, source: String, actor: String?) async throws -> Contact {
        // The body of subscribe / unsubscribe is the consent itself: its fields are named bare.
        let consent = try ContactRules.consent(raw ?? ConsentInput(), defaultSource: source, now: clock.now, field: "")
        let change = ConsentStore.Change(phone: "", subscribe: subscribe, source: consent.source, text: consent.text,
                                         ip: consent.ip, actor: actor, consentedAt: consent.at)
        guard let contact = try await store.setSubscribed(id: id, change) else { throw Self.notFound }
        logger.info(subscribe ? "contact subscribed" : "contact unsubscribed", metadata: ["contact.id": "\(id)"])
        return contact
    }

    /// Removes the contact's personal data, keeping an opt-out (see ``ContactStore/delete(id:)``).
    public func delete(id: UUID) async throws {
        guard try await store.delete(id: id) else { throw Self.notFound }
        logger.info("contact deleted", metadata: ["contact.id": "\(id)"])
    }

    /// The consent ledger of the contact's number, oldest first.
    public func consentLedger(id: UUID) async throws -> [ConsentEntry] {
        try await consent.ledger(phone: try await contact(id: id).phone)
    }

    /// The messages sent to the contact's number, newest first.
    public func messages(id: UUID, limit: Int, cursor: ListCursor?) async throws -> Page<Message> {
        try await messages.messages(MessageFilter(to: try await contact(id: id).phone), limit: limit, cursor: cursor)
    }

    /// Classifies up to `limit` contacts stored without their number's type (before migration
    /// 0008) with libphonenumber, so estimates count them right; returns how many it did.
    /// A number that no longer parses is `unknown` (an invalid number to campaigns).
    public func classifyUntyped(limit: Int = 1000) async throws -> Int {
        let batch = try await store.untyped(limit: limit)
        let types = batch.map { contact in
            (id: contact.id, lineType: (try? PhoneNumberParser.parse(contact.phone, defaultRegion: nil))?.type.rawValue ?? PhoneNumberType.unknown.rawValue)
        }
        try await store.setLineTypes(types)
        return batch.count
    }
}
