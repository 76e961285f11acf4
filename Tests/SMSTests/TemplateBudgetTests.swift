import Foundation
import SMS
import Testing

@Suite("Template limits: lists are capped, rendering work and time are bounded")
struct TemplateBudgetTests {
    /// A list of `count` ones.
    static func list(_ count: Int) -> JSONValue { .array(Array(repeating: 1, count: count)) }

    /// `value` wrapped in `depth` one-item lists.
    static func nested(_ value: JSONValue, depth: Int) -> JSONValue {
        (0..<depth).reduce(value) { inner, _ in .array([inner]) }
    }

    func renderError(
        _ source: String, _ variables: [String: JSONValue], budget: RenderBudget = .standard
    ) throws -> TemplateError? {
        let template = try MessageTemplate(source)
        do {
            _ = try template.render(variables, budget: budget)
            return nil
        } catch {
            return error
        }
    }

    // MARK: The finding

    @Test("nested sections over a 115,000-item list are refused at once, naming the list")
    func hugeList() throws {
        let clock = ContinuousClock()
        var error: TemplateError?
        let elapsed = try clock.measure {
            error = try renderError("{{#a}}{{#a}}{{/a}}{{/a}}", ["a": Self.list(115_000)])
        }
        #expect(error == .listTooLong(path: "a", limit: 1_000))
        #expect(elapsed < .seconds(1))
    }

    @Test("nested sections over lists within the cap run out of steps, quickly")
    func multipliedLists() throws {
        let clock = ContinuousClock()
        var error: TemplateError?
        let elapsed = try clock.measure {
            error = try renderError("{{#a}}{{#a}}{{/a}}{{/a}}", ["a": Self.list(1_000)])
        }
        #expect(error == .tooComplex(.steps(20_000)) || error == .tooComplex(.time(.milliseconds(100))))
        #expect(elapsed < .seconds(1))
        // With time to spare, it is the steps that run out: 1,000 × 1,000 passes print nothing
        // but are work all the same.
        let steps = try renderError("{{#a}}{{#a}}{{/a}}{{/a}}", ["a": Self.list(1_000)], budget: .init(steps: 20_000, time: .seconds(60)))
        #expect(steps == .tooComplex(.steps(20_000)))
    }

    // MARK: List, value and depth caps

    @Test("a list may hold 1,000 items; 1,001 are refused before rendering")
    func listCap() throws {
        #expect(MessageTemplate.maximumListItems == 1_000)
        let template = try MessageTemplate("{{#a}}.{{/a}}")
        #expect(try template.render(["a": Self.list(1_000)]) == String(repeating: ".", count: 1_000))
        #expect(try renderError("{{#a}}.{{/a}}", ["a": Self.list(1_001)]) == .listTooLong(path: "a", limit: 1_000))
    }

    @Test("the cap holds at any depth and for lists the template never uses; the path names the list")
    func listCapPaths() throws {
        #expect(try renderError("Hi", ["order": ["items": Self.list(1_001)]]) == .listTooLong(path: "order.items", limit: 1_000))
        #expect(try renderError("Hi", ["rows": [Self.list(2), Self.list(1_001)]]) == .listTooLong(path: "rows[1]", limit: 1_000))
        #expect(try renderError("Hi", ["b": Self.list(1_001), "a": Self.list(1_001)]) == .listTooLong(path: "a", limit: 1_000),
                "members are checked in key order, so the answer does not depend on hashing")
        #expect(TemplateError.listTooLong(path: "order.items", limit: 1_000).description == "the list 'order.items' holds more than 1000 items")
    }

    @Test("the variables hold at most 10,000 values in all, however they are split")
    func valueCap() throws {
        #expect(MessageTemplate.maximumValues == 10_000)
        var members: [String: JSONValue] = [:]
        for index in 0..<10_000 { members["m\(index)"] = 1 }
        #expect(try MessageTemplate("Hi {{m9999}}").render(members) == "Hi 1")
        members["one-more"] = 1
        #expect(try renderError("Hi", members) == .tooManyValues(limit: 10_000))
        // Ten lists under the cap: 10 members + 10,000 items.
        let lists = Dictionary(uniqueKeysWithValues: (0..<10).map { ("l\($0)", Self.list(1_000)) })
        #expect(try renderError("Hi", lists) == .tooManyValues(limit: 10_000))
        #expect(throws: Never.self) { try MessageTemplate.checkVariables(["o": .object(Dictionary(uniqueKeysWithValues: (0..<9_999).map { ("k\($0)", 1) }))]) }
    }

    @Test("values nest at most 32 deep")
    func depthCap() throws {
        #expect(MessageTemplate.maximumValueDepth == 32)
        // `a` is at depth 1, so 31 lists around a scalar put the scalar at depth 32.
        #expect(throws: Never.self) { try MessageTemplate.checkVariables(["a": Self.nested(1, depth: 31)]) }
        #expect(try renderError("Hi", ["a": Self.nested(1, depth: 32)])
                == .nestedTooDeep(path: "a" + String(repeating: "[0]", count: 32), limit: 32))
    }

    // MARK: Step accounting

    @Test("every node costs a step, and a section over n items n more")
    func stepAccounting() throws {
        // text, variable, text
        #expect(try MessageTemplate("Hi {{name}}!").render(["name": "Mia"], budget: .init(steps: 3, time: .seconds(10))) == "Hi Mia!")
        #expect(try renderError("Hi {{name}}!", ["name": "Mia"], budget: .init(steps: 2, time: .seconds(10))) == .tooComplex(.steps(2)))
        // 1 for the section + 10 for its items; the items have no nodes to visit.
        let ten: [String: JSONValue] = ["a": Self.list(10)]
        #expect(try MessageTemplate("{{#a}}{{/a}}").render(ten, budget: .init(steps: 11, time: .seconds(10))) == "")
        #expect(try renderError("{{#a}}{{/a}}", ten, budget: .init(steps: 10, time: .seconds(10))) == .tooComplex(.steps(10)))
    }

    @Test("nested sections multiply: each pass of the outer list pays for the inner one")
    func nestedAccounting() throws {
        // 1 (a) + 3 (a's items) + 3 × (1 (b) + 4 (b's items)) = 19
        let values: [String: JSONValue] = ["a": Self.list(3), "b": Self.list(4)]
        let source = "{{#a}}{{#b}}{{/b}}{{/a}}"
        #expect(try MessageTemplate(source).render(values, budget: .init(steps: 19, time: .seconds(10))) == "")
        #expect(try renderError(source, values, budget: .init(steps: 18, time: .seconds(10))) == .tooComplex(.steps(18)))
        // Inverted sections and sections over objects or true cost their node only.
        let flat: [String: JSONValue] = ["a": [], "o": ["x": 1], "t": true]
        #expect(try MessageTemplate("{{^a}}{{/a}}{{#o}}{{/o}}{{#t}}{{/t}}").render(flat, budget: .init(steps: 3, time: .seconds(10))) == "")
    }

    // MARK: Time

    @Test("the deadline is checked during the walk")
    func deadline() throws {
        #expect(try renderError("Hi", [:], budget: .init(steps: .max, time: .zero)) == .tooComplex(.time(.zero)))
        // A billion passes with no step limit: only the clock stops them.
        let clock = ContinuousClock()
        var error: TemplateError?
        let elapsed = try clock.measure {
            error = try renderError("{{#a}}{{#a}}{{#a}}{{/a}}{{/a}}{{/a}}", ["a": Self.list(1_000)],
                                    budget: .init(steps: .max, time: .milliseconds(50)))
        }
        #expect(error == .tooComplex(.time(.milliseconds(50))))
        #expect(elapsed < .seconds(1))
        #expect(RenderBudget.standard == RenderBudget(steps: 20_000, time: .milliseconds(100)))
    }

    // MARK: Real templates

    @Test("a real template with a modest list renders as before, well within the budget")
    func legitimate() throws {
        let items: [JSONValue] = (1...20).map { ["qty": .number(Double($0)), "title": .string("item \($0)")] }
        let values: [String: JSONValue] = ["name": "Mia", "order": ["id": "A-17", "items": .array(items), "total": 12.5], "vip": true]
        let source = "Hi {{name}}, order {{order.id}}:{{#order.items}} {{qty}}x {{title}};{{/order.items}} total {{order.total}} EUR.{{#vip}} VIP{{/vip}}{{^vip}} Join us{{/vip}}"
        let expected = "Hi Mia, order A-17:" + (1...20).map { " \($0)x item \($0);" }.joined() + " total 12.5 EUR. VIP"
        let template = try MessageTemplate(source)
        #expect(try template.render(values) == expected)
        #expect(try template.render(values, budget: .init(steps: 1_000, time: .seconds(10))) == expected,
                "a real message uses a sliver of the standard 20,000 steps")
    }
}
