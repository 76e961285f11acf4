import Foundation
import Logging
import Phone
import Postgres
import SMS

/// CSV imports of contacts: the file is read as it arrives, each row checked, the good rows
/// streamed through `COPY` into a staging table and merged into `contacts` with one statement;
/// bad rows are reported with their line, field and reason while the good ones import.
public struct ImportService: Sendable {
    let store: ImportStore
    let pool: PostgresPool
    let logger: Logger

    /// Imports running at once in this process. Each holds a database connection for as long as
    /// its file takes to arrive, so a few slow uploads must not take the whole pool: more are
    /// refused (503 `server_busy` with `Retry-After`) rather than queued.
    let running: ConcurrencyLimiter

    public init(store: ImportStore, pool: PostgresPool, maximumConcurrent: Int = 2, logger: Logger) {
        self.store = store
        self.pool = pool
        self.running = ConcurrencyLimiter(maxRunning: maximumConcurrent, maxWaiting: 0)
        self.logger = logger
    }

    /// 1 GiB: about ten million rows of a typical contact file.
    public static let maximumBytes = 1 << 30

    public struct Options: Sendable {
        /// Reads national numbers of rows without a `country` cell.
        public var country: String?
        /// Added to every imported contact.
        public var tags: [String]
        /// Who imports (`user:…`, `api_key:…`, `cli`).
        public var actor: String?
        /// The largest file read; a larger one fails (`payload_too_large`) and imports nothing.
        public var maximumBytes: Int
        public init(country: String? = nil, tags: [String] = [], actor: String? = nil, maximumBytes: Int = ImportService.maximumBytes) {
            self.country = country; self.tags = tags; self.actor = actor; self.maximumBytes = maximumBytes
        }
    }

    /// How far an import has come, for progress bars.
    public struct Progress: Sendable {
        public var bytes: Int
        public var rows: Int
        public var rejected: Int
        /// The rows are all read and are being merged.
        public var merging: Bool
    }

    /// Imports a CSV read from `chunks`. The header is checked before anything is written: a file
    /// without one, or with a column that cannot be read, is refused (400, field `header`). After
    /// that the import has a record, completed or failed; a failure writes no contact, is recorded
    /// with its cause, and is rethrown.
    public func run<Chunks: AsyncSequence>(
        _ chunks: Chunks, options: Options, progress: @Sendable (Progress) -> Void = { _ in }
    ) async throws -> ContactImportRecord where Chunks.Element == [UInt8] {
        do {
            return try await running.run { try await importing(chunks, options: options, progress: progress) }
        } catch is ConcurrencyLimiter.Full {
            throw HeraldError(.serverBusy, "\(running.maxRunning) imports are running; try again when one has finished", retryAfter: 10)
        }
    }

    private func importing<Chunks: AsyncSequence>(
        _ chunks: Chunks, options: Options, progress: @Sendable (Progress) -> Void
    ) async throws -> ContactImportRecord where Chunks.Element == [UInt8] {
        var country: String?
        if let raw = options.country {
            country = raw.uppercased()
            guard PhoneNumberParser.isValidRegion(country!) else {
                throw HeraldError.validation("country", "must be an ISO 3166 alpha-2 country code")
            }
        }
        let extraTags = try ContactRules.tags(options.tags)

        // The header first: nothing is recorded for a file that cannot be read at all.
        var reader = CSVReader()
        var iterator = chunks.makeAsyncIterator()
        var pending: [CSVReader.Item] = []
        var ended = false
        func next() async throws -> [UInt8]? {
            guard let chunk = try await iterator.next() else { return nil }
            guard reader.bytesRead + chunk.count <= options.maximumBytes else {
                throw HeraldError(.payloadTooLarge, "the file is larger than \(options.maximumBytes / (1 << 20)) MiB; split it into several imports")
            }
            return chunk
        }
        while pending.isEmpty && !ended {
            if let chunk = try await next() { pending = reader.feed(chunk) } else { pending = reader.finish(); ended = true }
        }
        guard !pending.isEmpty else { throw HeraldError.validation("header", "the file is empty: send a header row and then one row per contact") }
        let columns: ContactImport.Columns
        switch pending.removeFirst() {
        case .problem(let problem): throw HeraldError.validation("header", "line \(problem.line): \(problem.message)")
        case .record(let header): columns = try ContactImport.columns(header.fields)
        }

        var record = try await store.create(country: country, tags: extraTags, actor: options.actor)
        let started = ContinuousClock.now
        var seen: [String: Int] = [:]
        var accepted = 0
        var memo = ContactImport.Memo()
        do {
            let (imported, updated) = try await pool.withTransaction { connection in
                try await ImportStore.createStaging(on: connection)
                _ = try await connection.copyFrom(ImportStore.copyStatement) { writer in
                    func take(_ items: [CSVReader.Item]) async throws {
                        for item in items {
                            record.totalRows += 1
                            let outcome: Result<ContactImport.Row, ContactImport.RowError>
                            switch item {
                            case .problem(let problem):
                                outcome = .failure(.init(line: problem.line, field: nil, message: problem.message))
                            case .record(let row):
                                outcome = ContactImport.row(row, columns: columns, defaultCountry: country, extraTags: extraTags, memo: &memo)
                            }
                            switch outcome {
                            case .success(let row):
                                if let first = seen[row.phone] {
                                    reject(.init(line: row.line, field: "phone", message: "repeats the number of line \(first)"))
                                } else {
                                    seen[row.phone] = row.line
                                    accepted += 1
                                    try await ImportStore.write(row, to: writer)
                                }
                            case .failure(let error):
                                reject(error)
                            }
                            if record.totalRows % 5_000 == 0 {
                                progress(Progress(bytes: reader.bytesRead, rows: record.totalRows, rejected: record.rejected, merging: false))
                            }
                        }
                    }
                    try await take(pending)
                    while !ended {
                        try Task.checkCancellation()
                        if let chunk = try await next() { try await take(reader.feed(chunk)) } else { ended = true }
                    }
                    try await take(reader.finish())
                }
                progress(Progress(bytes: reader.bytesRead, rows: record.totalRows, rejected: record.rejected, merging: true))
                return try await ImportStore.merge(importID: record.id, actor: options.actor, on: connection)
            }
            record.imported = imported
            record.updated = updated
            record.unchanged = accepted - imported - updated
            record.status = .completed
        } catch {
            record.status = .failed
            record.failure = Self.failure(error)
            record.imported = 0
            record.updated = 0
            record.unchanged = 0
            _ = try? await store.finish(record)
            logger.warning("contact import failed", metadata: ["import.id": "\(record.id)", "error": "\(error)"])
            throw error
        }
        let seconds = Double((ContinuousClock.now - started).components.attoseconds) / 1e18 + Double((ContinuousClock.now - started).components.seconds)
        logger.info("contacts imported", metadata: [
            "import.id": "\(record.id)", "import.rows": "\(record.totalRows)", "import.imported": "\(record.imported)",
            "import.updated": "\(record.updated)", "import.rejected": "\(record.rejected)",
            "import.rows_per_second": "\(seconds > 0 ? Int(Double(record.totalRows) / seconds) : 0)",
        ])
        return try await store.finish(record)

        func reject(_ error: ContactImport.RowError) {
            record.rejected += 1
            if record.errors.count < ContactImport.maximumReportedErrors { record.errors.append(error) }
        }
    }

    /// What a failed import says of its cause: never SQL, never row data.
    static func failure(_ error: any Error) -> String {
        switch error {
        case let error as HeraldError: error.message
        case is CancellationError: "the upload ended before the file was complete"
        case let error as PostgresError: "the database refused the import (SQLSTATE \(error.sqlState?.rawValue ?? "unknown"))"
        default: "the import stopped: \(type(of: error))"
        }
    }

    public func record(id: UUID) async throws -> ContactImportRecord {
        guard let record = try await store.record(id: id) else { throw HeraldError(.notFound, "no import with this id") }
        return record
    }

    public func records(limit: Int, cursor: ListCursor?) async throws -> Page<ContactImportRecord> {
        try await store.records(limit: limit, after: cursor)
    }
}
