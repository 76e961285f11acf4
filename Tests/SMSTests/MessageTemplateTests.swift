import Foundation
import SMS
import Testing

@Suite("Message templates: Mustache for plain text, strict about missing values")
struct MessageTemplateTests {
    func render(_ source: String, _ variables: [String: JSONValue] = [:]) throws -> String {
        try MessageTemplate(source).render(variables)
    }

    func syntaxError(_ source: String) -> (message: String, line: Int, column: Int, offset: Int)? {
        do {
            _ = try MessageTemplate(source)
            return nil
        } catch {
            guard case .syntax(let message, let line, let column, let offset) = error else { return nil }
            return (message, line, column, offset)
        }
    }

    func renderError(_ source: String, _ variables: [String: JSONValue] = [:]) -> TemplateError? {
        do {
            _ = try MessageTemplate(source).render(variables)
            return nil
        } catch {
            return error
        }
    }

    // MARK: Rendering

    @Test("variables print as given, with no HTML escaping in any tag form")
    func noEscaping() throws {
        let values: [String: JSONValue] = ["name": "Tom & Jerry <b>\"hi\"</b> 'x'"]
        #expect(try render("Hi {{name}}!", values) == "Hi Tom & Jerry <b>\"hi\"</b> 'x'!")
        #expect(try render("Hi {{{name}}}!", values) == "Hi Tom & Jerry <b>\"hi\"</b> 'x'!")
        #expect(try render("Hi {{& name}}!", values) == "Hi Tom & Jerry <b>\"hi\"</b> 'x'!")
        #expect(try render("{{#person}}{{name}}{{/person}}", ["person": ["name": "A&B"]]) == "A&B")
        #expect(try render("{{#list}}{{.}};{{/list}}", ["list": ["<", ">", "&"]]) == "<;>;&;")
    }

    @Test("numbers print naturally, booleans as true/false")
    func scalars() throws {
        #expect(try render("{{n}}", ["n": 3]) == "3")
        #expect(try render("{{n}}", ["n": 3.0]) == "3")
        #expect(try render("{{n}}", ["n": -0.0]) == "0")
        #expect(try render("{{n}}", ["n": 12.5]) == "12.5")
        #expect(try render("{{n}}", ["n": 0.1]) == "0.1")
        #expect(try render("{{n}}", ["n": 9_007_199_254_740_991]) == "9007199254740991")
        #expect(try render("{{n}}", ["n": 1e300]) == "1e+300")
        #expect(try render("{{b}} {{c}}", ["b": true, "c": false]) == "true false")
        #expect(try render("{{s}}|", ["s": ""]) == "|")
    }

    @Test("dotted names resolve into nested objects")
    func dotted() throws {
        let values: [String: JSONValue] = ["order": ["id": "A-17", "total": ["amount": 12.5, "currency": "EUR"]]]
        #expect(try render("Order {{order.id}}: {{order.total.amount}} {{order.total.currency}}", values) == "Order A-17: 12.5 EUR")
        #expect(try render("{{#order}}{{id}} {{total.currency}}{{/order}}", values) == "A-17 EUR")
    }

    @Test("sections: true shows, false/missing/null/empty list hide; objects and lists push context")
    func sections() throws {
        let template = try MessageTemplate("Hi{{#vip}} VIP{{/vip}}!")
        #expect(try template.render(["vip": true]) == "Hi VIP!")
        #expect(try template.render(["vip": false]) == "Hi!")
        #expect(try template.render([:]) == "Hi!")
        #expect(try template.render(["vip": nil]) == "Hi!")
        #expect(try template.render(["vip": []]) == "Hi!")
        #expect(try template.render(["vip": "yes"]) == "Hi VIP!", "a string is truthy")
        #expect(try template.render(["vip": 0]) == "Hi VIP!", "so is zero, as in the Mustache spec")
        #expect(try render("{{#items}}{{name}}x{{qty}}, {{/items}}", ["items": [["name": "tea", "qty": 2], ["name": "cake", "qty": 1]]])
            == "teax2, cakex1, ")
        #expect(try render("{{#items}}{{.}} {{/items}}", ["items": [1, 2.5, "three", true]]) == "1 2.5 three true ")
    }

    @Test("inverted sections show for false, missing, null and empty lists")
    func inverted() throws {
        let template = try MessageTemplate("{{^points}}No points yet{{/points}}{{#points}}{{points}} points{{/points}}")
        #expect(try template.render([:]) == "No points yet")
        #expect(try template.render(["points": nil]) == "No points yet")
        #expect(try template.render(["points": false]) == "No points yet")
        #expect(try template.render(["points": 12]) == "12 points")
        #expect(try render("{{^list}}empty{{/list}}", ["list": []]) == "empty")
        #expect(try render("{{^list}}empty{{/list}}", ["list": [1]]) == "")
    }

    @Test("a name not found in the section's object is looked up outside it")
    func contextStack() throws {
        let values: [String: JSONValue] = ["brand": "ACME", "order": ["id": "A-17", "brand": nil]]
        #expect(try render("{{#order}}{{brand}} {{id}}{{/order}}", values) == "ACME A-17")
        // `.name` looks only in the current context.
        #expect(renderError("{{#order}}{{.brand}}{{/order}}", ["brand": "ACME", "order": ["id": "A-17"]]) == .missingVariable("brand"))
        // A dotted name climbs for its first part only.
        #expect(renderError("{{#order}}{{customer.name}}{{/order}}", ["customer": ["name": "Mia"], "order": ["customer": ["id": 1]]])
            == .missingVariable("customer.name"))
    }

    @Test("standalone section lines leave no blank lines; comments print nothing")
    func whitespace() throws {
        let source = """
            Hi {{name}},
            {{#vip}}
            You are a VIP.
            {{/vip}}
            {{! a note for the marketer }}
            Bye
            """
        #expect(try render(source, ["name": "Mia", "vip": true]) == "Hi Mia,\nYou are a VIP.\nBye")
        #expect(try render(source, ["name": "Mia"]) == "Hi Mia,\nBye")
        #expect(try render("{{#vip}}\nVIP\n{{/vip}}", ["vip": true]) == "VIP\n", "a first-line section is standalone too")
    }

    @Test("set-delimiter tags switch delimiters")
    func delimiters() throws {
        let template = try MessageTemplate("{{=<% %>=}}Hi <%name%>, {{literal}} <%={{ }}=%>{{name}}")
        #expect(template.variables == ["name"])
        #expect(try template.render(["name": "Mia"]) == "Hi Mia, {{literal}} Mia")
    }

    @Test("unicode passes through untouched, in text and values")
    func unicode() throws {
        #expect(try render("Привет, {{name}}! 🎉 {{emoji}}", ["name": "Jürgen 王", "emoji": "👩‍👩‍👧"]) == "Привет, Jürgen 王! 🎉 👩‍👩‍👧")
        #expect(try render("e\u{301} {{x}}", ["x": "\u{301}"]) == "e\u{301} \u{301}")
    }

    // MARK: Variables

    @Test("variables: every name in order of first use, sections included, dotted names whole")
    func variables() throws {
        let template = try MessageTemplate(
            "Hi {{first_name}} {{{last_name}}}, {{#order}}{{order.id}} {{.}} {{.total}}{{/order}}{{^vip}}{{first_name}}{{/vip}}{{& x-y }}")
        #expect(template.variables == ["first_name", "last_name", "order", "order.id", "total", "vip", "x-y"])
        #expect(try MessageTemplate.variables(in: template.source) == template.variables, "the cheap form agrees")
        #expect(try MessageTemplate("no tags at all").variables == [])
        #expect(try MessageTemplate("").variables == [])
        #expect(try MessageTemplate("{{! only a comment }}").variables == [])
    }

    // MARK: Missing values

    @Test("a missing or null variable is an error naming it, never an empty hole")
    func missing() throws {
        #expect(renderError("Hi {{name}}") == .missingVariable("name"))
        #expect(renderError("Hi {{name}}", ["name": nil]) == .missingVariable("name"))
        #expect(renderError("Hi {{{name}}}") == .missingVariable("name"))
        #expect(renderError("Order {{order.id}}", ["order": ["total": 1]]) == .missingVariable("order.id"))
        #expect(renderError("Order {{order.id}}", ["order": "A-17"]) == .missingVariable("order.id"))
        #expect(renderError("Order {{order.id}}") == .missingVariable("order.id"))
        #expect(renderError("{{#vip}}Hi {{name}}{{/vip}}", ["vip": true]) == .missingVariable("name"))
        #expect(renderError("{{#items}}{{name}}{{/items}}", ["items": [["name": "a"], ["qty": 1]]]) == .missingVariable("name"))
        #expect(renderError("{{#items}}{{.}}{{/items}}", ["items": ["a", nil]]) == .missingVariable("items"))
        #expect(renderError("{{^vip}}Hi {{name}}{{/vip}}") == .missingVariable("name"), "a shown inverted section is checked")
    }

    @Test("what a hidden section holds is not required")
    func hiddenSections() throws {
        #expect(try render("{{#vip}}Hi {{name}}{{/vip}}ok") == "ok")
        #expect(try render("{{#vip}}Hi {{name}}{{/vip}}ok", ["vip": false]) == "ok")
        #expect(try render("{{#items}}{{name}}{{/items}}ok", ["items": []]) == "ok")
        #expect(try render("{{^vip}}Hi {{name}}{{/vip}}ok", ["vip": true]) == "ok")
    }

    @Test("objects and lists cannot be printed")
    func notText() throws {
        #expect(renderError("{{order}}", ["order": ["id": 1]]) == .notText("order"))
        #expect(renderError("{{list}}", ["list": [1, 2]]) == .notText("list"))
        #expect(renderError("{{#list}}{{.}}{{/list}}", ["list": [[1]]]) == .notText("list"))
    }

    @Test("rendered text is bounded, and lists nested in lists cannot blow up")
    func bounded() throws {
        #expect(renderError("{{x}}", ["x": .string(String(repeating: "a", count: 1601))]) == .tooLong(limit: 1600))
        #expect(try MessageTemplate("{{x}}").render(["x": .string(String(repeating: "a", count: 1600))]).count == 1600)
        #expect(try MessageTemplate("{{x}}{{x}}").render(["x": "abc"], maximumLength: 6) == "abcabc")
        let multiplied = renderError("{{#x}}{{#x}}{{#x}}{{#x}}{{#x}}{{#x}}{{/x}}{{/x}}{{/x}}{{/x}}{{/x}}{{/x}}",
                                     ["x": .array(Array(repeating: .bool(true), count: 100))])
        #expect(multiplied == .tooComplex(.steps(20_000)) || multiplied == .tooComplex(.time(.milliseconds(100))),
                "out of steps (or, on a very slow machine, out of time) rather than walking 100^6 passes")
        let clock = ContinuousClock()
        let elapsed = clock.measure {
            _ = renderError("{{#x}}{{#x}}{{#x}}{{#x}}{{#x}}{{#x}}{{#x}}{{#x}}a{{/x}}{{/x}}{{/x}}{{/x}}{{/x}}{{/x}}{{/x}}{{/x}}",
                            ["x": .array(Array(repeating: .bool(true), count: 1000))])
        }
        #expect(elapsed < .seconds(5))
    }

    // MARK: Syntax errors

    @Test("syntax errors carry the position of the tag at fault", arguments: [
        ("Hi {{name", 1, 4, "never closed"),
        ("Hi {{name}, bye", 1, 4, "never closed"),
        ("Hi {{name and {{other}}", 1, 4, "never closed"),
        ("ok\nHi {{#vip}}VIP", 2, 4, "'vip' is never closed"),
        ("{{#a}}{{#b}}x{{/a}}{{/b}}", 1, 14, "does not match the open section 'b' (opened at line 1, column 7)"),
        ("line one\n  {{/vip}}", 2, 3, "closes a section that is not open"),
        ("{{}}", 1, 1, "has no name"),
        ("{{#}}x{{/}}", 1, 1, "has no name"),
        ("Hi {{first name}}", 1, 4, "not a valid name"),
        ("Hi {{prénom}}", 1, 4, "not a valid name"),
        ("Hi {{a..b}}", 1, 4, "not a valid name"),
        ("Hi {{a.}}", 1, 4, "not a valid name"),
        ("{{> footer}}", 1, 1, "partials"),
        ("{{<parent}}{{/parent}}", 1, 1, "inheritance"),
        ("{{$block}}x{{/block}}", 1, 1, "inheritance"),
        ("{{%CONTENT_TYPE:HTML}}", 1, 1, "pragmas"),
        ("{{uppercased(name)}}", 1, 1, "transforms"),
        ("ab\n\ncd {{{name}}", 3, 4, "must end with"),
        ("{{=<% %>}}", 1, 1, "set-delimiter"),
        ("{{=<%%>=}}", 1, 1, "set-delimiter"),
        ("{{= a = b =}}", 1, 1, "set-delimiter"),
        ("{{=<% %>=}}<%name", 1, 12, "never closed (expected '%>')"),
        ("Hi {{! unfinished comment", 1, 4, "comment is never closed"),
        ("日本語 {{x", 1, 5, "never closed"),
        ("👩‍👩‍👧 {{#x}}", 1, 3, "never closed"),
    ])
    func syntax(source: String, line: Int, column: Int, fragment: String) {
        let error = syntaxError(source)
        #expect(error != nil, "\(source) should be refused")
        guard let error else { return }
        #expect(error.line == line, "\(source): \(error.message)")
        #expect(error.column == column, "\(source): \(error.message)")
        #expect(error.message.contains(fragment), "\(source): \(error.message)")
        // The offset points at the same place, counted from the start.
        let lines = source.split(separator: "\n", omittingEmptySubsequences: false)
        let expectedOffset = lines.prefix(line - 1).reduce(0) { $0 + $1.count + 1 } + column - 1
        #expect(error.offset == expectedOffset, "\(source)")
    }

    @Test("the error's description says where")
    func description() {
        let error = TemplateError.syntax(message: "the section 'vip' is never closed", line: 2, column: 4, offset: 7)
        #expect(error.description == "line 2, column 4: the section 'vip' is never closed")
        #expect(TemplateError.missingVariable("order.id").description.contains("'order.id'"))
    }

    @Test("sections nest at most 32 deep")
    func nesting() throws {
        let ok = String(repeating: "{{#a}}", count: 32) + String(repeating: "{{/a}}", count: 32)
        #expect(throws: Never.self) { try MessageTemplate(ok) }
        let deep = String(repeating: "{{#a}}", count: 33) + String(repeating: "{{/a}}", count: 33)
        #expect(syntaxError(deep)?.message.contains("nest") == true)
    }

    @Test("plain text, lone braces and odd characters are fine")
    func oddButValid() throws {
        #expect(try render("Price: {5} } { }} {x}") == "Price: {5} } { }} {x}")
        #expect(try render("\u{0}\u{1B}\r\n\tx") == "\u{0}\u{1B}\r\n\tx")
        // swift-mustache drops spaces and tabs that end the text on a line of their own.
        #expect(try render("Hi\n \t") == "Hi\n")
        #expect(try render("{{ name }}", ["name": "spaced"]) == "spaced")
        #expect(try render("{{_x}} {{x-1}} {{A9}}", ["_x": 1, "x-1": 2, "A9": 3]) == "1 2 3")
    }

    // MARK: Values

    @Test("JSONValue decodes any JSON and encodes it back")
    func codable() throws {
        let json = #"{"s":"x","n":3,"f":1.5,"b":true,"o":{"a":[1,null,"z"]},"z":null}"#
        let value = try JSONDecoder().decode([String: JSONValue].self, from: Data(json.utf8))
        #expect(value == ["s": "x", "n": 3, "f": 1.5, "b": true, "o": ["a": [1, nil, "z"]], "z": nil])
        let again = try JSONDecoder().decode([String: JSONValue].self, from: try JSONEncoder().encode(value))
        #expect(again == value)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode([String: JSONValue].self, from: Data(#"{"a":[1e999]}"#.utf8)) }
    }

    // MARK: Locales

    @Test("locale chains truncate from the right", arguments: [
        ("de-AT", ["de-AT", "de"]),
        ("zh-Hant-TW", ["zh-Hant-TW", "zh-Hant", "zh"]),
        ("de", ["de"]),
        ("DE_at", ["de-AT", "de"]),
        ("sr-latn-rs", ["sr-Latn-RS", "sr-Latn", "sr"]),
        ("es-419", ["es-419", "es"]),
        ("de-x-formal", ["de-x-formal", "de"]),
        ("en-US-u-ca-gregory", ["en-US-u-ca-gregory", "en-US-u-ca", "en-US", "en"]),
    ])
    func chains(locale: String, chain: [String]) {
        #expect(LocaleFallback.chain(locale) == chain)
    }

    @Test("invalid locale tags have no chain", arguments: [
        "", "d", "deutsch", "de-", "-de", "de--AT", "de AT", "de-ÄT", "12", "de-toolongsubtag", "de.AT",
        String(repeating: "a", count: 2) + String(repeating: "-abcdefgh", count: 4),
    ])
    func invalidLocales(locale: String) {
        #expect(LocaleFallback.canonical(locale) == nil, "\(locale)")
        #expect(LocaleFallback.chain(locale) == [])
    }

    @Test("resolution matches any case, falls back along the chain, then to the default")
    func resolve() {
        let available = ["de", "DE-ch", "zh-Hant", "fr-FR"]
        #expect(LocaleFallback.resolve("de-AT", among: available) == "de")
        #expect(LocaleFallback.resolve("de-CH", among: available) == "DE-ch")
        #expect(LocaleFallback.resolve("zh-hant-tw", among: available) == "zh-Hant")
        #expect(LocaleFallback.resolve("zh-Hans-CN", among: available) == nil)
        #expect(LocaleFallback.resolve("fr", among: available) == nil, "a more specific translation does not serve the language")
        #expect(LocaleFallback.resolve(nil, among: available) == nil)
        #expect(LocaleFallback.resolve("not a locale", among: available) == nil)
        #expect(LocaleFallback.resolve("en", among: [String]()) == nil)
    }
}
