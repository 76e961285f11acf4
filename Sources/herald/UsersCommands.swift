import ArgumentParser
import Foundation
import Herald

struct Users: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "users", abstract: "Manage dashboard users.", subcommands: [Create.self, ResetPassword.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a user; prints a generated password (to be changed at the first login) unless --password-stdin.")

        @Option(help: "The user's e-mail address.") var email: String
        @Option(help: "admin, marketer or viewer.") var role: String
        @Flag(help: "Read the password from standard input instead of generating one.") var passwordStdin = false

        func run() async throws {
            let environment = try CommandEnvironment()
            let role = try IdentityValidation.role(role, field: "--role")
            let password = try passwordStdin ? readPasswordFromStandardInput() : Tokens.password()
            let generated = !passwordStdin
            let user = try await environment.withHerald { core in
                try await core.identity.createUser(email: email, role: role, password: password, passwordChangeRequired: generated)
            }
            say("Created \(user.role.rawValue) \(user.email) (\(user.id.uuidString.lowercased())).")
            if generated { say("Password: \(password)") }
        }
    }

    struct ResetPassword: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "reset-password",
            abstract: "Give a user who cannot sign in a new password (for example a locked-out admin).",
            discussion: """
                Prints a generated password unless --password-stdin. Ends the user's sessions, clears \
                the account's failed-login counters, and makes the user choose a new password at the \
                next login. A disabled user stays disabled.
                """)

        @Argument(help: "The user's e-mail address.") var email: String
        @Flag(help: "Read the new password from standard input instead of generating one.") var passwordStdin = false

        func run() async throws {
            let environment = try CommandEnvironment()
            let password = try passwordStdin ? readPasswordFromStandardInput() : Tokens.password()
            let user = try await environment.withHerald { core in
                try await core.identity.resetPassword(email: email, password: password)
            }
            if user.email == IdentityService.firstAdminEmail {
                // The printed first password is not the password any more.
                FirstLogin.discard(dataDirectory: environment.configuration.absoluteDataDirectory)
            }
            say("Reset the password of \(user.email) (\(user.id.uuidString.lowercased())); a new one must be chosen at the next login.")
            if !passwordStdin { say("Password: \(password)") }
        }
    }
}

/// The first line of standard input, without its newline.
func readPasswordFromStandardInput() throws -> String {
    guard let line = readLine(strippingNewline: true) else { throw ValidationError("no password on standard input") }
    return line
}

struct APIKeys: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "api-keys", abstract: "Manage API keys.", subcommands: [Create.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an API key; prints it as the last line (shown once).")

        @Option(help: "A name to recognise the key by.") var name: String
        @Option(name: .customLong("scope"), help: "verifications, messages, contacts, campaigns or admin; repeatable.")
        var scopes: [String] = []

        func run() async throws {
            let environment = try CommandEnvironment()
            let created = try await environment.withHerald { core in
                try await core.identity.createAPIKey(name: name, scopes: scopes, createdBy: nil)
            }
            say("Created API key \(created.key.name) (\(created.key.id.uuidString.lowercased())) with scopes \(created.key.scopes.map(\.rawValue).joined(separator: ", ")).")
            say(created.secret)
        }
    }
}
