import Foundation
import Logging

/// Herald's configuration, read from the environment (API.md, "CLI"); command-line flags
/// override individual fields afterwards.
public struct HeraldConfiguration: Sendable {
    /// `DATABASE_URL` (libpq URI or conninfo). `nil` → the embedded PostgreSQL.
    public var databaseURL: String?
    /// `HERALD_DATA_DIR`, default `./.herald`: the embedded cluster and the generated secret live here.
    public var dataDirectory: String
    /// `HERALD_SECRET`; `nil` in embedded mode → generated once and kept in the data directory.
    public var secret: String?
    public var host: String
    public var port: Int
    /// `HERALD_PUBLIC_URL`: the base of webhook and dashboard URLs; defaults to `http://host:port`.
    public var publicURL: String?
    public var logLevel: Logger.Level
    /// Where `web/`, `migrations/`, `templates/` and `openapi.yaml` are (`HERALD_HOME`), found
    /// by ``ResourceLocator`` when unset.
    public var resourceDirectory: String?
    /// Size of the shared database connection pool (`HERALD_DB_POOL_SIZE`, default 10); the
    /// intake, dispatcher and receipt pools are reserved on top (see `DatabaseService`).
    public var databasePoolSize: Int
    /// `HERALD_METRICS_TOKEN`: when set, `/metrics` demands it as a bearer token.
    public var metricsToken: String?
    /// `HERALD_STATEMENT_TIMEOUT_MS`: the longest any one SQL statement of this process may run
    /// (default 30 s), so a pathological query cannot hold a connection and a request forever.
    public var statementTimeout: Duration = .seconds(30)
    /// `HERALD_TRUSTED_PROXIES`: reverse proxies whose `X-Forwarded-For` gives the client
    /// address (login throttling). Empty: the TCP peer is the client.
    public var trustedProxies = TrustedProxies()
    /// `HERALD_ALLOW_PRIVATE_NETWORKS` (`true` or `false`, default false): whether provider and
    /// event URLs may reach loopback, private and other non-public addresses (a provider
    /// simulator on the same machine, a gateway on the LAN). Link-local and cloud metadata
    /// addresses stay refused either way (``OutboundURLPolicy``, `AddressPolicy`).
    public var allowPrivateNetworks: Bool

    public init(
        databaseURL: String? = nil,
        dataDirectory: String = ".herald",
        secret: String? = nil,
        host: String = "127.0.0.1",
        port: Int = 8080,
        publicURL: String? = nil,
        logLevel: Logger.Level = .info,
        resourceDirectory: String? = nil,
        databasePoolSize: Int = 10,
        allowPrivateNetworks: Bool = false
    ) {
        self.databaseURL = databaseURL
        self.dataDirectory = dataDirectory
        self.secret = secret
        self.host = host
        self.port = port
        self.publicURL = publicURL
        self.logLevel = logLevel
        self.resourceDirectory = resourceDirectory
        self.databasePoolSize = databasePoolSize
        self.allowPrivateNetworks = allowPrivateNetworks
    }

    /// Reads the documented variables. Bad values are errors naming the variable, never ignored.
    public static func fromEnvironment(
        _ environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> HeraldConfiguration {
        var configuration = HeraldConfiguration()
        func value(_ name: String) -> String? {
            guard let raw = environment[name]?.trimmingCharacters(in: .whitespaces), !raw.isEmpty else { return nil }
            return raw
        }
        configuration.databaseURL = value("DATABASE_URL")
        if let dir = value("HERALD_DATA_DIR") { configuration.dataDirectory = dir }
        configuration.secret = value("HERALD_SECRET")
        if let host = value("HERALD_HOST") { configuration.host = host }
        if let port = value("HERALD_PORT") {
            guard let number = Int(port), (0...65535).contains(number) else {
                throw ConfigurationError("HERALD_PORT must be a port number (0–65535)")
            }
            configuration.port = number
        }
        configuration.publicURL = value("HERALD_PUBLIC_URL")
        if let level = value("LOG_LEVEL") {
            guard let parsed = Logger.Level(rawValue: level.lowercased()) else {
                throw ConfigurationError(
                    "LOG_LEVEL must be one of trace, debug, info, notice, warning, error, critical")
            }
            configuration.logLevel = parsed
        }
        configuration.resourceDirectory = value("HERALD_HOME")
        if let size = value("HERALD_DB_POOL_SIZE") {
            guard let number = Int(size), (1...500).contains(number) else {
                throw ConfigurationError("HERALD_DB_POOL_SIZE must be a number from 1 to 500")
            }
            configuration.databasePoolSize = number
        }
        if let raw = value("HERALD_STATEMENT_TIMEOUT_MS") {
            guard let milliseconds = Int(raw), (100...3_600_000).contains(milliseconds) else {
                throw ConfigurationError("HERALD_STATEMENT_TIMEOUT_MS must be a number from 100 to 3600000")
            }
            configuration.statementTimeout = .milliseconds(milliseconds)
        }
        if let token = value("HERALD_METRICS_TOKEN") {
            guard token.utf8.count >= 16, token.unicodeScalars.allSatisfy({ $0.isASCII && $0.value > 0x20 && $0.value < 0x7F }) else {
                throw ConfigurationError("HERALD_METRICS_TOKEN must be at least 16 visible ASCII characters")
            }
            configuration.metricsToken = token
        }
        if let proxies = value("HERALD_TRUSTED_PROXIES") {
            configuration.trustedProxies = try TrustedProxies(parsing: proxies)
        }
        if let allow = value("HERALD_ALLOW_PRIVATE_NETWORKS") {
            switch allow.lowercased() {
            case "true": configuration.allowPrivateNetworks = true
            case "false": configuration.allowPrivateNetworks = false
            default: throw ConfigurationError("HERALD_ALLOW_PRIVATE_NETWORKS must be true or false")
            }
        }
        return configuration
    }

    /// The public base URL without a trailing slash.
    public var resolvedPublicURL: String {
        if let publicURL { return publicURL.hasSuffix("/") ? String(publicURL.dropLast()) : publicURL }
        let shownHost = host == "0.0.0.0" || host == "::" ? "127.0.0.1" : host
        return "http://\(shownHost.contains(":") ? "[\(shownHost)]" : shownHost):\(port)"
    }

    /// Absolute path of the data directory.
    public var absoluteDataDirectory: String {
        URL(fileURLWithPath: dataDirectory, relativeTo: URL(fileURLWithPath: FileManager.default.currentDirectoryPath))
            .standardizedFileURL.path
    }
}

/// A configuration value is missing or malformed; the message names the variable or flag.
public struct ConfigurationError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Finds Herald's files that are not compiled in: `web/`, `migrations/`, `templates/`, `openapi.yaml`.
///
/// Order: `HERALD_HOME`; the current directory; the directories above the executable
/// (`.build/debug/herald` lives three levels under the checkout).
public enum ResourceLocator {
    public static func locate(explicit: String?) throws -> String {
        let fm = FileManager.default
        var candidates: [String] = []
        if let explicit { candidates.append(explicit) }
        candidates.append(fm.currentDirectoryPath)
        var url = URL(fileURLWithPath: CommandLine.arguments.first ?? "").resolvingSymlinksInPath()
            .deletingLastPathComponent()
        for _ in 0..<5 {
            candidates.append(url.path)
            url.deleteLastPathComponent()
        }
        for candidate in candidates where fm.fileExists(atPath: candidate + "/migrations") {
            return URL(fileURLWithPath: candidate).standardizedFileURL.path
        }
        throw ConfigurationError(
            "Herald's files (migrations/, web/) were not found; run from the checkout or set HERALD_HOME")
    }
}
