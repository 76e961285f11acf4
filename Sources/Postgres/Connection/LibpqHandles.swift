import CLibPQ

/// Owns one `PGconn*`; `PQfinish` in `deinit`.
///
/// Not `Sendable`: it lives on its connection's thread (`ConnectionWorker`) and never leaves it.
final class PGConnectionHandle {
    private(set) var pointer: OpaquePointer?

    init(_ pointer: OpaquePointer) {
        self.pointer = pointer
    }

    /// Closes the connection now (idempotent).
    func finish() {
        if let pointer {
            PQfinish(pointer)
            self.pointer = nil
        }
    }

    deinit {
        finish()
    }
}

/// Owns one `PGcancel*` (from `PQgetCancel`); `PQfreeCancel` in `deinit`.
final class PGCancelHandle {
    let pointer: OpaquePointer

    init?(connection: OpaquePointer) {
        guard let pointer = PQgetCancel(connection) else { return nil }
        self.pointer = pointer
    }

    /// Asks the server to cancel the running statement (a blocking call; only ever made on the connection's thread).
    /// Returns libpq's error text when the request could not be sent.
    @discardableResult
    func cancel() -> String? {
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: 256) { buffer in
            if PQcancel(pointer, buffer.baseAddress, 256) == 1 { return nil }
            return String(cString: buffer.baseAddress!)
        }
    }

    deinit {
        PQfreeCancel(pointer)
    }
}

/// Owns one `PGresult*`; `PQclear` in `deinit`. Shared by `PostgresRows` and its `PostgresRow`s.
final class PostgresResult: @unchecked Sendable {
    // @unchecked Sendable: a PGresult is never modified after libpq hands it over, and libpq documents that a
    // PGresult can be read from any thread (it holds no reference to its connection).
    let pointer: OpaquePointer
    let columns: [String]
    let rowCount: Int

    init(_ pointer: OpaquePointer) {
        self.pointer = pointer
        let columnCount = Int(PQnfields(pointer))
        var columns: [String] = []
        columns.reserveCapacity(columnCount)
        for column in 0..<columnCount {
            columns.append(String(cString: PQfname(pointer, Int32(column))))
        }
        self.columns = columns
        self.rowCount = Int(PQntuples(pointer))
    }

    deinit {
        PQclear(pointer)
    }

    var affectedRows: Int {
        guard let text = PQcmdTuples(pointer), text.pointee != 0 else { return 0 }
        return Int(String(cString: text)) ?? 0
    }

    var commandStatus: String {
        guard let text = PQcmdStatus(pointer) else { return "" }
        return String(cString: text)
    }

    func type(ofColumn column: Int) -> PostgresDataType {
        PostgresDataType(PQftype(pointer, Int32(column)))
    }

    func isNull(row: Int, column: Int) -> Bool {
        PQgetisnull(pointer, Int32(row), Int32(column)) == 1
    }

    /// The value's bytes (text format), valid as long as this result lives.
    func bytes(row: Int, column: Int) -> UnsafeRawBufferPointer {
        let length = Int(PQgetlength(pointer, Int32(row), Int32(column)))
        let value = PQgetvalue(pointer, Int32(row), Int32(column))
        return UnsafeRawBufferPointer(start: value.map { UnsafeRawPointer($0) }, count: length)
    }
}
