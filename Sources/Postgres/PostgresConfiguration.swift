import CLibPQ
import Foundation

/// Where and how to connect, in libpq's own terms.
///
/// `conninfo` is a libpq URI (`postgres://user:secret@host:5432/herald?sslmode=require`) or a key=value string
/// (`host=/run/postgresql dbname=herald`); `""` means libpq's defaults plus the `PG*` environment variables.
/// See https://www.postgresql.org/docs/current/libpq-connect.html#LIBPQ-CONNSTRING.
public struct PostgresConfiguration: Sendable, CustomStringConvertible {
    public var conninfo: String
    /// How long establishing a connection (including authentication) may take.
    public var connectTimeout: Duration
    /// How many statements each connection prepares on the server (named prepared statements, so repeated
    /// statements skip parsing and planning). A statement is prepared the second time a connection runs it; `0`
    /// never prepares (e.g. behind a transaction-pooling pgbouncer).
    public var statementCacheCapacity: Int = 256
    /// Server settings every connection starts with (`statement_timeout`, …), sent as
    /// libpq's `options` (`-c name=value`) after any `options` the conninfo already has.
    /// Names and values must be plain setting names and values: no spaces or backslashes.
    public var serverSettings: [String: String] = [:]

    public init(conninfo: String, connectTimeout: Duration = .seconds(10)) {
        self.conninfo = conninfo
        self.connectTimeout = connectTimeout
    }

    /// `DATABASE_URL` if set (URI or conninfo); otherwise the libpq `PG*` variables found in `environment`
    /// (`PGHOST`, `PGPORT`, `PGUSER`, `PGDATABASE`, `PGPASSWORD`, `PGSSLMODE`, …, exactly libpq's list) written out
    /// as a conninfo, which is `""` when there are none. For the process environment this is what libpq would do
    /// by itself; for any other dictionary it makes those variables take effect. `PGCONNECT_TIMEOUT` also sets
    /// `connectTimeout`.
    public static func fromEnvironment(
        _ environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> PostgresConfiguration {
        var timeout = Duration.seconds(10)
        if let seconds = environment["PGCONNECT_TIMEOUT"].flatMap(Int.init), seconds > 0 {
            timeout = .seconds(max(seconds, 2))
        }
        if let url = environment["DATABASE_URL"], !url.isEmpty {
            return PostgresConfiguration(conninfo: url, connectTimeout: timeout)
        }
        var pairs: [(String, String)] = []
        for option in PostgresConninfo.defaultOptions() {
            guard let variable = option.environmentVariable, let value = environment[variable], !value.isEmpty else { continue }
            pairs.append((option.keyword, value))
        }
        return PostgresConfiguration(conninfo: PostgresConninfo.render(pairs), connectTimeout: timeout)
    }

    /// The same settings pointed at database `name`: parses the URI or key=value form and writes it back as a
    /// key=value conninfo with `dbname` replaced (libpq's `PQconninfoParse`).
    /// If libpq cannot parse the conninfo, `dbname` is appended to it (a later keyword wins in key=value form), so
    /// connecting still reports the original problem.
    public func withDatabase(_ name: String) -> PostgresConfiguration {
        guard var pairs = try? PostgresConninfo.parse(conninfo) else {
            var copy = self
            copy.conninfo = conninfo + " " + PostgresConninfo.render([("dbname", name)])
            return copy
        }
        pairs.removeAll { $0.0 == "dbname" }
        pairs.append(("dbname", name))
        var copy = self
        copy.conninfo = PostgresConninfo.render(pairs)
        return copy
    }

    /// The explicitly set conninfo options, e.g. `["host": "/tmp", "dbname": "herald"]`.
    /// Throws `.invalidConfiguration` (with libpq's explanation in `debugDescription`) when libpq cannot parse it.
    public func parsedOptions() throws -> [String: String] {
        Dictionary(try PostgresConninfo.parse(conninfo), uniquingKeysWith: { _, last in last })
    }

    /// The conninfo with any password replaced by `****`.
    public var description: String {
        guard let pairs = try? PostgresConninfo.parse(conninfo) else {
            return "PostgresConfiguration(<unparsable conninfo>)"
        }
        let shown = pairs.map { key, value in (key, key == "password" ? "****" : value) }
        return "PostgresConfiguration(\(PostgresConninfo.render(shown)))"
    }
}

/// libpq conninfo parsing and writing.
enum PostgresConninfo {
    struct Option {
        var keyword: String
        var environmentVariable: String?
    }

    /// Every keyword libpq knows, with its environment variable (`PQconndefaults`).
    static func defaultOptions() -> [Option] {
        guard let options = PQconndefaults() else { return [] }
        defer { PQconninfoFree(options) }
        var result: [Option] = []
        var cursor = options
        while let keyword = cursor.pointee.keyword {
            result.append(Option(keyword: String(cString: keyword), environmentVariable: cursor.pointee.envvar.map { String(cString: $0) }))
            cursor += 1
        }
        return result
    }

    /// The options set explicitly in `conninfo` (URI or key=value), in libpq's keyword order.
    static func parse(_ conninfo: String) throws(PostgresError) -> [(String, String)] {
        if conninfo.isEmpty { return [] }
        var errorMessage: UnsafeMutablePointer<CChar>?
        guard let options = PQconninfoParse(conninfo, &errorMessage) else {
            let message = errorMessage.map { String(cString: $0) }
            if let errorMessage { PQfreemem(errorMessage) }
            throw PostgresError(code: .invalidConfiguration, underlyingMessage: message,
                                safeReason: "libpq could not parse the conninfo")
        }
        defer { PQconninfoFree(options) }
        var result: [(String, String)] = []
        var cursor = options
        while let keyword = cursor.pointee.keyword {
            if let value = cursor.pointee.val {
                result.append((String(cString: keyword), String(cString: value)))
            }
            cursor += 1
        }
        return result
    }

    /// key='value' pairs, quoted as libpq requires (backslash and single quote escaped).
    static func render(_ pairs: [(String, String)]) -> String {
        pairs.map { key, value in
            var quoted = "'"
            for character in value {
                if character == "\\" || character == "'" { quoted.append("\\") }
                quoted.append(character)
            }
            quoted.append("'")
            return "\(key)=\(quoted)"
        }.joined(separator: " ")
    }
}
