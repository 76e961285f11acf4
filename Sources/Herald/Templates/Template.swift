import Foundation
import SMS

/// A stored message template: a Mustache body and its translations by locale.
public struct Template: Sendable, Equatable {
    public typealias Channel = MessageChannel
    public typealias Kind = MessageKind

    public let id: UUID
    public let name: String
    public let channel: Channel
    public let kind: Kind
    /// The default body, used when no translation matches the locale.
    public let body: String
    /// Bodies by canonical BCP 47 tag (`de`, `de-AT`).
    public let translations: [String: String]
    public let createdAt: Date
    public let updatedAt: Date

    public init(
        id: UUID, name: String, channel: Channel, kind: Kind, body: String, translations: [String: String],
        createdAt: Date, updatedAt: Date
    ) {
        self.id = id
        self.name = name
        self.channel = channel
        self.kind = kind
        self.body = body
        self.translations = translations
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    /// Every variable name of the body and then of the translations (in locale order), each once.
    public var variables: [String] {
        var seen = Set<String>()
        var names: [String] = []
        for source in [body] + translations.keys.sorted().map({ translations[$0]! }) {
            for name in (try? MessageTemplate.variables(in: source)) ?? [] where seen.insert(name).inserted {
                names.append(name)
            }
        }
        return names
    }

    /// The default body measured as written, tags included: an estimate of the message's size
    /// (exact figures come from rendering with real values, e.g. `POST /v1/templates/preview`).
    public var measuredBody: MessageText { MessageText(body) }

    /// Renders the translation `locale` falls back to (`de-AT` → `de-AT`, `de`, then the default body).
    ///
    /// - Throws: ``HeraldError`` `validation_failed` (field `locale`) for a tag that is not BCP 47,
    ///   `missing_variable` (field `variables.<name>`), `validation_failed` for values that cannot
    ///   be printed, variables beyond the limits of ``MessageTemplate/checkVariables(_:)`` or a result
    ///   longer than ``TemplateRules/maximumLength``, and `template_too_complex` when rendering would
    ///   run out of its ``RenderBudget``.
    public func render(variables: [String: JSONValue], locale: String?) throws -> RenderedTemplate {
        let resolved = try TemplateRules.resolve(locale: locale, translations: translations)
        let source = resolved.map { translations[$0]! } ?? body
        let field = resolved.map { "translations.\($0)" } ?? "body"
        let text = try TemplateRules.render(source, variables: variables, field: field)
        return RenderedTemplate(text: text, templateID: id, templateName: name, channel: channel, kind: kind, locale: resolved)
    }
}

/// A template rendered for one message.
public struct RenderedTemplate: Sendable, Equatable {
    /// The message text, exactly as it should be sent.
    public let text: String
    public let templateID: UUID
    public let templateName: String
    public let channel: Template.Channel
    public let kind: Template.Kind
    /// The translation used (its key), or nil for the default body.
    public let locale: String?

    /// Encoding, segments and characters of ``text``.
    public var measured: MessageText { MessageText(text) }
}

/// What `POST /v1/templates/preview` shows: the rendered text and how it travels, as written
/// and after smart-character replacement.
public struct TemplatePreview: Sendable {
    public let text: String
    /// The translation used, or nil for the body.
    public let locale: String?
    /// The variables of the body and translations.
    public let variables: [String]
    public let measured: MessageText
    /// The text after smart-character replacement (curly quotes → straight, …), measured.
    public let smart: MessageText
    public let replacements: [SmartCharacters.Replacement]
    /// The opt-out footer was appended (a marketing preview whose text lacked one).
    public var footerAdded = false
}

/// A new template as the API receives it; ``TemplateService/create(_:)`` validates every field.
public struct TemplateInput: Sendable {
    public var name: String
    /// `sms` (default) or `voice`.
    public var channel: String?
    /// `transactional` (default) or `marketing`.
    public var kind: String?
    public var body: String
    public var translations: [String: String]

    public init(name: String, channel: String? = nil, kind: String? = nil, body: String, translations: [String: String] = [:]) {
        self.name = name
        self.channel = channel
        self.kind = kind
        self.body = body
        self.translations = translations
    }
}

/// A change to a template with JSON merge patch semantics (RFC 7396): absent fields stay.
public struct TemplatePatch: Sendable {
    public enum Translations: Sendable {
        /// `"translations": null`: remove every translation.
        case removeAll
        /// `"translations": {…}`: a text sets (adds or replaces) that locale, null removes it;
        /// locales not named keep their text.
        case merge([String: String?])
    }

    public var name: String?
    public var channel: String?
    public var kind: String?
    public var body: String?
    public var translations: Translations?

    public init(name: String? = nil, channel: String? = nil, kind: String? = nil, body: String? = nil, translations: Translations? = nil) {
        self.name = name
        self.channel = channel
        self.kind = kind
        self.body = body
        self.translations = translations
    }
}
