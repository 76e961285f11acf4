import Foundation

/// A segment's rule (API.md, "Segments"): groups `all` / `any` / `not` of conditions on contact
/// fields. Parsed strictly — every mistake names where it is (`rule.all[2].op`) — and compiled
/// to SQL whose text is only fixed fragments and `$n` placeholders: no value from a rule, not
/// even an attribute's key, is ever part of the SQL text.
public indirect enum SegmentRule: Sendable, Equatable {
    case all([SegmentRule])
    case any([SegmentRule])
    case not(SegmentRule)
    case condition(SegmentCondition)

    public static let maximumDepth = 8
    public static let maximumConditions = 100
    public static let maximumListValues = 1_000
    public static let maximumTextLength = 1_000
}

public struct SegmentCondition: Sendable, Equatable {
    public var field: SegmentField
    public var op: SegmentOperator
    public var value: SegmentValue
}

public enum SegmentField: Sendable, Equatable {
    case phone, country, locale, timezone, firstName, lastName, createdAt, tags
    case attribute(String)

    /// The text columns, by their API names.
    static let textFields: [String: SegmentField] = [
        "phone": .phone, "country": .country, "locale": .locale, "timezone": .timezone,
        "first_name": .firstName, "last_name": .lastName,
    ]

    var column: String {
        switch self {
        case .phone: "phone"
        case .country: "country"
        case .locale: "locale"
        case .timezone: "timezone"
        case .firstName: "first_name"
        case .lastName: "last_name"
        case .createdAt: "created_at"
        case .tags: "tags"
        case .attribute: "attributes"
        }
    }
}

public enum SegmentOperator: String, Sendable, CaseIterable {
    case eq, ne, lt, lte, gt, gte
    case `in` = "in", notIn = "not_in"
    case contains, startsWith = "starts_with", exists, notExists = "not_exists", has
    case withinDays = "within_days", before, after
}

public enum SegmentValue: Sendable, Equatable {
    case none
    case text(String)
    case number(Double)
    case bool(Bool)
    case texts([String])
    case scalars([SegmentValue])
    case time(Date)
    case days(Int)
}

/// A mistake in a rule: where (`rule.any[1].value`) and what.
public struct SegmentRuleError: Error, Sendable, Equatable, CustomStringConvertible {
    public var path: String
    public var message: String
    public init(path: String, message: String) { self.path = path; self.message = message }
    public var description: String { "\(path): \(message)" }
}

/// SQL text with `$1 …` placeholders, and the values they stand for, in order.
public struct SegmentSQL: Sendable, Equatable {
    public enum Parameter: Sendable, Equatable {
        case text(String)
        case texts([String])
        case number(Double)
        case time(Date)
        case integer(Int)
    }
    public var text: String
    public var parameters: [Parameter]
}

extension SegmentRule {
    // MARK: Parsing

    /// Reads a rule from its JSON form; `path` names the rule itself in errors (`rule`).
    public static func parse(_ json: JSONValue, path: String = "rule") throws(SegmentRuleError) -> SegmentRule {
        var conditions = 0
        return try parse(json, path: path, depth: 1, conditions: &conditions)
    }

    private static func parse(_ json: JSONValue, path: String, depth: Int, conditions: inout Int) throws(SegmentRuleError) -> SegmentRule {
        guard depth <= maximumDepth else { throw SegmentRuleError(path: path, message: "groups nest deeper than \(maximumDepth) levels") }
        guard case .object(let object) = json else {
            throw SegmentRuleError(path: path, message: "must be an object: a group (all, any, not) or a condition (field, op, value)")
        }
        let groupKeys = ["all", "any", "not"].filter { object[$0] != nil }
        if let key = groupKeys.first {
            guard groupKeys.count == 1, object.count == 1 else {
                throw SegmentRuleError(path: path, message: "a group has exactly one key: all, any or not")
            }
            let inner = object[key]!
            let innerPath = "\(path).\(key)"
            if key == "not" { return .not(try parse(inner, path: innerPath, depth: depth + 1, conditions: &conditions)) }
            guard case .array(let items) = inner, !items.isEmpty else {
                throw SegmentRuleError(path: innerPath, message: "must be a non-empty list of rules")
            }
            var rules: [SegmentRule] = []
            for (index, item) in items.enumerated() {
                rules.append(try parse(item, path: "\(innerPath)[\(index)]", depth: depth + 1, conditions: &conditions))
            }
            return key == "all" ? .all(rules) : .any(rules)
        }
        conditions += 1
        guard conditions <= maximumConditions else {
            throw SegmentRuleError(path: path, message: "a rule holds at most \(maximumConditions) conditions")
        }
        return .condition(try condition(object, path: path))
    }

    private static func condition(_ object: [String: JSONValue], path: String) throws(SegmentRuleError) -> SegmentCondition {
        for key in object.keys.sorted() where !["field", "op", "value"].contains(key) {
            throw SegmentRuleError(path: "\(path).\(key.prefix(64))", message: "is not part of a condition (field, op, value) or a group (all, any, not)")
        }
        guard case .string(let rawField)? = object["field"] else {
            throw SegmentRuleError(path: "\(path).field", message: "is required: phone, country, locale, timezone, first_name, last_name, created_at, tags or attributes.<key>")
        }
        let field: SegmentField
        if let text = SegmentField.textFields[rawField] {
            field = text
        } else if rawField == "created_at" {
            field = .createdAt
        } else if rawField == "tags" {
            field = .tags
        } else if rawField.hasPrefix("attributes."), isAttributeKey(String(rawField.dropFirst("attributes.".count))) {
            field = .attribute(String(rawField.dropFirst("attributes.".count)))
        } else {
            throw SegmentRuleError(path: "\(path).field", message: "is not a field: use phone, country, locale, timezone, first_name, last_name, created_at, tags or attributes.<key>")
        }
        guard case .string(let rawOp)? = object["op"] else {
            throw SegmentRuleError(path: "\(path).op", message: "is required")
        }
        guard let op = SegmentOperator(rawValue: rawOp) else {
            throw SegmentRuleError(path: "\(path).op", message: "is not an operator: \(SegmentOperator.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let allowed = operators(for: field)
        guard allowed.contains(op) else {
            throw SegmentRuleError(path: "\(path).op", message: "\(op.rawValue) does not fit \(rawField); use \(allowed.map(\.rawValue).joined(separator: ", "))")
        }
        let value = try self.value(object["value"], field: field, op: op, path: "\(path).value")
        return SegmentCondition(field: field, op: op, value: value)
    }

    static func operators(for field: SegmentField) -> [SegmentOperator] {
        switch field {
        case .phone, .country, .locale, .timezone, .firstName, .lastName:
            [.eq, .ne, .in, .notIn, .contains, .startsWith, .exists, .notExists]
        case .createdAt: [.lt, .lte, .gt, .gte, .before, .after, .withinDays]
        case .tags: [.has, .in, .notIn, .exists, .notExists]
        case .attribute: [.eq, .ne, .lt, .lte, .gt, .gte, .in, .notIn, .contains, .startsWith, .exists, .notExists]
        }
    }

    private static func value(_ json: JSONValue?, field: SegmentField, op: SegmentOperator, path: String) throws(SegmentRuleError) -> SegmentValue {
        func text(_ json: JSONValue?) throws(SegmentRuleError) -> String {
            guard case .string(let text)? = json, !text.isEmpty else { throw SegmentRuleError(path: path, message: "must be a non-empty string") }
            guard text.count <= maximumTextLength else { throw SegmentRuleError(path: path, message: "must be at most \(maximumTextLength) characters") }
            guard !text.unicodeScalars.contains("\u{0}") else { throw SegmentRuleError(path: path, message: "must not contain NUL") }
            return field == .country ? text.uppercased() : text
        }
        switch op {
        case .exists, .notExists:
            guard json == nil || json == .null else { throw SegmentRuleError(path: path, message: "\(op.rawValue) takes no value") }
            return .none
        case .withinDays:
            guard case .number(let days)? = json, days == days.rounded(), days >= 1, days <= 36_500 else {
                throw SegmentRuleError(path: path, message: "must be a whole number of days from 1 to 36500")
            }
            return .days(Int(days))
        case .before, .after, .lt, .lte, .gt, .gte:
            if field == .createdAt {
                guard case .string(let raw)? = json, let time = timestamp(raw) else {
                    throw SegmentRuleError(path: path, message: "must be an RFC 3339 time such as 2026-12-01T09:00:00Z")
                }
                return .time(time)
            }
            guard case .number(let number)? = json, number.isFinite else { throw SegmentRuleError(path: path, message: "must be a number") }
            return .number(number)
        case .in, .notIn:
            guard case .array(let items)? = json, !items.isEmpty, items.count <= maximumListValues else {
                throw SegmentRuleError(path: path, message: "must be a list of 1 to \(maximumListValues) values")
            }
            if case .attribute = field {
                var values: [SegmentValue] = []
                for (index, item) in items.enumerated() {
                    values.append(try scalar(item, path: "\(path)[\(index)]"))
                }
                return .scalars(values)
            }
            var texts: [String] = []
            for (index, item) in items.enumerated() {
                do { texts.append(try text(item)) } catch { throw SegmentRuleError(path: "\(path)[\(index)]", message: error.message) }
            }
            return .texts(texts)
        case .eq, .ne:
            if case .attribute = field { return try scalar(json, path: path) }
            return .text(try text(json))
        case .contains, .startsWith, .has:
            return .text(try text(json))
        }
    }

    private static func scalar(_ json: JSONValue?, path: String) throws(SegmentRuleError) -> SegmentValue {
        switch json {
        case .string(let text)?:
            guard text.count <= maximumTextLength, !text.unicodeScalars.contains("\u{0}") else {
                throw SegmentRuleError(path: path, message: "must be at most \(maximumTextLength) characters, without NUL")
            }
            return .text(text)
        case .number(let number)? where number.isFinite: return .number(number)
        case .bool(let bool)?: return .bool(bool)
        default: throw SegmentRuleError(path: path, message: "must be a string, a number or true/false")
        }
    }

    /// A contact attribute's key: a letter or `_`, then letters, digits or `_`, at most 64 — so
    /// that `attributes.<key>` names exactly one attribute. Contacts are held to the same rule.
    public static func isAttributeKey(_ key: String) -> Bool {
        let scalars = Array(key.unicodeScalars)
        guard let first = scalars.first, scalars.count <= 64, first == "_" || (first.isASCII && first.properties.isAlphabetic) else { return false }
        return scalars.allSatisfy { $0 == "_" || ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) }
    }

    /// An RFC 3339 time (`2026-12-01T09:00:00Z`, fractions and offsets allowed); nil otherwise.
    public static func timestamp(_ raw: String) -> Date? {
        guard raw.utf8.count <= 40 else { return nil }
        let plain = ISO8601DateFormatter()
        plain.formatOptions = [.withInternetDateTime]
        let fractional = ISO8601DateFormatter()
        fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return plain.date(from: raw) ?? fractional.date(from: raw)
    }

    // MARK: The JSON form

    /// The rule as JSON again (stored, and shown back as the API received it, normalised).
    public var json: JSONValue {
        switch self {
        case .all(let rules): .object(["all": .array(rules.map(\.json))])
        case .any(let rules): .object(["any": .array(rules.map(\.json))])
        case .not(let rule): .object(["not": rule.json])
        case .condition(let condition):
            {
                var object: [String: JSONValue] = ["field": .string(condition.field.apiName), "op": .string(condition.op.rawValue)]
                if let value = condition.value.json { object["value"] = value }
                return .object(object)
            }()
        }
    }
}

extension SegmentField {
    var apiName: String {
        if case .attribute(let key) = self { return "attributes." + key }
        return column
    }
}

extension SegmentValue {
    var json: JSONValue? {
        switch self {
        case .none: nil
        case .text(let text): .string(text)
        case .number(let number): .number(number)
        case .bool(let bool): .bool(bool)
        case .texts(let texts): .array(texts.map { .string($0) })
        case .scalars(let values): .array(values.compactMap(\.json))
        case .time(let time):
            {
                let formatter = ISO8601DateFormatter()
                formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
                return .string(formatter.string(from: time))
            }()
        case .days(let days): .number(Double(days))
        }
    }
}

// MARK: Compiling

extension SegmentRule {
    /// The rule as a boolean SQL expression over a `contacts` row; placeholders start at `$(offset + 1)`.
    /// `now` is the time `within_days` counts back from (the caller's clock, so tests can move it).
    public func sql(now: Date, offset: Int = 0) -> SegmentSQL {
        var compiler = SegmentCompiler(offset: offset)
        let text = compiler.expression(self, now: now)
        return SegmentSQL(text: text, parameters: compiler.parameters)
    }
}

struct SegmentCompiler {
    let offset: Int
    var parameters: [SegmentSQL.Parameter] = []

    init(offset: Int) { self.offset = offset }

    mutating func bind(_ parameter: SegmentSQL.Parameter) -> String {
        parameters.append(parameter)
        return "$\(offset + parameters.count)"
    }

    mutating func expression(_ rule: SegmentRule, now: Date) -> String {
        switch rule {
        case .all(let rules): return "(" + rules.map { expression($0, now: now) }.joined(separator: " AND ") + ")"
        case .any(let rules): return "(" + rules.map { expression($0, now: now) }.joined(separator: " OR ") + ")"
        // A condition on a missing value is NULL, which a WHERE, AND and OR treat as false; only
        // NOT would turn it into NULL instead of true, so only there is it made false first.
        // Conditions stay bare so that the planner can use the indexes for them.
        case .not(let rule): return "(NOT COALESCE(" + expression(rule, now: now) + ", false))"
        case .condition(let condition): return self.condition(condition, now: now)
        }
    }

    static func likeEscaped(_ text: String) -> String { LikePattern.escaped(text) }

    mutating func condition(_ condition: SegmentCondition, now: Date) -> String {
        let op = condition.op
        let value = condition.value
        switch condition.field {
        case .phone, .country, .locale, .timezone, .firstName, .lastName:
            let column = condition.field.column
            // Names match without regard to case (folded by the database on both sides, so the two
            // always agree; which letters fold follows its collation); codes and numbers exactly.
            let insensitive = condition.field == .firstName || condition.field == .lastName
            let subject = insensitive ? "lower(\(column))" : column
            func folded(_ placeholder: String) -> String { insensitive ? "lower(\(placeholder))" : placeholder }
            func foldedList(_ placeholder: String) -> String {
                insensitive ? "ARRAY(SELECT lower(v) FROM unnest(\(placeholder)::text[]) AS v)" : "\(placeholder)::text[]"
            }
            switch (op, value) {
            case (.eq, .text(let text)): return "\(subject) = \(folded(bind(.text(text))))"
            case (.ne, .text(let text)): return "\(subject) IS DISTINCT FROM \(folded(bind(.text(text))))"
            case (.in, .texts(let texts)): return "\(subject) = ANY(\(foldedList(bind(.texts(texts)))))"
            case (.notIn, .texts(let texts)): return "(\(column) IS NULL OR \(subject) <> ALL(\(foldedList(bind(.texts(texts))))))"
            case (.contains, .text(let text)):
                return "\(column) \(insensitive ? "ILIKE" : "LIKE") \(bind(.text("%" + Self.likeEscaped(text) + "%"))) ESCAPE '\\'"
            case (.startsWith, .text(let text)):
                return "\(column) \(insensitive ? "ILIKE" : "LIKE") \(bind(.text(Self.likeEscaped(text) + "%"))) ESCAPE '\\'"
            case (.exists, _): return "\(column) IS NOT NULL"
            case (.notExists, _): return "\(column) IS NULL"
            default: return "false"
            }
        case .createdAt:
            switch (op, value) {
            case (.lt, .time(let time)), (.before, .time(let time)): return "created_at < \(bind(.time(time)))"
            case (.lte, .time(let time)): return "created_at <= \(bind(.time(time)))"
            case (.gt, .time(let time)), (.after, .time(let time)): return "created_at > \(bind(.time(time)))"
            case (.gte, .time(let time)): return "created_at >= \(bind(.time(time)))"
            case (.withinDays, .days(let days)):
                return "created_at >= \(bind(.time(now))) - \(bind(.integer(days))) * interval '1 day'"
            default: return "false"
            }
        case .tags:
            switch (op, value) {
            case (.has, .text(let text)): return "tags @> ARRAY[\(bind(.text(text)))]::text[]"
            case (.in, .texts(let texts)): return "tags && \(bind(.texts(texts)))::text[]"
            case (.notIn, .texts(let texts)): return "NOT (tags && \(bind(.texts(texts)))::text[])"
            case (.exists, _): return "cardinality(tags) > 0"
            case (.notExists, _): return "cardinality(tags) = 0"
            default: return "false"
            }
        case .attribute(let key):
            let keyParameter = bind(.text(key))
            let textValue = "(attributes ->> \(keyParameter))"
            // The value as a number when it is one (a JSON number, or text that reads as one), else NULL:
            // never a cast that could fail.
            let numeric = "(CASE WHEN jsonb_typeof(attributes -> \(keyParameter)) = 'number' THEN \(textValue)::numeric "
                + "WHEN \(textValue) ~ '^-?[0-9]{1,30}(\\.[0-9]{1,30})?$' THEN \(textValue)::numeric END)"
            func equals(_ scalar: SegmentValue) -> String {
                switch scalar {
                case .text(let text): return "attributes @> jsonb_build_object(\(keyParameter)::text, \(bind(.text(text)))::text)"
                case .number(let number): return "\(numeric) = \(bind(.number(number)))::numeric"
                case .bool(let bool): return "lower(\(textValue)) = \(bind(.text(bool ? "true" : "false")))"
                default: return "false"
                }
            }
            switch (op, value) {
            case (.eq, _): return equals(value)
            case (.ne, _): return "NOT COALESCE(\(equals(value)), false)"
            case (.lt, .number(let number)): return "\(numeric) < \(bind(.number(number)))::numeric"
            case (.lte, .number(let number)): return "\(numeric) <= \(bind(.number(number)))::numeric"
            case (.gt, .number(let number)): return "\(numeric) > \(bind(.number(number)))::numeric"
            case (.gte, .number(let number)): return "\(numeric) >= \(bind(.number(number)))::numeric"
            case (.in, .scalars(let values)): return "(" + values.map { "COALESCE(\(equals($0)), false)" }.joined(separator: " OR ") + ")"
            case (.notIn, .scalars(let values)): return "NOT (" + values.map { "COALESCE(\(equals($0)), false)" }.joined(separator: " OR ") + ")"
            case (.contains, .text(let text)): return "\(textValue) ILIKE \(bind(.text("%" + Self.likeEscaped(text) + "%"))) ESCAPE '\\'"
            case (.startsWith, .text(let text)): return "\(textValue) ILIKE \(bind(.text(Self.likeEscaped(text) + "%"))) ESCAPE '\\'"
            case (.exists, _): return "attributes ? \(keyParameter)"
            case (.notExists, _): return "NOT (attributes ? \(keyParameter))"
            default: return "false"
            }
        }
    }
}

/// Text matched literally inside a SQL `LIKE` pattern.
public enum LikePattern {
    /// `%`, `_` and `\` escaped with `\` (use with `ESCAPE '\'`).
    public static func escaped(_ text: String) -> String {
        var escaped = ""
        for character in text {
            if character == "%" || character == "_" || character == "\\" { escaped.append("\\") }
            escaped.append(character)
        }
        return escaped
    }
}
