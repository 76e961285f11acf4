/// An error from the PostgreSQL layer.
///
/// `description` is safe to log: it holds the code, the SQLSTATE, and the server's primary message only for
/// classes of errors whose messages name objects (constraints, tables, columns) rather than values.
/// Everything else — detail, hint, the full server message, the SQL text, libpq's own message — is only in
/// `debugDescription` (`String(reflecting: error)`), because it can contain row data such as phone numbers.
public struct PostgresError: Error, CustomStringConvertible, CustomDebugStringConvertible, Sendable {
    /// What went wrong, at the level callers branch on.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case connectionFailed, connectionLost, connectionClosed, server, timeout, cancelled
            case poolExhausted, poolClosed, decodingFailed, encodingFailed, copyFailed
            case invalidConfiguration, listenFailed, transactionRolledBack, protocolViolation
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// Could not establish a connection (server down, refused, authentication failed, connect timeout).
        public static let connectionFailed = Code(.connectionFailed)
        /// The connection broke while in use (server restart, network failure, backend terminated).
        public static let connectionLost = Code(.connectionLost)
        /// The connection was closed by `close()` before or while the operation ran.
        public static let connectionClosed = Code(.connectionClosed)
        /// The server answered with an ErrorResponse; see `sqlState`.
        public static let server = Code(.server)
        /// The statement was cancelled because the caller's `timeout` passed (SQLSTATE 57014).
        public static let timeout = Code(.timeout)
        /// Internal: the statement was cancelled because the calling task was; surfaces as `CancellationError`.
        static let cancelled = Code(.cancelled)
        /// No pooled connection became available within the pool's acquire timeout.
        public static let poolExhausted = Code(.poolExhausted)
        /// The pool was closed.
        public static let poolClosed = Code(.poolClosed)
        /// A column value could not be decoded into the requested Swift type.
        public static let decodingFailed = Code(.decodingFailed)
        /// A bound value could not be sent (for example a string containing a NUL byte).
        public static let encodingFailed = Code(.encodingFailed)
        /// COPY could not start or its data could not be sent (server-side data errors are `.server`).
        public static let copyFailed = Code(.copyFailed)
        /// The configuration (conninfo) could not be parsed.
        public static let invalidConfiguration = Code(.invalidConfiguration)
        /// LISTEN/UNLISTEN failed or the channel name is not a valid identifier.
        public static let listenFailed = Code(.listenFailed)
        /// COMMIT found the transaction already aborted (an error inside it was caught), so it rolled back.
        public static let transactionRolledBack = Code(.transactionRolledBack)
        /// libpq returned something this layer did not expect.
        public static let protocolViolation = Code(.protocolViolation)

        public var description: String { base.rawValue }
    }

    public let code: Code
    /// The server's SQLSTATE, when the server reported one.
    public let sqlState: SQLState?
    /// The server's primary message (may contain data: debug only).
    public let serverMessage: String?
    public let detail: String?
    public let hint: String?
    public let schema: String?
    public let table: String?
    public let column: String?
    public let constraint: String?
    /// The SQL text of the statement (placeholders, never bound values).
    public let query: String?
    /// libpq's or this library's own explanation (may name hosts, users or values: debug only).
    public let underlyingMessage: String?
    /// A reason that never contains data, included in `description`.
    let safeReason: String?
    /// For `.connectionLost`: whether the statement had reached the server. `false` means it is safe to retry elsewhere.
    let statementWasSent: Bool

    init(
        code: Code,
        sqlState: SQLState? = nil,
        serverMessage: String? = nil,
        detail: String? = nil,
        hint: String? = nil,
        schema: String? = nil,
        table: String? = nil,
        column: String? = nil,
        constraint: String? = nil,
        query: String? = nil,
        underlyingMessage: String? = nil,
        safeReason: String? = nil,
        statementWasSent: Bool = true
    ) {
        self.code = code
        self.sqlState = sqlState
        self.serverMessage = serverMessage
        self.detail = detail
        self.hint = hint
        self.schema = schema
        self.table = table
        self.column = column
        self.constraint = constraint
        self.query = query
        self.underlyingMessage = underlyingMessage
        self.safeReason = safeReason
        self.statementWasSent = statementWasSent
    }

    func withQuery(_ sql: String) -> PostgresError {
        PostgresError(
            code: code, sqlState: sqlState, serverMessage: serverMessage, detail: detail, hint: hint,
            schema: schema, table: table, column: column, constraint: constraint, query: sql,
            underlyingMessage: underlyingMessage, safeReason: safeReason, statementWasSent: statementWasSent
        )
    }

    func withCode(_ code: Code, safeReason: String? = nil) -> PostgresError {
        PostgresError(
            code: code, sqlState: sqlState, serverMessage: serverMessage, detail: detail, hint: hint,
            schema: schema, table: table, column: column, constraint: constraint, query: query,
            underlyingMessage: underlyingMessage, safeReason: safeReason ?? self.safeReason,
            statementWasSent: statementWasSent
        )
    }

    /// Redacted: safe for logs and error responses.
    public var description: String {
        var parts = ["PostgresError(\(code)"]
        if let sqlState { parts.append("sqlState: \(sqlState.rawValue)") }
        if let constraint, sqlState?.isIntegrityConstraintViolation == true {
            parts.append("constraint: \(constraint)")
        }
        var text = parts.joined(separator: ", ") + ")"
        if let message = safeServerMessage {
            text += ": \(message)"
        } else if let safeReason {
            text += ": \(safeReason)"
        }
        return text
    }

    /// Everything known, including data-bearing server text and the SQL. Not for logs that leave the machine.
    public var debugDescription: String {
        var fields: [String] = ["code: \(code)"]
        if let sqlState { fields.append("sqlState: \(sqlState.rawValue)") }
        if let serverMessage { fields.append("serverMessage: \(serverMessage)") }
        if let detail { fields.append("detail: \(detail)") }
        if let hint { fields.append("hint: \(hint)") }
        if let schema { fields.append("schema: \(schema)") }
        if let table { fields.append("table: \(table)") }
        if let column { fields.append("column: \(column)") }
        if let constraint { fields.append("constraint: \(constraint)") }
        if let safeReason { fields.append("reason: \(safeReason)") }
        if let underlyingMessage { fields.append("message: \(underlyingMessage)") }
        if let query { fields.append("query: \(query)") }
        return "PostgresError(" + fields.joined(separator: ", ") + ")"
    }

    /// The server's primary message, but only for SQLSTATE classes whose primary messages name objects, never
    /// values. Class 22 (data exceptions, e.g. `invalid input syntax for type integer: "…"`), P0 (user-raised
    /// exceptions) and XX are excluded on purpose; for class 23 only the constraint name is printed (a trigger may
    /// raise 23xxx with any text, and the detail holds the key values).
    private var safeServerMessage: String? {
        guard let serverMessage, let sqlState else { return nil }
        let safeClasses: Set<Substring> = ["08", "25", "28", "3D", "40", "42", "53", "55", "57"]
        return safeClasses.contains(sqlState.rawValue.prefix(2)) ? serverMessage : nil
    }
}

/// A PostgreSQL SQLSTATE error code (https://www.postgresql.org/docs/current/errcodes-appendix.html).
public struct SQLState: Hashable, Sendable, RawRepresentable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ rawValue: String) { self.rawValue = rawValue }

    public var description: String { rawValue }

    public static let uniqueViolation = SQLState("23505")
    public static let foreignKeyViolation = SQLState("23503")
    public static let notNullViolation = SQLState("23502")
    public static let checkViolation = SQLState("23514")
    public static let exclusionViolation = SQLState("23P01")
    public static let serializationFailure = SQLState("40001")
    public static let deadlockDetected = SQLState("40P01")
    public static let queryCanceled = SQLState("57014")
    public static let adminShutdown = SQLState("57P01")
    public static let crashShutdown = SQLState("57P02")
    public static let cannotConnectNow = SQLState("57P03")
    public static let undefinedTable = SQLState("42P01")
    public static let undefinedColumn = SQLState("42703")
    public static let undefinedFunction = SQLState("42883")
    public static let syntaxError = SQLState("42601")
    public static let duplicateTable = SQLState("42P07")
    public static let duplicateObject = SQLState("42710")
    public static let invalidTextRepresentation = SQLState("22P02")
    public static let badCopyFileFormat = SQLState("22P04")
    public static let numericValueOutOfRange = SQLState("22003")
    public static let stringDataRightTruncation = SQLState("22001")
    public static let lockNotAvailable = SQLState("55P03")
    public static let objectInUse = SQLState("55006")
    public static let insufficientPrivilege = SQLState("42501")
    public static let invalidPassword = SQLState("28P01")
    public static let invalidAuthorizationSpecification = SQLState("28000")
    public static let invalidCatalogName = SQLState("3D000")
    public static let duplicateDatabase = SQLState("42P04")
    public static let inFailedSQLTransaction = SQLState("25P02")
    public static let tooManyConnections = SQLState("53300")

    /// Class 23: the statement broke a constraint (unique, foreign key, not null, check, exclusion).
    public var isIntegrityConstraintViolation: Bool { rawValue.hasPrefix("23") }

    /// Serialization failure or deadlock: running the whole transaction again may succeed.
    public var isRetryableTransactionFailure: Bool {
        self == .serializationFailure || self == .deadlockDetected
    }
}
