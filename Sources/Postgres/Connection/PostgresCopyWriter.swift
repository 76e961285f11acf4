/// Receives the data of a `COPY … FROM STDIN` in `PostgresConnection.copyFrom`.
///
/// Bytes are buffered and handed to the connection's thread in ~512 KiB chunks (`PQputCopyData`); one chunk is in
/// flight while the next one fills. Either write bytes in the COPY's format yourself (`write`), or build text-format
/// rows field by field (`appendField` … `endRow()`), which escapes and formats straight into the buffer.
public final class PostgresCopyWriter {
    @usableFromInline static let chunkSize = 512 * 1024
    @usableFromInline var buffer: [UInt8]
    @usableFromInline var fieldsInRow = 0
    private let worker: ConnectionWorker
    private var inFlight: CopyChunkTicket?

    init(worker: ConnectionWorker) {
        self.worker = worker
        self.buffer = []
        self.buffer.reserveCapacity(Self.chunkSize + 64 * 1024)
    }

    /// Appends bytes; sends a chunk when ~512 KiB are buffered.
    @inlinable
    nonisolated(nonsending)
    public func write(_ bytes: some Collection<UInt8>) async throws {
        if bytes.withContiguousStorageIfAvailable({ buffer.append(contentsOf: $0) }) == nil {
            buffer.append(contentsOf: bytes)
        }
        if buffer.count >= Self.chunkSize { try await flush() }
    }

    /// Appends a string's UTF-8 bytes; sends a chunk when ~512 KiB are buffered.
    @inlinable
    nonisolated(nonsending)
    public func write(_ string: String) async throws {
        var string = string
        string.withUTF8 { buffer.append(contentsOf: $0) }
        if buffer.count >= Self.chunkSize { try await flush() }
    }

    /// Sends what is buffered now (waiting for the previous chunk first). Two buffers take turns, so no chunk
    /// allocates.
    @usableFromInline
    nonisolated(nonsending)
    func flush() async throws {
        var spare: [UInt8] = []
        if let inFlight {
            self.inFlight = nil
            spare = try await inFlight.wait()
            spare.removeAll(keepingCapacity: true)
        } else {
            spare.reserveCapacity(Self.chunkSize + 64 * 1024)
        }
        guard !buffer.isEmpty else {
            buffer = spare
            return
        }
        let chunk = buffer
        buffer = spare
        let ticket = CopyChunkTicket()
        inFlight = ticket
        worker.submit(sequence: worker.reserveSequence()) { input in
            switch input {
            case .run(let context):
                do {
                    try context.putCopyData(chunk)
                    ticket.complete(.success(chunk))
                } catch {
                    ticket.complete(.failure(error))
                }
            case .rejected(let error):
                ticket.complete(.failure(error))
            }
        }
    }

    nonisolated(nonsending)
    func finish() async throws {
        try await flush()
        if let inFlight {
            self.inFlight = nil
            _ = try await inFlight.wait()
        }
    }

    nonisolated(nonsending)
    func abandon() async {
        if let inFlight {
            self.inFlight = nil
            _ = try? await inFlight.wait()
        }
        buffer = []
    }
}

extension PostgresCopyWriter {
    // MARK: Rows in COPY's text format, written straight into the buffer

    /// Appends a text field (escaped; `nil` is NULL) to the current row.
    @inlinable
    public func appendField(_ value: String?) {
        withBuffer { buffer in
            guard var value else {
                buffer.append(UInt8(ascii: "\\"))
                buffer.append(UInt8(ascii: "N"))
                return
            }
            value.withUTF8 { bytes in
                var start = 0
                for index in 0..<bytes.count {
                    let escaped: UInt8
                    switch bytes[index] {
                    case UInt8(ascii: "\\"): escaped = UInt8(ascii: "\\")
                    case UInt8(ascii: "\t"): escaped = UInt8(ascii: "t")
                    case UInt8(ascii: "\n"): escaped = UInt8(ascii: "n")
                    case UInt8(ascii: "\r"): escaped = UInt8(ascii: "r")
                    default: continue
                    }
                    buffer.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<index]))
                    buffer.append(UInt8(ascii: "\\"))
                    buffer.append(escaped)
                    start = index + 1
                }
                buffer.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start...]))
            }
        }
    }

    /// Appends an integer field to the current row.
    @inlinable
    public func appendField(_ value: Int) {
        withBuffer { buffer in
            if value < 0 { buffer.append(UInt8(ascii: "-")) }
            var magnitude = value.magnitude
            let start = buffer.count
            repeat {
                buffer.append(UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: magnitude % 10))
                magnitude /= 10
            } while magnitude > 0
            buffer[start...].reverse()
        }
    }

    /// Appends a field already in COPY text format (not escaped), e.g. a JSON document without tabs or newlines.
    @inlinable
    public func appendRawField(_ value: String) {
        withBuffer { buffer in
            var value = value
            value.withUTF8 { buffer.append(contentsOf: $0) }
        }
    }

    /// Ends the current row; sends a chunk when ~512 KiB are buffered.
    @inlinable
    nonisolated(nonsending)
    public func endRow() async throws {
        buffer.append(UInt8(ascii: "\n"))
        fieldsInRow = 0
        if buffer.count >= Self.chunkSize { try await flush() }
    }

    /// Starts a field and hands `body` the buffer moved out of `self`, so the appends inside pay for one exclusive
    /// access of the stored property instead of one each.
    @inlinable
    func withBuffer(_ body: (inout [UInt8]) -> Void) {
        var local: [UInt8] = []
        swap(&local, &buffer)
        if fieldsInRow > 0 { local.append(UInt8(ascii: "\t")) }
        fieldsInRow += 1
        body(&local)
        swap(&local, &buffer)
    }

    /// Escapes one field for COPY's text format (`\\`, `\t`, `\n`, `\r` escaped; `nil` is `\N`) and appends it to
    /// `line`. Join fields with a tab and end the row with a newline.
    public static func appendTextField(_ field: String?, to line: inout String) {
        guard let field else {
            line += "\\N"
            return
        }
        if !field.utf8.contains(where: { $0 == 0x5C || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }) {
            line += field
            return
        }
        for scalar in field.unicodeScalars {
            switch scalar {
            case "\\": line += "\\\\"
            case "\t": line += "\\t"
            case "\n": line += "\\n"
            case "\r": line += "\\r"
            default: line.unicodeScalars.append(scalar)
            }
        }
    }
}

/// The outcome of one chunk sent to the connection's thread (which hands the buffer back for reuse), awaited before
/// the next one is sent.
final class CopyChunkTicket: Sendable {
    typealias Outcome = Result<[UInt8], any Error>

    private enum State {
        case pending(UnsafeContinuation<[UInt8], any Error>?)
        case done(Outcome)
    }

    private let state = LockedState(State.pending(nil))

    func complete(_ result: Outcome) {
        let waiter: UnsafeContinuation<[UInt8], any Error>? = state.withLock { state in
            guard case .pending(let waiter) = state else { return nil }
            state = waiter == nil ? .done(result) : .done(.success([]))
            return waiter
        }
        waiter?.resume(with: result)
    }

    func wait() async throws -> [UInt8] {
        try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<[UInt8], any Error>) in
            let result: Outcome? = state.withLock { state in
                switch state {
                case .done(let result):
                    state = .done(.success([]))  // drop our reference so the caller's buffer stays unique
                    return result
                case .pending:
                    state = .pending(continuation)
                    return nil
                }
            }
            if let result { continuation.resume(with: result) }
        }
    }
}
