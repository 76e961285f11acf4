import Foundation
import Phone
import SMS

/// The CSV form of contacts, row by row: which column is what, and what a row must hold.
/// Pure (no I/O): ``ImportService`` streams the rows it accepts into the database.
public enum ContactImport {
    public static let maximumAttributeColumns = ContactRules.maximumAttributes
    /// Characters in one attribute cell.
    public static let maximumCellLength = 1_000
    /// Rejected rows kept with their reasons (all of them are counted).
    public static let maximumReportedErrors = 1_000

    /// A rejected row: its line, the column at fault (nil for the row as a whole) and why.
    public struct RowError: Error, Sendable, Equatable, Codable {
        public var line: Int
        public var field: String?
        public var message: String
        public init(line: Int, field: String?, message: String) { self.line = line; self.field = field; self.message = message }
    }

    /// Where each known column is; every other column is an attribute.
    public struct Columns: Sendable, Equatable {
        public var count: Int
        public var phone: Int
        public var country: Int?
        public var firstName: Int?
        public var lastName: Int?
        public var locale: Int?
        public var timezone: Int?
        public var tags: Int?
        /// Column index and attribute key.
        public var attributes: [(index: Int, key: String)]

        public static func == (lhs: Columns, rhs: Columns) -> Bool {
            lhs.count == rhs.count && lhs.phone == rhs.phone && lhs.country == rhs.country && lhs.firstName == rhs.firstName
                && lhs.lastName == rhs.lastName && lhs.locale == rhs.locale && lhs.timezone == rhs.timezone && lhs.tags == rhs.tags
                && lhs.attributes.map(\.index) == rhs.attributes.map(\.index) && lhs.attributes.map(\.key) == rhs.attributes.map(\.key)
        }
    }

    /// Reads the header row: `phone` is required; `country`, `first_name`, `last_name`, `locale`,
    /// `timezone` and `tags` are known (any case, spaces or `-` for `_`); every other column is an
    /// attribute, named by its header. A header that cannot name an attribute, or a column named
    /// twice, refuses the whole file (field `header`).
    public static func columns(_ header: [String]) throws -> Columns {
        var phone: Int?, country: Int?, firstName: Int?, lastName: Int?, locale: Int?, timezone: Int?, tags: Int?
        var attributes: [(index: Int, key: String)] = []
        var seen = Set<String>()
        for (index, raw) in header.enumerated() {
            let shown = String(raw.prefix(64))
            guard let key = ContactRules.attributeKey(header: raw) else {
                throw HeraldError.validation("header", "column \(index + 1) (\"\(shown)\") cannot name an attribute: use letters, digits and _")
            }
            guard seen.insert(key).inserted else {
                throw HeraldError.validation("header", "column \(index + 1) (\"\(shown)\") repeats an earlier column")
            }
            switch key {
            case "phone": phone = index
            case "country": country = index
            case "first_name": firstName = index
            case "last_name": lastName = index
            case "locale": locale = index
            case "timezone": timezone = index
            case "tags": tags = index
            default: attributes.append((index, key))
            }
        }
        guard let phone else { throw HeraldError.validation("header", "the file needs a phone column") }
        guard attributes.count <= maximumAttributeColumns else {
            throw HeraldError.validation("header", "the file has more than \(maximumAttributeColumns) attribute columns")
        }
        return Columns(count: header.count, phone: phone, country: country, firstName: firstName, lastName: lastName,
                       locale: locale, timezone: timezone, tags: tags, attributes: attributes)
    }

    /// One accepted row, normalised.
    public struct Row: Sendable, Equatable {
        public var line: Int
        public var phone: String
        public var country: String?
        /// libphonenumber's type of the number (`mobile`, `fixed_line`, …).
        public var lineType: String?
        public var firstName: String?
        public var lastName: String?
        public var locale: String?
        public var timezone: String?
        public var tags: [String]
        /// Non-empty attribute cells, as text.
        public var attributes: [(key: String, value: String)]

        public static func == (lhs: Row, rhs: Row) -> Bool {
            lhs.line == rhs.line && lhs.phone == rhs.phone && lhs.country == rhs.country && lhs.lineType == rhs.lineType
                && lhs.firstName == rhs.firstName
                && lhs.lastName == rhs.lastName && lhs.locale == rhs.locale && lhs.timezone == rhs.timezone && lhs.tags == rhs.tags
                && lhs.attributes.map(\.key) == rhs.attributes.map(\.key) && lhs.attributes.map(\.value) == rhs.attributes.map(\.value)
        }
    }

    /// Cells that repeat down a file (a locale, a zone, a list of tags) are checked once: what
    /// they were found to be is kept here, for up to 10,000 distinct values each.
    public struct Memo: Sendable {
        var locales: [String: String] = [:]
        var timezones: [String: String] = [:]
        var tags: [String: [String]] = [:]
        static let capacity = 10_000
        public init() {}

        mutating func remember<Value>(_ key: String, in table: WritableKeyPath<Memo, [String: Value]>, _ check: () throws -> Value) rethrows -> Value {
            if let known = self[keyPath: table][key] { return known }
            let value = try check()
            if self[keyPath: table].count < Self.capacity { self[keyPath: table][key] = value }
            return value
        }
    }

    /// Checks one record against the columns. Empty cells say nothing (they keep what a contact
    /// has); `tags` are `;`-separated and joined with `extraTags`; `defaultCountry` reads national numbers.
    public static func row(_ record: CSVReader.Record, columns: Columns, defaultCountry: String?, extraTags: [String])
        -> Result<Row, RowError>
    {
        var memo = Memo()
        return row(record, columns: columns, defaultCountry: defaultCountry, extraTags: extraTags, memo: &memo)
    }

    public static func row(_ record: CSVReader.Record, columns: Columns, defaultCountry: String?, extraTags: [String],
                           memo: inout Memo) -> Result<Row, RowError>
    {
        let fields = record.fields
        guard fields.count <= columns.count else {
            return .failure(RowError(line: record.line, field: nil,
                                     message: "the row has \(fields.count) fields but the header has \(columns.count)"))
        }
        func cell(_ index: Int?) -> String? {
            guard let index, index < fields.count else { return nil }
            let value = fields[index].trimmedOfWhitespace
            return value.isEmpty ? nil : value
        }
        func fail(_ field: String?, _ message: String) -> Result<Row, RowError> {
            .failure(RowError(line: record.line, field: field, message: message))
        }
        do {
            let rowCountry = cell(columns.country)
            let countryHint = rowCountry ?? defaultCountry
            guard let rawPhone = cell(columns.phone) else { return fail("phone", "is required") }
            let number: PhoneNumber
            do { number = try ContactRules.phone(rawPhone, country: countryHint) } catch let error as HeraldError {
                // The country hint is the row's or the import's: say which field is wrong.
                return fail(error.field == "country" ? (rowCountry == nil ? "country (import)" : "country") : "phone", error.message)
            }
            var row = Row(line: record.line, phone: number.e164, country: number.regionCode, lineType: number.type.rawValue, tags: [], attributes: [])
            row.firstName = try ContactRules.name(cell(columns.firstName), field: "first_name")
            row.lastName = try ContactRules.name(cell(columns.lastName), field: "last_name")
            if let locale = cell(columns.locale) {
                row.locale = try memo.remember(locale, in: \.locales) { try ContactRules.locale(locale) ?? "" }
            }
            if let timezone = cell(columns.timezone) {
                row.timezone = try memo.remember(timezone, in: \.timezones) { try ContactRules.timezone(timezone) ?? "" }
            }
            let tagCell = cell(columns.tags) ?? ""
            row.tags = try memo.remember(tagCell, in: \.tags) {
                let listed = tagCell.split(separator: ";").map(String.init).filter { !$0.trimmedOfWhitespace.isEmpty }
                return try ContactRules.tags(listed + extraTags)
            }
            for (index, key) in columns.attributes {
                guard let value = cell(index) else { continue }
                guard value.count <= maximumCellLength else { return fail(key, "is longer than \(maximumCellLength) characters") }
                row.attributes.append((key, value))
            }
            return .success(row)
        } catch let error as HeraldError {
            // Tags inside the cell are named by their column, not by an index into a JSON array.
            let field = error.field.map { $0.hasPrefix("tags[") ? "tags" : $0 }
            return fail(field, error.message)
        } catch {
            return fail(nil, "the row could not be read")
        }
    }

    /// A PostgreSQL array literal of texts (`{"a","b"}`), each element quoted and escaped.
    public static func arrayLiteral(_ values: [String]) -> String {
        var literal = "{"
        for (index, value) in values.enumerated() {
            if index > 0 { literal += "," }
            literal += "\""
            for character in value.unicodeScalars {
                if character == "\"" || character == "\\" { literal += "\\" }
                literal.unicodeScalars.append(character)
            }
            literal += "\""
        }
        return literal + "}"
    }

    /// A JSON object of text values (`{"plan":"pro"}`), escaped as RFC 8259 says.
    public static func jsonObject(_ pairs: [(key: String, value: String)]) -> String {
        var json = "{"
        for (index, pair) in pairs.enumerated() {
            if index > 0 { json += "," }
            appendJSONString(pair.key, to: &json)
            json += ":"
            appendJSONString(pair.value, to: &json)
        }
        return json + "}"
    }

    static func appendJSONString(_ text: String, to json: inout String) {
        json += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": json += "\\\""
            case "\\": json += "\\\\"
            case "\n": json += "\\n"
            case "\r": json += "\\r"
            case "\t": json += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                json += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: json.unicodeScalars.append(scalar)
            }
        }
        json += "\""
    }
}
