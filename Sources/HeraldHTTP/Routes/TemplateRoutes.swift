import Foundation
import Herald
import HTTPTypes
import Hummingbird
import NIOCore
import SMS

/// `/v1/templates*` (scope `campaigns`).
struct TemplateRoutes {
    let templates: TemplateService
    let contacts: ContactService
    let settings: SettingsService
    let auditor: Auditor

    /// The opt-out footer marketing messages get now.
    func footer() async throws -> TemplateService.Footer { TemplateService.Footer(try await settings.current()) }

    static func response(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        try JSON.response(value, status: status)
    }

    // MARK: Wire forms

    struct TemplateBody: Encodable {
        let id: String
        let name: String
        let channel: MessageChannel
        let kind: MessageKind
        let body: String
        /// Keyed by locale tag (`de-AT`), as given.
        let translations: [String: String]
        let variables: [String]
        let encoding: SMSEncoding
        let segments: Int
        let characters: Int
        /// What marketing messages of this template get appended (counted in the figures above).
        @Nullable var footer: String?
        let createdAt: Date
        let updatedAt: Date

        enum CodingKeys: String, CodingKey {
            case id, name, channel, kind, body, translations, variables, encoding, segments, characters, footer
            case createdAt = "created_at", updatedAt = "updated_at"
        }

        /// For a marketing template the figures are of the body with `footer` applied.
        init(template: Template, footer: TemplateService.Footer) {
            var measured = template.measuredBody
            if template.kind == .marketing {
                let sent = footer.applied(to: template.body)
                if sent != template.body {
                    measured = MessageText(sent)
                    self.footer = footer.text.trimmingCharacters(in: .whitespacesAndNewlines)
                }
            }
            id = template.id.wire
            name = template.name
            channel = template.channel
            kind = template.kind
            body = template.body
            translations = template.translations
            variables = template.variables
            encoding = measured.encoding
            segments = measured.segments
            characters = measured.characters
            createdAt = template.createdAt
            updatedAt = template.updatedAt
        }
    }

    struct PreviewBody: Encodable {
        struct Replacement: Encodable { let from: String; let to: String }
        let text: String
        @Nullable var locale: String?
        let variables: [String]
        let encoding: SMSEncoding
        let segments: Int
        let characters: Int
        let units: Int
        let nonGSMCharacters: [String]
        let smartText: String
        let smartEncoding: SMSEncoding
        let smartSegments: Int
        let replacements: [Replacement]
        let footerAdded: Bool

        enum CodingKeys: String, CodingKey {
            case text, locale, variables, encoding, segments, characters, units, replacements
            case footerAdded = "footer_added"
            case nonGSMCharacters = "non_gsm_characters", smartText = "smart_text"
            case smartEncoding = "smart_encoding", smartSegments = "smart_segments"
        }

        init(preview: TemplatePreview) {
            text = preview.text
            locale = preview.locale
            variables = preview.variables
            encoding = preview.measured.encoding
            segments = preview.measured.segments
            characters = preview.measured.characters
            units = preview.measured.units
            nonGSMCharacters = preview.measured.nonGSMCharacters.map(String.init)
            smartText = preview.smart.text
            smartEncoding = preview.smart.encoding
            smartSegments = preview.smart.segments
            replacements = preview.replacements.map { Replacement(from: String($0.original), to: $0.replacement) }
            footerAdded = preview.footerAdded
        }
    }

    struct CreateRequest: Decodable {
        let name: String
        let channel: String?
        let kind: String?
        let body: String
        let translations: [String: String]?
    }

    /// A JSON merge patch: absent keys stay; `null` is refused for the required fields and
    /// clears `translations`; inside `translations`, `null` removes that locale.
    struct PatchRequest: Decodable {
        let patch: TemplatePatch

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            func text(_ key: CodingKeys) throws -> String? {
                guard c.contains(key) else { return nil }
                if try c.decodeNil(forKey: key) {
                    throw DecodingError.valueNotFound(
                        String.self, .init(codingPath: c.codingPath + [key], debugDescription: "\(key.stringValue) cannot be removed"))
                }
                return try c.decode(String.self, forKey: key)
            }
            var translations: TemplatePatch.Translations?
            if c.contains(.translations) {
                translations = try c.decodeNil(forKey: .translations)
                    ? .removeAll : .merge(try c.decode([String: String?].self, forKey: .translations))
            }
            patch = TemplatePatch(
                name: try text(.name), channel: try text(.channel), kind: try text(.kind), body: try text(.body),
                translations: translations)
        }
        enum CodingKeys: String, CodingKey { case name, channel, kind, body, translations }
    }

    struct PreviewRequest: Decodable {
        let body: String
        let translations: [String: String]?
        let variables: [String: JSONValue]?
        let locale: String?
        /// Fill the variables from this contact (given `variables` win).
        let contactId: String?
        /// `marketing`: append and count the opt-out footer.
        let kind: String?

        enum CodingKeys: String, CodingKey {
            case body, translations, variables, locale, kind
            case contactId = "contact_id"
        }
    }

    // MARK: Routes

    static func target(_ template: Template) -> AuditTarget { AuditTarget("template", id: template.id, label: template.name) }

    func register(on router: RouteRegistrar) {
        router.get("/v1/templates") { request, context in
            try context.require(.campaigns, write: false)
            let (limit, cursor) = try request.listParameters()
            let page = try await templates.templates(limit: limit, cursor: cursor)
            let footer = try await footer()
            return try Self.response(ListResponse(data: page.items.map { TemplateBody(template: $0, footer: footer) }, nextCursor: page.nextCursor))
        }
        router.post("/v1/templates") { request, context in
            try context.require(.campaigns, write: true)
            let body = try await JSON.decode(CreateRequest.self, from: request, context: context)
            let template = try await templates.create(
                TemplateInput(name: body.name, channel: body.channel, kind: body.kind, body: body.body, translations: body.translations ?? [:]))
            let created = TemplateBody(template: template, footer: try await footer())
            await auditor.record(request, context, "template.create", Self.target(template), after: created)
            return try Self.response(created, status: .created)
        }
        // Renders without saving: changes nothing, so read access is enough.
        router.post("/v1/templates/preview") { request, context in
            try context.require(.campaigns, write: false)
            let body = try await JSON.decode(PreviewRequest.self, from: request, context: context)
            var contact: Contact?
            if let raw = body.contactId {
                guard let id = UUID(uuidString: raw) else { throw HeraldError.validation("contact_id", "names no contact") }
                do { contact = try await contacts.contact(id: id) } catch let error as HeraldError where error.code == .notFound {
                    throw HeraldError.validation("contact_id", "names no contact")
                }
            }
            var appended: TemplateService.Footer?
            switch body.kind {
            case nil, "transactional": break
            case "marketing": appended = try await footer()
            default: throw HeraldError.validation("kind", "must be marketing or transactional")
            }
            let preview = try TemplateService.preview(
                body: body.body, translations: body.translations ?? [:], variables: body.variables ?? [:], locale: body.locale,
                contact: contact, footer: appended)
            return try Self.response(PreviewBody(preview: preview))
        }
        router.get("/v1/templates/{id}") { _, context in
            try context.require(.campaigns, write: false)
            let template = try await templates.template(id: try context.parameters.uuid("id", what: "template"))
            return try Self.response(TemplateBody(template: template, footer: try await footer()))
        }
        router.patch("/v1/templates/{id}") { request, context in
            try context.require(.campaigns, write: true)
            let id = try context.parameters.uuid("id", what: "template")
            let body = try await JSON.decode(PatchRequest.self, from: request, context: context)
            let footer = try await footer()
            let before = TemplateBody(template: try await templates.template(id: id), footer: footer)
            let template = try await templates.update(id: id, body.patch)
            let after = TemplateBody(template: template, footer: footer)
            await auditor.record(request, context, "template.update", Self.target(template), before: before, after: after)
            return try Self.response(after)
        }
        router.delete("/v1/templates/{id}") { request, context in
            try context.require(.campaigns, write: true)
            let id = try context.parameters.uuid("id", what: "template")
            let template = try await templates.template(id: id)
            let before = TemplateBody(template: template, footer: try await footer())
            try await templates.delete(id: id)
            await auditor.record(request, context, "template.delete", Self.target(template), before: before)
            return Response(status: .noContent)
        }
    }
}
