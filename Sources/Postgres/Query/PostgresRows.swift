import Foundation

/// The rows a statement returned. Values stay in libpq's result and are decoded on access.
public struct PostgresRows: Sendable, RandomAccessCollection {
    let result: PostgresResult?
    /// Rows inserted, updated, deleted, copied or selected, from the command tag (`PQcmdTuples`); 0 if none.
    public let affectedRows: Int

    init(result: PostgresResult?) {
        self.result = result
        self.affectedRows = result?.affectedRows ?? 0
    }

    /// The column names, in order.
    public var columns: [String] { result?.columns ?? [] }

    /// The command tag, e.g. `INSERT 0 3` or `SELECT 1`.
    public var commandTag: String { result?.commandStatus ?? "" }

    public var startIndex: Int { 0 }
    public var endIndex: Int { result?.rowCount ?? 0 }

    public subscript(position: Int) -> PostgresRow {
        precondition(position >= 0 && position < endIndex, "row index out of range")
        return PostgresRow(result: result!, row: position)
    }
}

/// One row of a result.
public struct PostgresRow: Sendable {
    let result: PostgresResult
    let row: Int

    /// The column names, in order.
    public var columns: [String] { result.columns }

    /// Decodes the named column (the first one with that name).
    public func decode<T: PostgresDecodable>(_ column: String, as type: T.Type = T.self) throws -> T {
        try decode(try index(of: column), as: type)
    }

    /// Decodes the column at `index` (0-based).
    public func decode<T: PostgresDecodable>(_ index: Int, as type: T.Type = T.self) throws -> T {
        guard index >= 0, index < result.columns.count else {
            throw PostgresError(
                code: .decodingFailed,
                safeReason: "column index \(index) is out of range (the row has \(result.columns.count) columns)"
            )
        }
        let dataType = result.type(ofColumn: index)
        do {
            if result.isNull(row: row, column: index) { return try T.decodeNull() }
            return try T.decode(from: result.bytes(row: row, column: index), type: dataType)
        } catch {
            throw decodingError(error, column: index, type: dataType, swiftType: T.self)
        }
    }

    /// Decodes the first columns positionally: `let (id, phone) = try row.decode((UUID, String).self)`.
    public func decode<each T: PostgresDecodable>(_ types: (repeat each T).Type) throws -> (repeat each T) {
        var index = 0
        func next<Value: PostgresDecodable>(_: Value.Type) throws -> Value {
            defer { index += 1 }
            return try decode(index, as: Value.self)
        }
        return (repeat try next((each T).self))
    }

    /// Decodes a `json` or `jsonb` column (or text holding JSON) with `JSONDecoder`.
    public func decodeJSON<T: Decodable>(_ column: String, as type: T.Type = T.self) throws -> T {
        let index = try index(of: column)
        let dataType = result.type(ofColumn: index)
        do {
            guard !result.isNull(row: row, column: index) else {
                throw PostgresDecodingFailure("the value is NULL; decode as an Optional")
            }
            let bytes = result.bytes(row: row, column: index)
            let data = Data(bytes: bytes.baseAddress!, count: bytes.count)
            return try JSONDecoder().decode(T.self, from: data)
        } catch {
            throw decodingError(error, column: index, type: dataType, swiftType: T.self)
        }
    }

    /// The raw JSON text of a `json`/`jsonb` column; `nil` for NULL.
    public func rawJSON(_ column: String) throws -> Data? {
        let index = try index(of: column)
        if result.isNull(row: row, column: index) { return nil }
        let bytes = result.bytes(row: row, column: index)
        return Data(bytes: bytes.baseAddress!, count: bytes.count)
    }

    /// Whether the named column is SQL NULL.
    public func isNull(_ column: String) throws -> Bool {
        result.isNull(row: row, column: try index(of: column))
    }

    private func index(of column: String) throws -> Int {
        guard let index = result.columns.firstIndex(of: column) else {
            throw PostgresError(code: .decodingFailed, safeReason: "the row has no column named \"\(column)\"")
        }
        return index
    }

    private func decodingError(_ error: any Error, column: Int, type: PostgresDataType, swiftType: Any.Type) -> PostgresError {
        let reason: String
        var underlying: String?
        switch error {
        case let failure as PostgresDecodingFailure:
            reason = failure.reason
        case let decoding as DecodingError:
            reason = "JSONDecoder failed (\(Self.summary(of: decoding)))"
            underlying = String(describing: decoding)
        default:
            reason = "the decoder threw \(Swift.type(of: error))"
            underlying = String(describing: error)
        }
        return PostgresError(
            code: .decodingFailed,
            underlyingMessage: underlying,
            safeReason: "cannot decode column \"\(result.columns[column])\" (index \(column)) of PostgreSQL type \(type) as \(swiftType): \(reason)"
        )
    }

    /// A data-free summary of a DecodingError: the kind and the coding path.
    private static func summary(of error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            context.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case .typeMismatch(let type, let context): return "type mismatch for \(type) at '\(path(context))'"
        case .valueNotFound(let type, let context): return "missing \(type) at '\(path(context))'"
        case .keyNotFound(let key, let context): return "missing key '\(key.stringValue)' at '\(path(context))'"
        case .dataCorrupted(let context): return "invalid JSON at '\(path(context))'"
        @unknown default: return "unknown decoding error"
        }
    }
}
