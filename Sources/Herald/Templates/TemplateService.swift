import Foundation
import Logging
import SMS

/// Message templates: stored, validated at save, rendered for messages and campaigns.
public struct TemplateService: Sendable {
    let store: TemplateStore
    let logger: Logger

    public init(store: TemplateStore, logger: Logger) {
        self.store = store
        self.logger = logger
    }

    // MARK: CRUD

    /// Validates every field (the body and each translation must parse) and stores the template.
    /// A taken name is `already_exists` (field `name`).
    public func create(_ input: TemplateInput) async throws -> Template {
        let name = try TemplateRules.name(input.name)
        let channel = try TemplateRules.channel(input.channel)
        let kind = try TemplateRules.kind(input.kind)
        try TemplateRules.body(input.body)
        let translations = try TemplateRules.translations(input.translations)
        let template = try await store.insert(name: name, channel: channel, kind: kind, body: input.body, translations: translations)
        logger.info("template created", metadata: ["template.id": "\(template.id)", "template.name": "\(name)"])
        return template
    }

    public func templates(limit: Int, cursor: ListCursor?) async throws -> Page<Template> {
        try await store.templates(limit: limit, after: cursor)
    }

    /// The template with this id; `not_found` when there is none.
    public func template(id: UUID) async throws -> Template {
        guard let template = try await store.template(id: id) else { throw Self.notFound }
        return template
    }

    /// The template with this name (any case); `template_not_found` (field `template`) when there is none.
    public func template(named name: String) async throws -> Template {
        let lowered = name.lowercased()
        guard lowered.count <= TemplateRules.maximumNameLength, !lowered.unicodeScalars.contains("\u{0}"),
            let template = try await store.template(name: lowered)
        else {
            throw HeraldError(.templateNotFound, "there is no template with this name", field: "template")
        }
        return template
    }

    /// Applies a merge patch: absent fields stay; `translations` merges per locale (a text sets
    /// it, null removes it) or, as a whole `null`, removes every translation. The result is
    /// validated as a whole, like a new template.
    public func update(id: UUID, _ patch: TemplatePatch) async throws -> Template {
        // Field rules first, outside the row lock.
        let name = try patch.name.map { try TemplateRules.name($0) }
        let channel = try patch.channel.map { try TemplateRules.channel($0) }
        let kind = try patch.kind.map { try TemplateRules.kind($0) }
        if let body = patch.body { try TemplateRules.body(body) }
        var changedTranslations: [String: String?] = [:]
        if case .merge(let changes) = patch.translations {
            for (key, text) in changes {
                guard let locale = LocaleFallback.canonical(key) else {
                    throw HeraldError.validation("translations.\(key)", "is not a locale tag such as de or de-AT")
                }
                guard changedTranslations.index(forKey: locale) == nil else {
                    throw HeraldError.validation("translations.\(key)", "names the same locale as another key (\(locale))")
                }
                if let text { try TemplateRules.body(text, field: "translations.\(key)") }
                changedTranslations[locale] = .some(text)
            }
        }
        let updated = try await store.update(id: id) { current in
            var translations = current.translations
            switch patch.translations {
            case .removeAll?: translations = [:]
            case .merge?:
                for (locale, text) in changedTranslations { translations[locale] = text }
            case nil: break
            }
            guard translations.count <= TemplateRules.maximumTranslations else {
                throw HeraldError.validation("translations", "must hold at most \(TemplateRules.maximumTranslations) translations")
            }
            return Template(
                id: current.id, name: name ?? current.name, channel: channel ?? current.channel, kind: kind ?? current.kind,
                body: patch.body ?? current.body, translations: translations,
                createdAt: current.createdAt, updatedAt: current.updatedAt)
        }
        guard let updated else { throw Self.notFound }
        logger.info("template updated", metadata: ["template.id": "\(id)"])
        return updated
    }

    public func delete(id: UUID) async throws {
        guard try await store.delete(id: id) else { throw Self.notFound }
        logger.info("template deleted", metadata: ["template.id": "\(id)"])
    }

    // MARK: Rendering

    /// Renders the named template for one message: the translation `locale` falls back to
    /// (`de-AT` → `de-AT`, `de`, then the default body), filled from `variables`.
    ///
    /// - Throws: ``HeraldError`` `template_not_found` (field `template`); `missing_variable`
    ///   (field `variables.<name>`); `validation_failed` for a bad `locale`, a value that is an
    ///   object or list where text is printed, a list of more than 1,000 items or values nested
    ///   more than 32 deep (field `variables.<name>`), more than 10,000 values in all or a result
    ///   longer than 1600 characters (field `variables`); `template_too_complex` (field
    ///   `variables`) when rendering would run out of its step or time budget.
    public func render(name: String, variables: [String: JSONValue], locale: String?) async throws -> RenderedTemplate {
        try await template(named: name).render(variables: variables, locale: locale)
    }

    /// The opt-out footer a marketing template's messages get, and its keywords (a text that
    /// already says how to opt out gets none).
    public struct Footer: Sendable {
        public var text: String
        public var keywords: [String]
        public init(text: String, keywords: [String]) { self.text = text; self.keywords = keywords }
        public init(_ settings: Settings) { self.init(text: settings.marketingFooter, keywords: settings.optOut.keywords) }

        /// `body` as it is sent: with the footer when it lacks one.
        public func applied(to body: String) -> String { MessageService.withFooter(body, footer: text, keywords: keywords) }
    }

    /// Renders an unsaved body (and optional translations) for `POST /v1/templates/preview`,
    /// with the same rules and errors as saving and rendering. `contact`: its fields and
    /// attributes fill the variables `variables` does not name (and its locale is the default);
    /// `footer`: a marketing message's opt-out footer, appended and counted.
    public static func preview(
        body: String, translations: [String: String] = [:], variables: [String: JSONValue], locale: String?,
        contact: Contact? = nil, footer: Footer? = nil
    ) throws -> TemplatePreview {
        try TemplateRules.body(body)
        let translations = try TemplateRules.translations(translations)
        var values = variables
        if let contact {
            let recipient = CampaignPlanner.Recipient(
                contactID: contact.id, phone: contact.phone, subscribed: contact.subscribed, country: contact.country,
                firstName: contact.firstName, lastName: contact.lastName, locale: contact.locale, timezone: contact.timezone,
                tags: contact.tags, attributes: contact.attributes)
            values = CampaignPlanner.variables(of: recipient, phone: contact.phone).merging(variables) { _, given in given }
        }
        let resolved = try TemplateRules.resolve(locale: locale ?? contact?.locale, translations: translations)
        let field = resolved.map { "translations.\($0)" } ?? "body"
        let rendered = try TemplateRules.render(resolved.map { translations[$0]! } ?? body, variables: values, field: field)
        let text = footer?.applied(to: rendered) ?? rendered
        let draft = Template(
            id: UUID(), name: "preview", channel: .sms, kind: .transactional, body: body, translations: translations,
            createdAt: Date(), updatedAt: Date())
        let smart = SmartCharacters.replace(text)
        return TemplatePreview(
            text: text, locale: resolved, variables: draft.variables, measured: MessageText(text),
            smart: MessageText(smart.text), replacements: smart.replacements, footerAdded: text != rendered)
    }

    static let notFound = HeraldError(.notFound, "no template with this id")
}
