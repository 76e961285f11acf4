import Foundation
import Postgres
import SMS

/// All SQL of the audit log.
struct AuditStore: Sendable {
    let pool: PostgresPool

    func insert(_ actor: AuditActor, _ change: AuditChange, clientIP: String?) async throws {
        try await pool.query(
            """
            INSERT INTO audit_log (actor_type, actor_id, actor_label, action, target_type, target_id, target_label,
                                   before, after, client_ip)
            VALUES (\(actor.kind.rawValue), \(actor.id), \(actor.label), \(change.action), \(change.target.type),
                    \(change.target.id), \(change.target.label), \(change.before.map(PostgresJSON.init)),
                    \(change.after.map(PostgresJSON.init)), \(clientIP))
            """)
    }

    /// Newest first. Each filter is a bound value; an unset one is a constant `true` the
    /// planner drops, so every combination uses the matching index.
    func entries(_ filter: AuditFilter, limit: Int, after cursor: ListCursor?) async throws -> Page<AuditEntry> {
        var actorID: UUID?, actorLabel: String?, exactAction: String?, family: String?
        switch filter.actor {
        case .id(let id): actorID = id
        case .label(let label): actorLabel = label.lowercased()
        case nil: break
        }
        switch filter.action {
        case .exact(let action): exactAction = action
        case .family(let name): family = name + "."
        case nil: break
        }
        return try await pool.page(
            of: """
                SELECT id, created_at, actor_type, actor_id, actor_label, action, target_type, target_id, target_label,
                       before, after, client_ip, (extract(epoch FROM created_at) * 1000000)::int8 AS cursor_us
                FROM audit_log
                WHERE (\(actorID == nil) OR actor_id = \(actorID))
                  AND (\(actorLabel == nil) OR lower(actor_label) = \(actorLabel))
                  AND (\(exactAction == nil) OR action = \(exactAction))
                  AND (\(family == nil) OR action LIKE \(family.map { $0.replacingOccurrences(of: "_", with: "\\_") + "%" }))
                  AND (\(filter.targetType == nil) OR target_type = \(filter.targetType))
                  AND (\(filter.targetID == nil) OR target_id = \(filter.targetID))
                  AND (\(filter.after == nil) OR created_at >= \(filter.after))
                  AND (\(filter.before == nil) OR created_at < \(filter.before))
                """,
            limit: limit, after: cursor, decode: Self.entry)
    }

    static func entry(_ row: PostgresRow) throws -> AuditEntry {
        let kind = AuditActor.Kind(rawValue: try row.decode("actor_type", as: String.self)) ?? .user
        func json(_ column: String) throws -> JSONValue? {
            try row.rawJSON(column).map { try JSONDecoder().decode(JSONValue.self, from: $0) }
        }
        return AuditEntry(
            id: try row.decode("id"), createdAt: try row.decode("created_at"),
            actor: AuditActor(kind: kind, id: try row.decode("actor_id"), label: try row.decode("actor_label")),
            action: try row.decode("action"),
            target: AuditTarget(try row.decode("target_type"), id: try row.decode("target_id", as: String?.self),
                                label: try row.decode("target_label")),
            before: try json("before"), after: try json("after"), clientIP: try row.decode("client_ip"))
    }
}
