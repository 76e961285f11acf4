import Foundation
import Logging
import SMS

/// Segments: named rules over contacts, with live counts and samples.
public struct SegmentService: Sendable {
    let store: SegmentStore
    let clock: any HeraldClock
    let logger: Logger

    public init(store: SegmentStore, clock: any HeraldClock, logger: Logger) {
        self.store = store
        self.clock = clock
        self.logger = logger
    }

    public static let sampleSize = 10

    /// A segment with its live counts.
    public struct Counted: Sendable {
        public var segment: Segment
        /// Contacts the rule matches.
        public var count: Int
        /// Of those, the subscribed ones: who a campaign to it would reach before other exclusions.
        public var subscribed: Int
    }

    /// A rule's count and its newest matching contacts.
    public struct Preview: Sendable {
        public var count: Int
        public var subscribed: Int
        public var sample: [Contact]
    }

    static let notFound = HeraldError(.notFound, "no segment with this id")

    /// Reads a rule; a bad one is 400 `invalid_rule` pointing at the mistake (`rule.all[1].op`).
    public static func rule(_ json: JSONValue?, field: String = "rule") throws -> SegmentRule {
        guard let json else { throw HeraldError(.invalidRule, "is required", field: field) }
        do { return try SegmentRule.parse(json, path: field) } catch { throw HeraldError(.invalidRule, error.message, field: error.path) }
    }

    static func name(_ raw: String) throws -> String {
        let name = raw.trimmedOfWhitespace
        guard (1...100).contains(name.count), !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw HeraldError.validation("name", "must be 1 to 100 characters without control characters")
        }
        return name
    }

    public func create(name: String, rule json: JSONValue?) async throws -> Counted {
        let name = try Self.name(name)
        let rule = try Self.rule(json)
        let segment = try await store.insert(name: name, rule: rule)
        logger.info("segment created", metadata: ["segment.id": "\(segment.id)"])
        return try await counted(segment)
    }

    func counted(_ segment: Segment) async throws -> Counted {
        let (count, subscribed) = try await store.count(segment.rule, now: clock.now)
        return Counted(segment: segment, count: count, subscribed: subscribed)
    }

    public func segment(id: UUID) async throws -> Segment {
        guard let segment = try await store.segment(id: id) else { throw Self.notFound }
        return segment
    }

    public func counted(id: UUID) async throws -> Counted {
        try await counted(try await segment(id: id))
    }

    public func segments(limit: Int, cursor: ListCursor?) async throws -> Page<Counted> {
        let page = try await store.segments(limit: limit, after: cursor)
        var items: [Counted] = []
        for segment in page.items { items.append(try await counted(segment)) }
        return Page(items: items, nextCursor: page.nextCursor)
    }

    public func update(id: UUID, name: String?, rule json: JSONValue?) async throws -> Counted {
        let name = try name.map(Self.name)
        let rule = try json.map { try Self.rule($0) }
        guard let segment = try await store.update(id: id, name: name, rule: rule) else { throw Self.notFound }
        return try await counted(segment)
    }

    public func delete(id: UUID) async throws {
        guard try await store.delete(id: id) else { throw Self.notFound }
    }

    public func preview(rule json: JSONValue?) async throws -> Preview {
        let rule = try Self.rule(json)
        let now = clock.now
        let (count, subscribed) = try await store.count(rule, now: now)
        return Preview(count: count, subscribed: subscribed, sample: try await store.sample(rule, now: now, limit: Self.sampleSize))
    }
}
