import Foundation
import SMS

/// The rules of templates (documented in `openapi.yaml`). Pure; every failure names its field.
public enum TemplateRules {
    /// Names: 1–100 characters of `a-z`, `0-9`, `_`, `.`, `-`, starting with a letter or digit
    /// (`order_shipped`, `otp.login-v2`), so they are safe in URLs, logs and CSV.
    public static let maximumNameLength = 100
    /// A body (and each translation) holds at most 1600 characters as written, tags included:
    /// the common provider maximum for one message (about ten GSM-7 segments). Characters are
    /// Unicode code points here, as JSON Schema's `maxLength` counts them.
    public static let maximumBodyLength = 1600
    /// A rendered message holds at most 1600 characters, for the same reason.
    public static let maximumLength = MessageTemplate.defaultMaximumLength
    public static let maximumTranslations = 50

    public static func name(_ raw: String, field: String = "name") throws -> String {
        guard !raw.isEmpty else { throw HeraldError.validation(field, "must not be empty") }
        guard raw.count <= maximumNameLength else {
            throw HeraldError.validation(field, "must be at most \(maximumNameLength) characters")
        }
        let allowed = raw.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || "_.-".unicodeScalars.contains($0) }
        guard allowed, let first = raw.unicodeScalars.first, ("a"..."z").contains(first) || ("0"..."9").contains(first) else {
            throw HeraldError.validation(
                field, "must be lower-case letters, digits, '_', '.' and '-', starting with a letter or digit")
        }
        return raw
    }

    public static func channel(_ raw: String?, field: String = "channel") throws -> Template.Channel {
        guard let raw else { return .sms }
        guard let channel = Template.Channel(rawValue: raw) else { throw HeraldError.validation(field, "must be sms or voice") }
        return channel
    }

    public static func kind(_ raw: String?, field: String = "kind") throws -> Template.Kind {
        guard let raw else { return .transactional }
        guard let kind = Template.Kind(rawValue: raw) else {
            throw HeraldError.validation(field, "must be marketing or transactional")
        }
        return kind
    }

    /// A body that is not empty, fits, and parses; returns its variables.
    @discardableResult
    public static func body(_ body: String, field: String = "body") throws -> MessageTemplate {
        guard !body.allSatisfy(\.isWhitespace) else { throw HeraldError.validation(field, "must not be empty") }
        guard body.unicodeScalars.count <= maximumBodyLength else {
            throw HeraldError.validation(field, "must be at most \(maximumBodyLength) characters")
        }
        // PostgreSQL text and jsonb cannot hold NUL.
        guard !body.unicodeScalars.contains("\u{0}") else { throw HeraldError.validation(field, "must not contain NUL characters") }
        do {
            return try MessageTemplate(body)
        } catch {
            throw HeraldError(.invalidTemplate, "\(field) is not a valid template: \(error.description)", field: field)
        }
    }

    /// Translations keyed by canonical locale tags, each a valid body.
    public static func translations(_ raw: [String: String], field: String = "translations") throws -> [String: String] {
        guard raw.count <= maximumTranslations else {
            throw HeraldError.validation(field, "must hold at most \(maximumTranslations) translations")
        }
        var result: [String: String] = [:]
        for key in raw.keys.sorted() {
            let keyField = "\(field).\(key)"
            guard let locale = LocaleFallback.canonical(key) else {
                throw HeraldError.validation(keyField, "is not a locale tag such as de or de-AT")
            }
            guard result[locale] == nil else {
                throw HeraldError.validation(keyField, "names the same locale as another key (\(locale))")
            }
            try body(raw[key]!, field: keyField)
            result[locale] = raw[key]!
        }
        return result
    }

    /// The translation key `locale` falls back to, or nil for the default body.
    public static func resolve(locale: String?, translations: [String: String], field: String = "locale") throws -> String? {
        guard let locale else { return nil }
        guard LocaleFallback.canonical(locale) != nil else {
            throw HeraldError.validation(field, "is not a locale tag such as de or de-AT")
        }
        return LocaleFallback.resolve(locale, among: translations.keys)
    }

    /// Renders `source` (already validated), mapping template errors onto Herald's. The variables'
    /// limits (``MessageTemplate/maximumListItems`` and its siblings) and the render budget
    /// (``RenderBudget/standard``) hold here, for previews and messages alike.
    public static func render(_ source: String, variables: [String: JSONValue], field: String) throws -> String {
        do {
            return try MessageTemplate(source).render(variables, maximumLength: maximumLength)
        } catch {
            throw heraldError(error, field: field)
        }
    }

    static func heraldError(_ error: TemplateError, field: String) -> HeraldError {
        switch error {
        case .syntax:
            return HeraldError(.invalidTemplate, "\(field) is not a valid template: \(error.description)", field: field)
        case .missingVariable(let name):
            return HeraldError(.missingVariable, "the template needs a value for '\(name)'", field: "variables.\(name)")
        case .notText(let name):
            return HeraldError.validation(
                "variables.\(name)", "must be text, a number or true/false: the template prints it")
        case .tooLong(let limit):
            return HeraldError.validation("variables", "make the rendered text longer than \(limit) characters")
        case .listTooLong(let path, let limit):
            return HeraldError.validation("variables.\(path)", "must hold at most \(limit) items")
        case .nestedTooDeep(let path, let limit):
            return HeraldError.validation("variables.\(path)", "is nested more than \(limit) objects or lists deep")
        case .tooManyValues(let limit):
            return HeraldError.validation("variables", "must hold at most \(limit) values in all, at any depth")
        case .tooComplex:
            return HeraldError(.templateTooComplex, error.description, field: "variables")
        }
    }
}
