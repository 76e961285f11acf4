import Foundation
import Herald
import Hummingbird

/// `/v1/users`: dashboard users and their lifecycle (scope `admin`).
///
/// Disabling a user ends their sessions and revokes the API keys they created, at once;
/// deleting does the same and removes the user. Neither may leave Herald without an enabled
/// admin (409 `last_admin`), and neither may demoting the last one.
struct UserRoutes {
    let identity: IdentityService
    let auditor: Auditor

    struct CreateUserRequest: Decodable {
        let email: String
        let role: String
        let password: String?
    }

    /// Absent fields stay as they are; `null` is refused rather than read as "absent".
    struct UpdateUserRequest: Decodable {
        let role: String?
        let disabled: Bool?

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            for key in [CodingKeys.role, .disabled] where container.contains(key) {
                if try container.decodeNil(forKey: key) {
                    throw DecodingError.valueNotFound(
                        Any.self, .init(codingPath: [key], debugDescription: "null is not a value here; leave the field out"))
                }
            }
            role = try container.decodeIfPresent(String.self, forKey: .role)
            disabled = try container.decodeIfPresent(Bool.self, forKey: .disabled)
        }

        enum CodingKeys: String, CodingKey { case role, disabled }
    }

    static func target(_ user: User) -> AuditTarget { AuditTarget("user", id: user.id, label: user.email) }

    func register(on router: RouteRegistrar) {
        router.get("/v1/users") { request, context in
            try context.require(.admin, write: false)
            let (limit, cursor) = try request.listParameters()
            let page = try await identity.users(limit: limit, cursor: cursor)
            return try JSON.response(ListResponse(data: page.items.map { UserBody($0) }, nextCursor: page.nextCursor))
        }
        router.post("/v1/users") { request, context in
            try context.require(.admin, write: true)
            let body = try await JSON.decode(CreateUserRequest.self, from: request, context: context)
            let role = try IdentityValidation.role(body.role)
            // A password the admin chose is the user's to keep; a generated one travels through
            // the admin's hands, so the user replaces it at the first login.
            let password = body.password ?? Tokens.password()
            let user = try await identity.createUser(
                email: body.email, role: role, password: password, passwordChangeRequired: body.password == nil)
            await auditor.record(request, context, "user.create", Self.target(user), after: UserBody(user))
            return try JSON.response(
                UserBody(user, password: body.password == nil ? password : nil), status: .created)
        }
        router.get("/v1/users/{id}") { _, context in
            try context.require(.admin, write: false)
            let user = try await identity.user(id: try context.parameters.uuid("id", what: "user"))
            return try JSON.response(UserBody(user))
        }
        router.patch("/v1/users/{id}") { request, context in
            try context.require(.admin, write: true)
            let id = try context.parameters.uuid("id", what: "user")
            let body = try await JSON.decode(UpdateUserRequest.self, from: request, context: context)
            let role = try body.role.map { try IdentityValidation.role($0) }
            let before = try await identity.user(id: id)
            let user = try await identity.updateUser(id: id, role: role, disabled: body.disabled)
            await auditor.record(request, context, "user.update", Self.target(user), before: UserBody(before), after: UserBody(user))
            return try JSON.response(UserBody(user))
        }
        router.delete("/v1/users/{id}") { request, context in
            try context.require(.admin, write: true)
            let id = try context.parameters.uuid("id", what: "user")
            let before = try await identity.user(id: id)
            try await identity.deleteUser(id: id)
            await auditor.record(request, context, "user.delete", Self.target(before), before: UserBody(before))
            return Response(status: .noContent)
        }
    }
}
