import Foundation
import Herald
import HTTPTypes
import Hummingbird
import NIOCore
import SMS

/// `/v1/templates*` (scope `campaigns`).
///
/// Template bodies carry translations keyed by locale tags (`de-AT`), which the shared encoder's
/// snake_case key conversion would mangle, so these routes encode with explicit keys.
struct TemplateRoutes {
    let templates: TemplateService

    static func response(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        try PlainJSON.response(value, status: status)
    }

    // MARK: Wire forms

    struct TemplateBody: Encodable {
        let template: Template
        func encode(to encoder: any Encoder) throws {
            let measured = template.measuredBody
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(template.id.uuidString.lowercased(), forKey: .id)
            try c.encode(template.name, forKey: .name)
            try c.encode(template.channel.rawValue, forKey: .channel)
            try c.encode(template.kind.rawValue, forKey: .kind)
            try c.encode(template.body, forKey: .body)
            try c.encode(template.translations, forKey: .translations)
            try c.encode(template.variables, forKey: .variables)
            try c.encode(measured.encoding.rawValue, forKey: .encoding)
            try c.encode(measured.segments, forKey: .segments)
            try c.encode(measured.characters, forKey: .characters)
            try c.encode(template.createdAt, forKey: .createdAt)
            try c.encode(template.updatedAt, forKey: .updatedAt)
        }
        enum CodingKeys: String, CodingKey {
            case id, name, channel, kind, body, translations, variables, encoding, segments, characters
            case createdAt = "created_at", updatedAt = "updated_at"
        }
    }

    struct TemplateList: Encodable {
        let data: [TemplateBody]
        let nextCursor: String?
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(data, forKey: .data)
            try c.encode(nextCursor, forKey: .nextCursor)  // explicit null, never omitted
        }
        enum CodingKeys: String, CodingKey { case data, nextCursor = "next_cursor" }
    }

    struct PreviewBody: Encodable {
        let preview: TemplatePreview
        struct Replacement: Encodable { let from: String; let to: String }
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(preview.text, forKey: .text)
            try c.encode(preview.locale, forKey: .locale)
            try c.encode(preview.variables, forKey: .variables)
            try c.encode(preview.measured.encoding.rawValue, forKey: .encoding)
            try c.encode(preview.measured.segments, forKey: .segments)
            try c.encode(preview.measured.characters, forKey: .characters)
            try c.encode(preview.measured.units, forKey: .units)
            try c.encode(preview.measured.nonGSMCharacters.map(String.init), forKey: .nonGSMCharacters)
            try c.encode(preview.smart.text, forKey: .smartText)
            try c.encode(preview.smart.encoding.rawValue, forKey: .smartEncoding)
            try c.encode(preview.smart.segments, forKey: .smartSegments)
            try c.encode(
                preview.replacements.map { Replacement(from: String($0.original), to: $0.replacement) }, forKey: .replacements)
        }
        enum CodingKeys: String, CodingKey {
            case text, locale, variables, encoding, segments, characters, units, replacements
            case nonGSMCharacters = "non_gsm_characters", smartText = "smart_text"
            case smartEncoding = "smart_encoding", smartSegments = "smart_segments"
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
        let variables: [String: TemplateValue]?
        let locale: String?
    }

    // MARK: Routes

    func register(on router: RouteRegistrar) {
        router.get("/v1/templates") { request, context in
            try context.require(.campaigns, write: false)
            let (limit, cursor) = try request.listParameters()
            let page = try await templates.templates(limit: limit, cursor: cursor)
            return try Self.response(TemplateList(data: page.items.map(TemplateBody.init), nextCursor: page.nextCursor))
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
