/// What one render may spend, so that no template and no variables can hold a thread for long.
///
/// Mustache sections repeat over lists, and sections nested over lists multiply:
/// `{{#a}}{{#a}}{{/a}}{{/a}}` over n items does n² passes while printing nothing, so neither the
/// length of the template nor the length of the output bounds the work. Steps do: every node
/// visited costs one, and entering a section over a list of n items costs n more before any
/// item is visited, so a budget of s steps bounds the passes of the walk (and of swift-mustache,
/// which walks the same tree) to s, however the sections nest. The time limit is defense in
/// depth on top: a wall-clock deadline (`ContinuousClock`) checked during the walk, should some
/// step turn out dearer than counted. It is the one thing here that is not a pure function of
/// the input, so tests that need a deterministic answer pass a budget with a generous time.
public struct RenderBudget: Sendable, Equatable {
    /// Which limit ran out, with the limit.
    public enum Exhausted: Sendable, Equatable {
        case steps(Int)
        case time(Duration)
    }

    /// The most steps a render may take.
    public var steps: Int
    /// The longest the walk may run, by `ContinuousClock` (read when it starts and every 64 steps);
    /// a modest, positive duration. Checking the variables before and swift-mustache's rendering
    /// after are bounded by the variables' limits and the steps instead.
    public var time: Duration

    public init(steps: Int, time: Duration) {
        self.steps = steps
        self.time = time
    }

    /// 20,000 steps: a message prints at most 1,600 characters, so a real template visits a few
    /// hundred nodes, and even one printing every item of a 1,000-item list with a few tags each
    /// stays under 10,000; swift-mustache's rendering costs microseconds a step, so 20,000 keep
    /// it to tens of milliseconds. 100 ms: well above what those steps cost, well below what a
    /// client would notice or a thread of the cooperative pool should be held for.
    public static let standard = RenderBudget(steps: 20_000, time: .milliseconds(100))
}

extension MessageTemplate {
    /// A list in the variables may hold this many items: a message has room for at most 1,600
    /// characters, so a longer list could never be printed whole; it could only multiply work.
    public static let maximumListItems = 1_000
    /// The variables may hold this many values in all, at any depth (every object member and list
    /// item counts one), so an object with a huge number of members is refused like a huge list.
    public static let maximumValues = 10_000
    /// Values may sit this many objects or lists deep (a root member is at depth 1): as deep as
    /// sections nest, and deep enough for any dotted name a message would use.
    public static let maximumValueDepth = 32

    /// Refuses variables that exceed ``maximumListItems``, ``maximumValues`` or
    /// ``maximumValueDepth``, whether or not the template uses them: they are caller input, and
    /// refusing them whole, before any rendering, keeps the cost of a request bounded by its size.
    ///
    /// The same variables always give the same error: when something is over a limit, the
    /// variables are visited again with object members in key order, and the first value found
    /// over a limit is the one reported. (Variables within the limits, the common case, are
    /// visited once, in whatever order their dictionaries hold.) A container's members are
    /// counted before they are visited or sorted, so an oversized object is refused without
    /// sorting it.
    public static func checkVariables(_ variables: [String: JSONValue]) throws(TemplateError) {
        var check = VariableCheck(inKeyOrder: false)
        do {
            try check.visitMembers(of: variables, depth: 0)
        } catch {
            var ordered = VariableCheck(inKeyOrder: true)
            try ordered.visitMembers(of: variables, depth: 0)
            throw error
        }
    }

    struct VariableCheck {
        enum Component {
            case member(String)
            case item(Int)
        }

        /// Whether object members are visited in key order (for a reproducible error) or as stored (faster).
        let inKeyOrder: Bool
        var values = 0
        /// Where the visit is, rendered into a path only for an error.
        var path: [Component] = []

        var pathText: String {
            path.reduce(into: "") { text, component in
                switch component {
                case .member(let key): text += (text.isEmpty ? "" : ".") + key
                case .item(let index): text += "[\(index)]"
                }
            }
        }

        mutating func count(_ children: Int) throws(TemplateError) {
            values += children
            guard values <= MessageTemplate.maximumValues else { throw .tooManyValues(limit: MessageTemplate.maximumValues) }
        }

        mutating func visitMembers(of members: [String: JSONValue], depth: Int) throws(TemplateError) {
            try count(members.count)
            if inKeyOrder {
                for key in members.keys.sorted() { try visit(members[key]!, at: .member(key), depth: depth + 1) }
            } else {
                for (key, member) in members { try visit(member, at: .member(key), depth: depth + 1) }
            }
        }

        mutating func visit(_ value: JSONValue, at component: Component, depth: Int) throws(TemplateError) {
            path.append(component)
            defer { path.removeLast() }
            try visit(value, depth: depth)
        }

        mutating func visit(_ value: JSONValue, depth: Int) throws(TemplateError) {
            guard depth <= MessageTemplate.maximumValueDepth else {
                throw .nestedTooDeep(path: pathText, limit: MessageTemplate.maximumValueDepth)
            }
            switch value {
            case .array(let items):
                guard items.count <= MessageTemplate.maximumListItems else {
                    throw .listTooLong(path: pathText, limit: MessageTemplate.maximumListItems)
                }
                try count(items.count)
                for (index, item) in items.enumerated() { try visit(item, at: .item(index), depth: depth + 1) }
            case .object(let members):
                try visitMembers(of: members, depth: depth)
            case .string, .number, .bool, .null:
                break
            }
        }
    }
}
