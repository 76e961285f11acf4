import Foundation
import Herald
import HTTPTypes
import Hummingbird
import NIOCore
import SMS

/// `/v1/templates*` (scope `campaigns`).
struct TemplateRoutes {
    let templates: TemplateService

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
        let createdAt: Date
        let updatedAt: Date

        enum CodingKeys: String, CodingKey {
            case id, name, channel, kind, body, translations, variables, encoding, segments, characters
            case createdAt = "created_at", updatedAt = "updated_at"
        }

        init(template: Template) {
            let measured = template.measuredBody
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

        enum CodingKeys: String, CodingKey {
            case text, locale, variables, encoding, segments, characters, units, replacements
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
    }

    // MARK: Routes

    func register(on router: RouteRegistrar) {
        router.get("/v1/templates") { request, context in
            try context.require(.campaigns, write: false)
            let (limit, cursor) = try request.listParameters()
            let page = try await templates.templates(limit: limit, cursor: cursor)
            return try Self.response(ListResponse(data: page.items.map(TemplateBody.init), nextCursor: page.nextCursor))
        }
        router.post("/v1/templates") { request, context in
            try context.require(.campaigns, write: true)
            let body = try await JSON.decode(CreateRequest.self, from: request, context: context)
            let template = try await templates.create(
                TemplateInput(name: body.name, channel: body.channel, kind: body.kind, body: body.body, translations: body.translations ?? [:]))
            return try Self.response(TemplateBody(template: template), status: .created)
        }
        // Renders without saving: changes nothing, so read access is enough.
        router.post("/v1/templates/preview") { request, context in
            try context.require(.campaigns, write: false)
            let body = try await JSON.decode(PreviewRequest.self, from: request, context: context)
            let preview = try TemplateService.preview(
                body: body.body, translations: body.translations ?? [:], variables: body.variables ?? [:], locale: body.locale)
            return try Self.response(PreviewBody(preview: preview))
        }
        router.get("/v1/templates/{id}") { _, context in
            try context.require(.campaigns, write: false)
            let template = try await templates.template(id: try context.parameters.uuid("id", what: "template"))
            return try Self.response(TemplateBody(template: template))
        }
        router.patch("/v1/templates/{id}") { request, context in
            try context.require(.campaigns, write: true)
            let id = try context.parameters.uuid("id", what: "template")
            let body = try await JSON.decode(PatchRequest.self, from: request, context: context)
            let template = try await templates.update(id: id, body.patch)
            return try Self.response(TemplateBody(template: template))
        }
        router.delete("/v1/templates/{id}") { _, context in
            try context.require(.campaigns, write: true)
            try await templates.delete(id: try context.parameters.uuid("id", what: "template"))
            return Response(status: .noContent)
        }
    }
}
