import Herald
import Hummingbird
import SMS

/// `GET|PATCH /v1/settings` (scope admin).
struct SettingsRoutes {
    let settings: SettingsService
    let eventsSigningSecret: String

    /// The settings document plus the events signing secret, shown for convenience (it is
    /// derived from HERALD_SECRET, not a setting).
    static func document(_ values: [String: JSONValue], secret: String) -> JSONValue {
        var document = values
        document["events_signing_secret"] = .string(secret)
        return .object(document)
    }

    func register(on router: RouteRegistrar) {
        router.get("/v1/settings") { _, context in
            try context.require(.admin, write: false)
            return try JSON.response(Self.document(try await settings.current().json, secret: eventsSigningSecret))
        }
        router.patch("/v1/settings") { request, context in
            let principal = try context.require(.admin, write: true)
            var changes = try await JSON.decode([String: JSONValue].self, from: request, context: context)
            // Shown for convenience; not a setting one can change.
            changes["events_signing_secret"] = nil
            let updated = try await settings.update(changes, actor: principal.actorLabel)
            return try JSON.response(Self.document(updated.json, secret: eventsSigningSecret))
        }
    }
}
