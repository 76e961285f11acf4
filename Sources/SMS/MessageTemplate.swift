import Mustache

/// Why a template was refused or could not be rendered.
public enum TemplateError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The source does not parse. `line` and `column` are 1-based and `offset` 0-based, all
    /// counted in characters as a person counts them; they point at the tag at fault (for a
    /// section that is never closed: the tag that opened it).
    case syntax(message: String, line: Int, column: Int, offset: Int)
    /// A variable the template would print has no value (absent or null). Dotted names are kept
    /// whole (`order.id`).
    case missingVariable(String)
    /// A variable the template would print is an object or an array.
    case notText(String)
    /// The rendered text would be longer than `limit` Unicode code points.
    case tooLong(limit: Int)
    /// A list in the variables holds more than `limit` items. `path` names it from the root
    /// object, members joined by `.` and items as `[index]` (`order.items`, `rows[2]`).
    case listTooLong(path: String, limit: Int)
    /// A value in the variables sits more than `limit` objects or lists deep; `path` names it.
    case nestedTooDeep(path: String, limit: Int)
    /// The variables hold more than `limit` values in all (every member and item counts, at any depth).
    case tooManyValues(limit: Int)
    /// Rendering ran out of its ``RenderBudget``: the template and variables ask for more work
    /// than any message needs.
    case tooComplex(RenderBudget.Exhausted)

    public var description: String {
        switch self {
        case .syntax(let message, let line, let column, _):
            return "line \(line), column \(column): \(message)"
        case .missingVariable(let name):
            return "the template uses '\(name)' but no value was given for it"
        case .notText(let name):
            return "'\(name)' is an object or a list; the template can only print text, numbers and true/false"
        case .tooLong(let limit):
            return "the rendered text would be longer than \(limit) characters (Unicode code points)"
        case .listTooLong(let path, let limit):
            return "the list '\(path)' holds more than \(limit) items"
        case .nestedTooDeep(let path, let limit):
            return "'\(path)' is nested more than \(limit) objects or lists deep"
        case .tooManyValues(let limit):
            return "the variables hold more than \(limit) values"
        case .tooComplex(.steps(let limit)):
            return "rendering would take more than \(limit) steps: sections repeat over too many list items"
        case .tooComplex(.time(let limit)):
            return "rendering took longer than \(limit)"
        }
    }
}

/// A Mustache template for plain-text messages, checked when it is made.
///
/// - No HTML escaping: `{{name}}` with `Tom & Jerry` prints `Tom & Jerry`.
/// - Supported: variables (`{{name}}`, `{{{name}}}`, `{{&name}}`), dotted names (`{{order.id}}`),
///   sections over true/objects/lists (`{{#vip}}…{{/vip}}`), inverted sections (`{{^vip}}…{{/vip}}`),
///   `{{.}}`, comments and set-delimiter tags. Refused: partials, template inheritance, pragmas
///   and transforms — a message has nowhere to load them from, and logic-less means logic-less.
/// - Names are ASCII letters, digits, `_` and `-`, joined by `.`.
/// - Strict: a variable the template prints must have a value (``TemplateError/missingVariable(_:)``).
///   What a falsy section (missing, null, false, empty list) or a skipped inverted section
///   contains is not printed and therefore not required.
///
/// Parsing is checked here first, with precise positions; swift-mustache then parses the same
/// source (under the `TEXT` content type) and does the rendering.
public struct MessageTemplate: Sendable {
    public let source: String
    /// Every name the template refers to, in order of first use: variables and section names,
    /// dotted names whole, a leading `.` removed, `{{.}}` left out.
    public let variables: [String]

    /// Sections may nest this deep.
    public static let maximumNesting = 32
    /// The default cap on the rendered length, in Unicode code points (the common provider
    /// maximum for a body; code points, as JSON Schema's `maxLength` counts).
    public static let defaultMaximumLength = 1600

    let nodes: [Node]
    let mustache: MustacheTemplate

    /// The content type pragma on a line of its own: standalone, so it prints nothing and
    /// leaves the first line of the source at the start of a line, as it was.
    static let textPragma = "{{%CONTENT_TYPE:TEXT}}\n"

    public init(_ source: String) throws(TemplateError) {
        let scanned = try Scanner.scan(source)
        let mustache: MustacheTemplate
        do {
            mustache = try MustacheTemplate(string: Self.textPragma + source)
        } catch let error as MustacheTemplate.ParserError {
            // A form the scanner let through and swift-mustache did not: report its position.
            let line = max(1, error.context.lineNumber - 1), column = error.context.columnNumber
            throw .syntax(
                message: Self.describe(error.error), line: line, column: column,
                offset: Self.offset(in: source, line: line, column: column))
        } catch {
            throw .syntax(message: "the template does not parse", line: 1, column: 1, offset: 0)
        }
        self.source = source
        self.nodes = scanned.nodes
        self.variables = scanned.variables
        self.mustache = mustache
    }

    /// The ``variables`` of `source` without building a template for rendering (cheaper, for lists).
    public static func variables(in source: String) throws(TemplateError) -> [String] {
        try Scanner.scan(source).variables
    }

    /// Renders with `variables` as the root object.
    ///
    /// The variables are first held to ``checkVariables(_:)``. The template is then walked exactly
    /// as swift-mustache will walk it, to find every value it would print, so nothing missing ever
    /// becomes an empty hole; that walk also stops templates whose lists would multiply into more
    /// than `maximumLength` characters, or into more work than `budget` allows
    /// (``TemplateError/tooComplex(_:)``). swift-mustache renders only after the walk passed, so
    /// its passes are bounded by the same steps, and its time by the same deadline (see ``List``).
    public func render(
        _ variables: [String: JSONValue], maximumLength: Int = MessageTemplate.defaultMaximumLength,
        budget: RenderBudget = .standard
    ) throws(TemplateError) -> String {
        try Self.checkVariables(variables)
        let root = JSONValue.object(variables)
        let deadline = Deadline(ContinuousClock.now.advanced(by: budget.time))
        var walk = Walk(limit: maximumLength, budget: budget, deadline: deadline)
        var stack = [root]
        try walk.check(nodes, stack: &stack, enclosing: nil)
        let text = mustache.render(Self.mustacheValue(root, deadline: deadline))
        // Lists stop early once the deadline has passed, so the text may be cut short: drop it.
        guard !deadline.expired else { throw .tooComplex(.time(budget.time)) }
        guard text.unicodeScalars.count <= maximumLength else { throw .tooLong(limit: maximumLength) }
        return text
    }

    /// The end of one render's time, read by the walk and by the lists swift-mustache iterates.
    /// Confined to the render that made it (a class only so both can see one `expired`).
    final class Deadline {
        let instant: ContinuousClock.Instant
        /// Set on the first reading at or after `instant`, and never cleared.
        private(set) var expired = false

        init(_ instant: ContinuousClock.Instant) { self.instant = instant }

        /// Reads the clock: whether there is time left.
        func hasTimeLeft() -> Bool {
            if !expired, ContinuousClock.now >= instant { expired = true }
            return !expired
        }
    }

    // MARK: Values for swift-mustache

    /// A scalar as swift-mustache sees it: printed by `renderText`, with no children. (A raw
    /// Swift value would be looked into with `Mirror`, where `{{_guts}}` could find String internals.)
    struct Scalar: MustacheCustomRenderable, MustacheParent {
        let renderText: String
        var isNull: Bool = false
        func child(named: String) -> Any? { nil }
    }

    /// A list as swift-mustache sees it: iterated like an array, but
    /// - with no members, as the walk assumes. A plain array has none either, but swift-mustache
    ///   would look for them with `Mirror`, visiting every item for each name looked up through
    ///   it: with lists of lists on the context stack, seconds of work within a small step budget.
    /// - reading the render's deadline before each item and ending early once it has passed, so
    ///   swift-mustache's rendering is bounded in time like the walk: between two readings it
    ///   renders one pass of a section, and every list inside that pass reads the deadline too.
    struct List: MustacheSequence, MustacheParent {
        let items: [Any]
        let deadline: Deadline

        func child(named: String) -> Any? { nil }

        func makeIterator() -> Iterator { Iterator(items: items.makeIterator(), deadline: deadline) }

        struct Iterator: IteratorProtocol {
            var items: IndexingIterator<[Any]>
            let deadline: Deadline

            mutating func next() -> Any? {
                guard deadline.hasTimeLeft() else { return nil }
                return items.next()
            }
        }
    }

    /// Objects become dictionaries (null members dropped, so a lookup goes on up the context
    /// stack as the walk assumes), lists ``List``s, booleans stay booleans for section truthiness.
    static func mustacheValue(_ value: JSONValue, deadline: Deadline) -> Any {
        switch value {
        case .object(let members):
            var dictionary: [String: Any] = [:]
            for (key, member) in members where member != .null {
                dictionary[key] = mustacheValue(member, deadline: deadline)
            }
            return dictionary
        case .array(let items):
            return List(items: items.map { mustacheValue($0, deadline: deadline) }, deadline: deadline)
        case .bool(let bool): return bool
        case .null: return Scalar(renderText: "", isNull: true)
        case .string, .number: return Scalar(renderText: value.text ?? "")
        }
    }

    // MARK: Errors from swift-mustache

    static func describe(_ error: any Error) -> String {
        switch error as? MustacheTemplate.Error {
        case .sectionCloseNameIncorrect: "the closing tag does not match the open section"
        case .unfinishedName: "the tag is not finished"
        case .expectedSectionEnd: "a section is never closed"
        case .invalidSetDelimiter: "the set-delimiter tag must look like {{=<% %>=}}"
        default: "unsupported Mustache syntax"
        }
    }

    static func offset(in source: String, line: Int, column: Int) -> Int {
        var currentLine = 1, offset = 0
        for character in source {
            if currentLine == line { break }
            if character.isNewline { currentLine += 1 }
            offset += 1
        }
        return offset + column - 1
    }
}

// MARK: - Parsing

extension MessageTemplate {
    struct Position: Sendable, Equatable {
        var line = 1, column = 1, offset = 0
    }

    struct Tag: Sendable {
        let name: String
        let position: Position
        /// `name` split at `.` once, when parsed, so the walk's lookups allocate nothing: empty for
        /// `{{.}}`, without the leading `.` of `.a.b`.
        let segments: [String]
        /// `.a.b`: looked up in the current context only.
        let isLocal: Bool
        /// How errors name it: without a leading `.`.
        let shown: String

        init(name: String, position: Position) {
            self.name = name
            self.position = position
            self.segments = name.split(separator: ".").map(String.init)
            self.isLocal = name.hasPrefix(".")
            self.shown = isLocal && name != "." ? String(name.dropFirst()) : name
        }
    }

    indirect enum Node: Sendable {
        /// Literal text: only its length (in code points) matters to the walk.
        case text(scalars: Int)
        case variable(Tag)
        case section(Tag, inverted: Bool, children: [Node])
    }

    /// The grammar of swift-mustache's parser, walked with positions.
    struct Scanner {
        let characters: [Character]
        var index = 0
        var position = Position()
        var open: [Character] = ["{", "{"]
        var close: [Character] = ["}", "}"]
        var variables: [String] = []
        var seen: Set<String> = []

        static func scan(_ source: String) throws(TemplateError) -> (nodes: [Node], variables: [String]) {
            var scanner = Scanner(characters: Array(source))
            let nodes = try scanner.scanAll()
            return (nodes, scanner.variables)
        }

        func error(_ message: String, at position: Position) -> TemplateError {
            .syntax(message: message, line: position.line, column: position.column, offset: position.offset)
        }

        func matches(_ delimiter: [Character], at index: Int) -> Bool {
            guard index + delimiter.count <= characters.count else { return false }
            return characters[index..<index + delimiter.count].elementsEqual(delimiter)
        }

        /// Index of the next `delimiter` at or after `from`.
        func find(_ delimiter: [Character], from: Int) -> Int? {
            var index = from
            while index + delimiter.count <= characters.count {
                if matches(delimiter, at: index) { return index }
                index += 1
            }
            return nil
        }

        mutating func advance(to target: Int) {
            while index < target {
                if characters[index].isNewline {
                    position.line += 1
                    position.column = 1
                } else {
                    position.column += 1
                }
                position.offset += 1
                index += 1
            }
        }

        mutating func note(_ name: String) {
            guard name != "." else { return }
            let listed = name.hasPrefix(".") ? String(name.dropFirst()) : name
            if seen.insert(listed).inserted { variables.append(listed) }
        }

        /// Names: `.`, or segments of ASCII letters, digits, `_` and `-` joined by `.`, optionally
        /// with a leading `.` (look only in the current context).
        func validateName(_ raw: String, tagText: String, at position: Position) throws(TemplateError) -> String {
            let name = raw.trimmedOfWhitespace()
            guard !name.isEmpty else { throw error("the tag '\(tagText)' has no name", at: position) }
            if name == "." { return name }
            if name.contains("(") || name.contains(")") {
                throw error("transforms such as '\(name)' are not supported", at: position)
            }
            let body = name.hasPrefix(".") ? name.dropFirst() : Substring(name)
            let segments = body.split(separator: ".", omittingEmptySubsequences: false)
            let valid = segments.allSatisfy { segment in
                !segment.isEmpty && segment.unicodeScalars.allSatisfy { scalar in
                    scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || scalar == "_" || scalar == "-")
                }
            }
            guard valid else {
                throw error(
                    "'\(name)' is not a valid name: use letters, digits, '_' and '-', joined by '.'", at: position)
            }
            return name
        }

        mutating func scanAll() throws(TemplateError) -> [Node] {
            // Open sections: the tag that opened each and the nodes collected inside it so far.
            var stack: [(tag: Tag?, inverted: Bool, nodes: [Node])] = [(nil, false, [])]
            var textRun = 0
            func flush() {
                if textRun > 0 { stack[stack.count - 1].nodes.append(.text(scalars: textRun)) }
                textRun = 0
            }

            while index < characters.count {
                guard matches(open, at: index) else {
                    textRun += characters[index].unicodeScalars.count
                    advance(to: index + 1)
                    continue
                }
                flush()
                let start = position
                let contentStart = index + open.count
                guard let end = find(close, from: contentStart) else {
                    let kind = contentStart < characters.count && characters[contentStart] == "!" ? "comment" : "tag"
                    throw error("this \(kind) is never closed (expected '\(String(close))')", at: start)
                }
                let content = String(characters[contentStart..<end])
                var after = end + close.count
                let tagText = String(open) + content + String(close)
                // A tag that swallowed another opening delimiter was really left unclosed.
                if !content.hasPrefix("!"), content.contains(String(open)) {
                    throw error("this tag is never closed (expected '\(String(close))')", at: start)
                }

                switch content.first {
                case "!":
                    break
                case "=":
                    guard content.count >= 2, content.hasSuffix("=") else {
                        throw error("the set-delimiter tag must look like {{=<% %>=}}", at: start)
                    }
                    let parts = content.dropFirst().dropLast().split(whereSeparator: \.isWhitespace)
                    guard parts.count == 2, !parts.contains(where: { $0.contains("=") }) else {
                        throw error("the set-delimiter tag must name two delimiters without spaces or '=', like {{=<% %>=}}", at: start)
                    }
                    open = Array(parts[0])
                    close = Array(parts[1])
                case "{":
                    // swift-mustache reads `{name` up to the closing delimiter, then one more `}`.
                    guard after < characters.count, characters[after] == "}" else {
                        throw error("a triple mustache must end with '}\(String(close))'", at: start)
                    }
                    after += 1
                    let name = try validateName(String(content.dropFirst()), tagText: tagText + "}", at: start)
                    note(name)
                    stack[stack.count - 1].nodes.append(.variable(Tag(name: name, position: start)))
                case "&":
                    let name = try validateName(String(content.dropFirst()), tagText: tagText, at: start)
                    note(name)
                    stack[stack.count - 1].nodes.append(.variable(Tag(name: name, position: start)))
                case "#", "^":
                    let name = try validateName(String(content.dropFirst()), tagText: tagText, at: start)
                    guard stack.count <= MessageTemplate.maximumNesting else {
                        throw error("sections nest more than \(MessageTemplate.maximumNesting) deep", at: start)
                    }
                    note(name)
                    stack.append((Tag(name: name, position: start), content.first == "^", []))
                case "/":
                    let name = try validateName(String(content.dropFirst()), tagText: tagText, at: start)
                    guard stack.count > 1, let opened = stack.last?.tag else {
                        throw error("'\(tagText)' closes a section that is not open", at: start)
                    }
                    guard opened.name == name else {
                        throw error(
                            "'\(tagText)' does not match the open section '\(opened.name)' "
                                + "(opened at line \(opened.position.line), column \(opened.position.column))",
                            at: start)
                    }
                    let section = stack.removeLast()
                    stack[stack.count - 1].nodes.append(.section(opened, inverted: section.inverted, children: section.nodes))
                case ">":
                    throw error("partials ('\(tagText)') are not supported", at: start)
                case "<", "$":
                    throw error("template inheritance ('\(tagText)') is not supported", at: start)
                case "%":
                    throw error("pragmas ('\(tagText)') are not supported", at: start)
                default:
                    let name = try validateName(content, tagText: tagText, at: start)
                    note(name)
                    stack[stack.count - 1].nodes.append(.variable(Tag(name: name, position: start)))
                }
                advance(to: after)
            }
            flush()
            if let unclosed = stack.last?.tag {
                throw error("the section '\(unclosed.name)' is never closed", at: unclosed.position)
            }
            return stack[0].nodes
        }
    }
}

// MARK: - The strict walk

extension MessageTemplate {
    /// Walks the nodes as swift-mustache renders them (same lookups, same truthiness), checking
    /// that every printed value exists and is a scalar, and bounding the output and the work.
    struct Walk {
        let limit: Int
        let budget: RenderBudget
        let deadline: Deadline
        /// Code points the output will have at most (standalone lines are not yet removed).
        var estimate = 0
        /// Work done, as ``RenderBudget`` counts it: one per node, n more per section over n items.
        var steps = 0
        /// The step count at which the clock is read next: reading it costs about as much as a
        /// step, so it is read once at the start and then every ``clockInterval`` steps.
        var nextClockReading = 0
        static let clockInterval = 64

        init(limit: Int, budget: RenderBudget, deadline: Deadline) {
            self.limit = limit
            self.budget = budget
            self.deadline = deadline
        }

        /// Charges `cost` steps, refusing once the steps or the time run out.
        mutating func spend(_ cost: Int) throws(TemplateError) {
            guard cost <= budget.steps - steps else { throw .tooComplex(.steps(budget.steps)) }
            steps += cost
            if steps >= nextClockReading {
                guard deadline.hasTimeLeft() else { throw .tooComplex(.time(budget.time)) }
                nextClockReading = steps + Self.clockInterval
            }
        }

        /// Checks `nodes` with `stack` as the context stack (innermost last). The stack is one array
        /// pushed and popped in place: a pass over a list item costs no copy of it.
        mutating func check(_ nodes: [Node], stack: inout [JSONValue], enclosing: String?) throws(TemplateError) {
            for node in nodes {
                try spend(1)
                guard estimate <= limit * 4 + 1_000 else { throw .tooLong(limit: limit) }
                switch node {
                case .text(let scalars):
                    estimate += scalars
                case .variable(let tag):
                    guard let value = Self.lookup(tag, in: stack), value != .null else {
                        throw .missingVariable(Self.display(tag, enclosing: enclosing))
                    }
                    guard let text = value.text else { throw .notText(Self.display(tag, enclosing: enclosing)) }
                    estimate += text.unicodeScalars.count
                case .section(let tag, let inverted, let children):
                    let value = Self.lookup(tag, in: stack)
                    let name = Self.display(tag, enclosing: enclosing)
                    if inverted {
                        switch value {
                        case nil, .null?, .bool(false)?: try check(children, stack: &stack, enclosing: enclosing)
                        case .array(let items)? where items.isEmpty:
                            try check(children, in: .array([]), stack: &stack, enclosing: name)
                        default: break
                        }
                    } else {
                        switch value {
                        case nil, .null?, .bool(false)?: break
                        case .bool(true)?: try check(children, stack: &stack, enclosing: enclosing)
                        case .array(let items)?:
                            // Paid up front: a list too long for the budget is refused before its first item.
                            try spend(items.count)
                            for item in items { try check(children, in: item, stack: &stack, enclosing: name) }
                        case let value?: try check(children, in: value, stack: &stack, enclosing: name)
                        }
                    }
                }
            }
        }

        /// Checks `nodes` with `context` pushed onto the stack.
        mutating func check(
            _ nodes: [Node], in context: JSONValue, stack: inout [JSONValue], enclosing: String
        ) throws(TemplateError) {
            stack.append(context)
            defer { stack.removeLast() }
            try check(nodes, stack: &stack, enclosing: enclosing)
        }

        /// `.` is reported as the section it iterates (or `.` at the top level).
        static func display(_ tag: Tag, enclosing: String?) -> String {
            tag.segments.isEmpty ? enclosing ?? "." : tag.shown
        }

        /// swift-mustache's lookup: `.` is the current context; `.a.b` looks only in it; `a.b`
        /// finds `a` in the innermost context that has it, then descends without climbing.
        static func lookup(_ tag: Tag, in stack: [JSONValue]) -> JSONValue? {
            guard let top = stack.last else { return nil }
            guard let first = tag.segments.first else { return top }
            if tag.isLocal { return descend(top, tag.segments[...]) }
            for frame in stack.reversed() {
                if let found = child(of: frame, first) { return descend(found, tag.segments.dropFirst()) }
            }
            return nil
        }

        static func descend(_ value: JSONValue, _ segments: ArraySlice<String>) -> JSONValue? {
            var current = value
            for segment in segments {
                guard let next = child(of: current, segment) else { return nil }
                current = next
            }
            return current
        }

        /// Only objects have members; a null member counts as absent.
        static func child(of value: JSONValue, _ key: String) -> JSONValue? {
            guard case .object(let members) = value, let member = members[key], member != .null else { return nil }
            return member
        }
    }
}

extension String {
    fileprivate func trimmedOfWhitespace() -> String {
        var slice = Substring(self)
        while let first = slice.first, first.isWhitespace { slice.removeFirst() }
        while let last = slice.last, last.isWhitespace { slice.removeLast() }
        return String(slice)
    }
}
