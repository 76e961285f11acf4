import Foundation
import Herald
import HTTPTypes
import Hummingbird
import SMS

/// `/v1/contacts*` (scope `contacts`).
struct ContactRoutes {
    let contacts: ContactService
    let auditor: Auditor

    // MARK: Wire forms

    struct ContactBody: Encodable {
        let id: String
        let phone: String
        @Nullable var country: String?
        @Nullable var firstName: String?
        @Nullable var lastName: String?
        @Nullable var locale: String?
        @Nullable var timezone: String?
        let attributes: [String: JSONValue]
        let tags: [String]
        let subscribed: Bool
        let createdAt: Date
        let updatedAt: Date

        enum CodingKeys: String, CodingKey {
            case id, phone, country, locale, timezone, attributes, tags, subscribed
            case firstName = "first_name", lastName = "last_name", createdAt = "created_at", updatedAt = "updated_at"
        }

        init(_ contact: Contact) {
            id = contact.id.wire
            phone = contact.phone
            country = contact.country
            firstName = contact.firstName
            lastName = contact.lastName
            locale = contact.locale
            timezone = contact.timezone
            attributes = contact.attributes
            tags = contact.tags
            subscribed = contact.subscribed
            createdAt = contact.createdAt
            updatedAt = contact.updatedAt
        }
    }

    struct ConsentEntryBody: Encodable {
        let action: String
        let source: String
        @Nullable var text: String?
        @Nullable var ip: String?
        @Nullable var actor: String?
        @Nullable var messageID: String?
        @Nullable var consentedAt: Date?
        let occurredAt: Date

        enum CodingKeys: String, CodingKey {
            case action, source, text, ip, actor
            case messageID = "message_id", consentedAt = "consented_at", occurredAt = "occurred_at"
        }

        init(_ entry: ConsentEntry) {
            action = entry.action
            source = entry.source
            text = entry.text
            ip = entry.ip
            actor = entry.actor
            messageID = entry.messageID?.wire
            consentedAt = entry.consentedAt
            occurredAt = entry.occurredAt
        }
    }

    struct ConsentRequest: Decodable {
        let source: String?
        let text: String?
        let ip: String?
        let at: String?

        /// `field` is where the object sits in the request (`consent`), or empty when it is the body.
        func domain(field: String) throws -> ConsentInput {
            ConsentInput(source: source, text: text, ip: ip,
                         at: try at.map { try ContactRules.timestamp($0, field: field.isEmpty ? "at" : "\(field).at") })
        }
    }

    struct UpsertRequest: Decodable {
        let phone: String
        let country: String?
        let firstName: String?
        let lastName: String?
        let locale: String?
        let timezone: String?
        let attributes: [String: JSONValue]?
        let tags: [String]?
        let consent: ConsentRequest?

        enum CodingKeys: String, CodingKey {
            case phone, country, locale, timezone, attributes, tags, consent
            case firstName = "first_name", lastName = "last_name"
        }

        func domain() throws -> ContactInput {
            ContactInput(phone: phone, country: country, firstName: firstName, lastName: lastName, locale: locale,
                         timezone: timezone, attributes: attributes, tags: tags, consent: try consent?.domain(field: "consent"))
        }
    }

    /// A JSON merge patch. `phone` and `subscribed` are refused: a new number is a new contact,
    /// and subscribing has its own calls, which write the consent ledger.
    struct PatchRequest: Decodable {
        let patch: ContactPatch

        enum CodingKeys: String, CodingKey {
            case phone, subscribed, country, locale, timezone, attributes, tags
            case firstName = "first_name", lastName = "last_name"
        }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            if c.contains(.phone) { throw HeraldError.validation("phone", "cannot be changed; create a contact for the new number") }
            if c.contains(.subscribed) {
                throw HeraldError.validation("subscribed", "is changed with POST /v1/contacts/{id}/subscribe or /unsubscribe")
            }
            if c.contains(.country) { throw HeraldError.validation("country", "is the number's and cannot be changed") }
            func field(_ key: CodingKeys) throws -> FieldPatch<String> {
                guard c.contains(key) else { return .keep }
                if try c.decodeNil(forKey: key) { return .clear }
                return .set(try c.decode(String.self, forKey: key))
            }
            var patch = ContactPatch()
            patch.firstName = try field(.firstName)
            patch.lastName = try field(.lastName)
            patch.locale = try field(.locale)
            patch.timezone = try field(.timezone)
            if c.contains(.attributes), !(try c.decodeNil(forKey: .attributes)) {
                patch.attributes = try c.decode([String: JSONValue].self, forKey: .attributes)
            } else if c.contains(.attributes) {
                throw HeraldError.validation("attributes", "must be an object; set a key to null to remove it")
            }
            if c.contains(.tags) {
                patch.tags = try c.decodeNil(forKey: .tags) ? [] : try c.decode([String].self, forKey: .tags)
            }
            self.patch = patch
        }
    }

    /// `dashboard` for a person logged in, `api` for an API key: the ledger's default source.
    static func source(_ principal: Principal) -> String { principal.user == nil ? "api" : "dashboard" }

    /// The optional JSON body of subscribe / unsubscribe.
    static func consentBody(_ request: Request, _ context: HeraldRequestContext) async throws -> ConsentInput? {
        guard request.headers[.contentType] != nil || (request.headers[.contentLength].flatMap { Int($0) } ?? 0) > 0 else { return nil }
        let data = try await JSON.body(of: request, context: context)
        guard !data.isEmpty else { return nil }
        return try JSON.decode(ConsentRequest.self, from: data).domain(field: "")
    }

    // MARK: Routes

    /// A contact is named by its name when it has one, else by its number.
    static func target(_ contact: Contact) -> AuditTarget {
        let name = [contact.firstName, contact.lastName].compactMap { $0 }.joined(separator: " ")
        return AuditTarget("contact", id: contact.id, label: name.isEmpty ? contact.phone : name)
    }

    func register(on router: RouteRegistrar) {
        router.get("/v1/contacts") { request, context in
            try context.require(.contacts, write: false)
            let (limit, cursor) = try request.listParameters()
            let query = request.uri.queryParameters
            var filter = ContactFilter(search: query["search"].map(String.init), tag: query["tag"].map(String.init))
            if let raw = query["subscribed"].map(String.init) {
                guard let value = Bool(raw) else { throw HeraldError.validation("subscribed", "must be true or false") }
                filter.subscribed = value
            }
            if let raw = query["segment_id"].map(String.init) {
                guard let id = UUID(uuidString: raw) else { throw HeraldError.validation("segment_id", "names no segment") }
                filter.segmentID = id
            }
            let page = try await contacts.contacts(filter, limit: limit, cursor: cursor)
            return try JSON.response(ListResponse(data: page.items.map(ContactBody.init), nextCursor: page.nextCursor))
        }
        router.post("/v1/contacts") { request, context in
            let principal = try context.require(.contacts, write: true)
            let body = try await JSON.decode(UpsertRequest.self, from: request, context: context)
            let (contact, created) = try await contacts.upsert(try body.domain(), source: Self.source(principal), actor: principal.actorLabel)
            await auditor.record(request, context, created ? "contact.create" : "contact.upsert", Self.target(contact), after: ContactBody(contact))
            return try JSON.response(ContactBody(contact), status: created ? .created : .ok)
        }
        router.get("/v1/contacts/{id}") { _, context in
            try context.require(.contacts, write: false)
            return try JSON.response(ContactBody(try await contacts.contact(id: try context.parameters.uuid("id", what: "contact"))))
        }
        router.patch("/v1/contacts/{id}") { request, context in
            try context.require(.contacts, write: true)
            let id = try context.parameters.uuid("id", what: "contact")
            let body = try await JSON.decode(PatchRequest.self, from: request, context: context)
            let before = try await contacts.contact(id: id)
            let contact = try await contacts.update(id: id, body.patch)
            await auditor.record(request, context, "contact.update", Self.target(contact), before: ContactBody(before), after: ContactBody(contact))
            return try JSON.response(ContactBody(contact))
        }
        router.delete("/v1/contacts/{id}") { request, context in
            try context.require(.contacts, write: true)
            let id = try context.parameters.uuid("id", what: "contact")
            let before = try await contacts.contact(id: id)
            try await contacts.delete(id: id)
            await auditor.record(request, context, "contact.delete", Self.target(before), before: ContactBody(before))
            return Response(status: .noContent)
        }
        for (path, subscribe) in [("/v1/contacts/{id}/subscribe", true), ("/v1/contacts/{id}/unsubscribe", false)] {
            router.post(path) { request, context in
                let principal = try context.require(.contacts, write: true)
                let id = try context.parameters.uuid("id", what: "contact")
                let consent = try await Self.consentBody(request, context)
                let before = try await contacts.contact(id: id)
                let contact = try await contacts.setSubscribed(id: id, subscribe, consent: consent, source: Self.source(principal),
                                                               actor: principal.actorLabel)
                await auditor.record(request, context, subscribe ? "contact.subscribe" : "contact.unsubscribe", Self.target(contact),
                                     before: ContactBody(before), after: ContactBody(contact))
                return try JSON.response(ContactBody(contact))
            }
        }
        router.get("/v1/contacts/{id}/consent") { _, context in
            try context.require(.contacts, write: false)
            let entries = try await contacts.consentLedger(id: try context.parameters.uuid("id", what: "contact"))
            return try JSON.response(ListResponse(data: entries.map(ConsentEntryBody.init), nextCursor: nil))
        }
        router.get("/v1/contacts/{id}/messages") { request, context in
            try context.require(.contacts, write: false)
            let (limit, cursor) = try request.listParameters()
            let page = try await contacts.messages(id: try context.parameters.uuid("id", what: "contact"), limit: limit, cursor: cursor)
            return try JSON.response(ListResponse(data: page.items.map(MessageBody.init), nextCursor: page.nextCursor))
        }
    }
}
