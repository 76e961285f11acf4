import Herald
import Hummingbird
import SMS

/// `GET|PATCH /v1/settings` (scope admin).
struct SettingsRoutes {
    let settings: SettingsService
    let eventsSigningSecret: String
    /// Purpose → Twilio Verify service SID.
    let verifyServices: [String: String]
    let auditor: Auditor

    /// The settings document plus what is derived from HERALD_SECRET and shown for convenience
    /// (not settings): the events signing secret and the Verify service SIDs.
    func document(_ values: [String: JSONValue]) -> JSONValue {
        var document = values
        document["events_signing_secret"] = .string(eventsSigningSecret)
        document["verify_services"] = .object(verifyServices.mapValues(JSONValue.string))
        return .object(document)
    }

    func register(on router: RouteRegistrar) {
        router.get("/v1/settings") { _, context in
            try context.require(.admin, write: false)
            return try JSON.response(document(try await settings.current().json))
        }
        router.patch("/v1/settings") { request, context in
            let principal = try context.require(.admin, write: true)
            var changes = try await JSON.decode([String: JSONValue].self, from: request, context: context)
            // Shown for convenience; not a setting one can change.
            changes["events_signing_secret"] = nil
            changes["verify_services"] = nil
            let before = try await settings.current().json
            let updated = try await settings.update(changes, actor: principal.actorLabel)
            // Only what changed, before and after.
            let after = updated.json.filter { before[$0.key] != $0.value }
            if !after.isEmpty {
                await auditor.record(request, context, "settings.update", AuditTarget("settings"),
                                     before: before.filter { after[$0.key] != nil }, after: after)
            }
            return try JSON.response(document(updated.json))
        }
    }
}
