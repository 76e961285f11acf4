import Foundation
import SMS
import Testing

@Suite("Segment rules: strict parsing with a pointer to the mistake, SQL with every value bound")
struct SegmentRuleTests {
    static func json(_ text: String) -> JSONValue {
        try! JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
    }

    static func error(_ text: String) -> SegmentRuleError? {
        do { _ = try SegmentRule.parse(json(text)); return nil } catch { return error }
    }

    @Test("the API.md example parses and reads back as it was written")
    func example() throws {
        let text = #"""
            {"all": [
              {"field": "country", "op": "in", "value": ["DE", "AT"]},
              {"field": "tags", "op": "has", "value": "vip"},
              {"any": [{"field": "attributes.plan", "op": "eq", "value": "pro"},
                       {"field": "attributes.orders", "op": "gte", "value": 3}]},
              {"not": {"field": "created_at", "op": "within_days", "value": 7}}]}
            """#
        let rule = try SegmentRule.parse(Self.json(text))
        #expect(try SegmentRule.parse(rule.json) == rule)
        #expect(rule.json == Self.json(text))
    }

    @Test("mistakes are pointed at", arguments: [
        (#"[]"#, "rule", "must be an object"),
        (#"{"all": []}"#, "rule.all", "non-empty list"),
        (#"{"all": [{"field": "country"}], "any": []}"#, "rule", "exactly one key"),
        (#"{"all": [{"field": "colour", "op": "eq", "value": "x"}]}"#, "rule.all[0].field", "is not a field"),
        (#"{"all": [{"field": "attributes.bad key", "op": "eq", "value": "x"}]}"#, "rule.all[0].field", "is not a field"),
        (#"{"all": [{"field": "attributes.", "op": "eq", "value": "x"}]}"#, "rule.all[0].field", "is not a field"),
        (#"{"any": [{"field": "country", "op": "has", "value": "DE"}]}"#, "rule.any[0].op", "has does not fit country"),
        (#"{"field": "tags", "op": "eq", "value": "vip"}"#, "rule.op", "eq does not fit tags"),
        (#"{"field": "created_at", "op": "contains", "value": "2026"}"#, "rule.op", "contains does not fit created_at"),
        (#"{"field": "country", "op": "like", "value": "DE"}"#, "rule.op", "is not an operator"),
        (#"{"field": "country", "value": "DE"}"#, "rule.op", "is required"),
        (#"{"op": "eq", "value": "DE"}"#, "rule.field", "is required"),
        (#"{"field": "country", "op": "eq", "value": 3}"#, "rule.value", "non-empty string"),
        (#"{"field": "country", "op": "eq"}"#, "rule.value", "non-empty string"),
        (#"{"field": "country", "op": "in", "value": "DE"}"#, "rule.value", "list of 1 to 1000"),
        (#"{"field": "country", "op": "in", "value": ["DE", 7]}"#, "rule.value[1]", "non-empty string"),
        (#"{"field": "attributes.orders", "op": "gte", "value": "three"}"#, "rule.value", "must be a number"),
        (#"{"field": "attributes.plan", "op": "eq", "value": {"a": 1}}"#, "rule.value", "a string, a number or true/false"),
        (#"{"field": "created_at", "op": "before", "value": "yesterday"}"#, "rule.value", "RFC 3339"),
        (#"{"field": "created_at", "op": "within_days", "value": 1.5}"#, "rule.value", "whole number of days"),
        (#"{"field": "tags", "op": "exists", "value": "x"}"#, "rule.value", "takes no value"),
        (#"{"field": "country", "op": "eq", "value": "DE", "extra": 1}"#, "rule.extra", "is not part of a condition"),
        (#"{"not": {"not": {"not": {"not": {"not": {"not": {"not": {"not": {"field": "country", "op": "exists"}}}}}}}}}"#,
         "rule.not.not.not.not.not.not.not.not", "deeper than 8"),
    ])
    func mistakes(text: String, path: String, message: String) {
        let error = Self.error(text)
        #expect(error?.path == path, "\(text)")
        #expect(error?.message.contains(message) == true, "\(error?.message ?? "no error")")
    }

    @Test("at most 100 conditions")
    func tooMany() {
        let conditions = (0...100).map { _ in #"{"field": "country", "op": "exists"}"# }.joined(separator: ",")
        #expect(Self.error(#"{"any": [\#(conditions)]}"#)?.message.contains("at most 100 conditions") == true)
    }

    static let hostile = [
        "'; DROP TABLE contacts; --", "\" OR 1=1 --", "$1", "%", "_", "\\", "') OR ('a'='a", "x'::text",
        "\u{2028}", "😀", "$$ SELECT 1 $$", "/* */", "E'\\x00'",
    ]

    @Test("hostile text through every field and operator never changes the SQL text, only the bound values")
    func injection() throws {
        let fields = ["phone", "country", "locale", "timezone", "first_name", "last_name", "tags", "attributes.plan"]
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        func compile(_ field: String, _ op: String, _ text: String) -> SegmentSQL? {
            let value: JSONValue = op == "in" || op == "not_in" ? .array([.string(text)]) : .string(text)
            return try? SegmentRule.parse(.object(["field": .string(field), "op": .string(op), "value": value])).sql(now: now)
        }
        var compiled = 0
        for field in fields {
            for op in ["eq", "ne", "in", "not_in", "contains", "starts_with", "has"] {
                guard let benign = compile(field, op, "benign") else { continue }
                for text in Self.hostile {
                    let sql = try #require(compile(field, op, text), "\(field) \(op) \(text)")
                    compiled += 1
                    #expect(sql.text == benign.text, "\(field) \(op) \(text): the text depends on the value")
                    #expect(sql.parameters != benign.parameters, "\(field) \(op) \(text) is bound")
                }
            }
        }
        #expect(compiled > 500)
        // Even an attribute's key is bound, never spliced.
        let keyed = try SegmentRule.parse(.object(["field": .string("attributes.drop_table"), "op": .string("exists")])).sql(now: now)
        #expect(!keyed.text.contains("drop_table"))
        #expect(keyed.parameters == [.text("drop_table")])
    }

    @Test("the SQL text is only fixed fragments and $n placeholders, numbered from the offset")
    func placeholders() throws {
        let rule = try SegmentRule.parse(Self.json(#"{"all": [{"field": "country", "op": "eq", "value": "de"}, {"field": "created_at", "op": "within_days", "value": 7}]}"#))
        let sql = rule.sql(now: Date(timeIntervalSince1970: 0), offset: 2)
        #expect(sql.text == "(country = $3 AND created_at >= $4 - $5 * interval '1 day')")
        #expect(sql.parameters == [.text("DE"), .time(Date(timeIntervalSince1970: 0)), .integer(7)])
    }
}
