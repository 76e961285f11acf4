import Foundation
import SMS

/// A person marketing may reach: their number (the identity), what is known about them, and
/// whether they are subscribed. Every change of `subscribed` has an entry in the consent ledger.
public struct Contact: Sendable, Equatable {
    public var id: UUID
    /// E.164.
    public var phone: String
    /// ISO 3166 alpha-2 of the number, when it has one region.
    public var country: String?
    public var firstName: String?
    public var lastName: String?
    /// A canonical locale tag (`de`, `pt-BR`).
    public var locale: String?
    /// An IANA time zone (`Europe/Berlin`).
    public var timezone: String?
    public var attributes: [String: JSONValue]
    public var tags: [String]
    public var subscribed: Bool
    public var createdAt: Date
    public var updatedAt: Date

    public init(id: UUID, phone: String, country: String?, firstName: String?, lastName: String?, locale: String?,
                timezone: String?, attributes: [String: JSONValue], tags: [String], subscribed: Bool,
                createdAt: Date, updatedAt: Date) {
        self.id = id; self.phone = phone; self.country = country; self.firstName = firstName; self.lastName = lastName
        self.locale = locale; self.timezone = timezone; self.attributes = attributes; self.tags = tags
        self.subscribed = subscribed; self.createdAt = createdAt; self.updatedAt = updatedAt
    }
}

/// Evidence of an opt-in, as the app that collected it describes it.
public struct ConsentInput: Sendable, Equatable {
    /// Where it was given: `checkout_form`, `import`, `keyword` …
    public var source: String?
    /// The words the person agreed to.
    public var text: String?
    /// The person's address when they agreed (not the caller's).
    public var ip: String?
    /// When they agreed; now when absent.
    public var at: Date?
    public init(source: String? = nil, text: String? = nil, ip: String? = nil, at: Date? = nil) {
        self.source = source; self.text = text; self.ip = ip; self.at = at
    }
}

/// `POST /v1/contacts`: an upsert by phone. Absent (nil) fields keep what the contact has;
/// `attributes` merge per key (a `null` value removes the key); `tags` are added.
public struct ContactInput: Sendable {
    public var phone: String?
    public var country: String?
    public var firstName: String?
    public var lastName: String?
    public var locale: String?
    public var timezone: String?
    public var attributes: [String: JSONValue]?
    public var tags: [String]?
    public var consent: ConsentInput?
    public init(phone: String?, country: String? = nil, firstName: String? = nil, lastName: String? = nil,
                locale: String? = nil, timezone: String? = nil, attributes: [String: JSONValue]? = nil,
                tags: [String]? = nil, consent: ConsentInput? = nil) {
        self.phone = phone; self.country = country; self.firstName = firstName; self.lastName = lastName
        self.locale = locale; self.timezone = timezone; self.attributes = attributes; self.tags = tags; self.consent = consent
    }
}

/// A field of a merge patch: left as is, cleared (`null`), or set.
public enum FieldPatch<Value: Sendable & Equatable>: Sendable, Equatable {
    case keep
    case clear
    case set(Value)

    func applied(to current: Value?) -> Value? {
        switch self {
        case .keep: current
        case .clear: nil
        case .set(let value): value
        }
    }
}

/// `PATCH /v1/contacts/{id}`: a JSON merge patch. `attributes` merge per key (`null` removes
/// one); `tags` replace the list. The number and the subscription are not patched: a new
/// number is a new contact, and subscribing has its own calls that write the ledger.
public struct ContactPatch: Sendable, Equatable {
    public var firstName: FieldPatch<String> = .keep
    public var lastName: FieldPatch<String> = .keep
    public var locale: FieldPatch<String> = .keep
    public var timezone: FieldPatch<String> = .keep
    public var attributes: [String: JSONValue]?
    public var tags: [String]?
    public init() {}
}

/// The filters of `GET /v1/contacts`.
public struct ContactFilter: Sendable, Equatable {
    /// Part of a number, or of a first or last name.
    public var search: String?
    public var tag: String?
    public var subscribed: Bool?
    /// Members of this segment's rule.
    public var segmentID: UUID?
    public init(search: String? = nil, tag: String? = nil, subscribed: Bool? = nil, segmentID: UUID? = nil) {
        self.search = search; self.tag = tag; self.subscribed = subscribed; self.segmentID = segmentID
    }
}

/// One entry of the consent ledger.
public struct ConsentEntry: Sendable, Equatable {
    public var action: String
    public var source: String
    public var text: String?
    public var ip: String?
    public var actor: String?
    public var messageID: UUID?
    public var consentedAt: Date?
    public var occurredAt: Date
}
