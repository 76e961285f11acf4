/// A streaming CSV reader (RFC 4180) that survives hostile files: fed bytes in chunks of any
/// size, it hands back each record with the line it starts on, and each broken record as a
/// problem with its line — then carries on with the next line, so the good rows of a damaged
/// file are still read.
///
/// - Fields are separated by `,`; a field may be quoted with `"`, inside which `""` is a quote
///   and line breaks are part of the field. Lines end with `\n`, `\r\n` or `\r`.
/// - A byte-order mark at the start is skipped. Blank lines (and lines of empty fields) are skipped.
/// - Problems: a quote inside an unquoted field, text after a closing quote, a quoted field that is
///   never closed, a record longer than ``maximumRecordBytes``, more than ``maximumFields`` fields,
///   bytes that are not UTF-8. After a problem, reading resumes on the line after the one the broken
///   record started on.
public struct CSVReader: Sendable {
    public struct Record: Sendable, Equatable {
        /// The line the record starts on (the first line of the input is 1).
        public var line: Int
        public var fields: [String]
        public init(line: Int, fields: [String]) { self.line = line; self.fields = fields }
    }

    public struct Problem: Sendable, Equatable, Error {
        public var line: Int
        public var message: String
        public init(line: Int, message: String) { self.line = line; self.message = message }
    }

    public enum Item: Sendable, Equatable {
        case record(Record)
        case problem(Problem)
    }

    public static let maximumRecordBytes = 256 * 1024
    public static let maximumFields = 256

    private var buffer: [UInt8] = []
    /// The line of `buffer[0]`.
    private var line = 1
    private var started = false
    /// Discarding the rest of an over-long line: nothing is read until its end.
    private var skippingLine = false
    /// Bytes read so far.
    public private(set) var bytesRead = 0
    /// After an incomplete record, it is parsed again only once the buffer has doubled (or grown
    /// by 4 KiB): a long record arriving in small chunks is then scanned O(n) times in all, not O(n²).
    private var parseAgainAt = 0

    public init() {}

    /// Reads `bytes`; returns the records and problems they completed.
    public mutating func feed(_ bytes: some Collection<UInt8>) -> [Item] {
        bytesRead += bytes.count
        buffer.append(contentsOf: bytes)
        guard buffer.count >= parseAgainAt else { return [] }
        return drain(final: false)
    }

    /// The end of the input: returns what the last bytes held.
    public mutating func finish() -> [Item] {
        drain(final: true)
    }

    private enum Step {
        case record([String], consumed: Int, lines: Int)
        case blank(consumed: Int, lines: Int)
        case problem(String, resumeAt: Int?, lines: Int)
        case needMore
    }

    private mutating func drain(final: Bool) -> [Item] {
        var items: [Item] = []
        var offset = 0
        if !started {
            if buffer.count < 3 && !final { return items }
            started = true
            if buffer.starts(with: [0xEF, 0xBB, 0xBF]) { offset = 3 }
        }
        while offset < buffer.count {
            if skippingLine {
                guard let end = Self.lineEnd(buffer, from: offset, final: final) else {
                    // A final \r may be the first half of \r\n: keep it.
                    offset = buffer.last == UInt8(ascii: "\r") && !final ? buffer.count - 1 : buffer.count
                    break
                }
                offset = end.next
                line += 1
                skippingLine = false
                continue
            }
            let step = buffer.withUnsafeBufferPointer { Self.parse($0, from: offset, final: final) }
            switch step {
            case .needMore:
                buffer.removeFirst(offset)
                parseAgainAt = max(buffer.count * 2, buffer.count + 4096)
                return items
            case .blank(let consumed, let lines):
                offset += consumed
                line += lines
            case .record(let fields, let consumed, let lines):
                items.append(.record(Record(line: line, fields: fields)))
                offset += consumed
                line += lines
            case .problem(let message, let resumeAt, let lines):
                items.append(.problem(Problem(line: line, message: message)))
                if let resumeAt {
                    offset = resumeAt
                    line += lines
                } else {
                    // The record's first line has not ended yet: drop it as it arrives.
                    offset = buffer.count
                    skippingLine = !final
                    if !final { break }
                }
            }
        }
        buffer.removeFirst(offset)
        parseAgainAt = 0
        return items
    }

    /// The end of the line that contains `start`: where its terminator starts, and where the next line does.
    /// Nil when it has not been read yet (a \r last of all before more input may still be \r\n).
    static func lineEnd<Bytes: RandomAccessCollection<UInt8>>(_ bytes: Bytes, from start: Int, final: Bool) -> (terminator: Int, next: Int)?
    where Bytes.Index == Int {
        var index = start
        let end = bytes.endIndex
        while index < end {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\n") { return (index, index + 1) }
            if byte == UInt8(ascii: "\r") {
                if index + 1 == end && !final { return nil }
                return (index, index + 1 < end && bytes[index + 1] == UInt8(ascii: "\n") ? index + 2 : index + 1)
            }
            index += 1
        }
        return nil
    }

    /// Parses one record at `start`.
    private static func parse(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int, final: Bool) -> Step {
        let quote = UInt8(ascii: "\""), comma = UInt8(ascii: ","), lf = UInt8(ascii: "\n"), cr = UInt8(ascii: "\r")
        let end = bytes.count
        var fields: [String] = []
        var lines = 0
        var index = start
        var allEmpty = true

        /// A problem: resume on the line after the record's first line.
        func problem(_ message: String) -> Step {
            guard let next = lineEnd(bytes, from: start, final: final) else {
                // Wait for the line to end, unless it is already too long to keep.
                if !final && end - start <= maximumRecordBytes { return .needMore }
                return .problem(message, resumeAt: nil, lines: 0)
            }
            return .problem(message, resumeAt: next.next, lines: 1)
        }
        func tooLong() -> Step {
            problem("the record is longer than \(maximumRecordBytes / 1024) KiB")
        }
        func field(_ raw: UnsafeBufferPointer<UInt8>.SubSequence) -> String? {
            if !raw.isEmpty { allEmpty = false }
            return String(validating: raw, as: UTF8.self)
        }

        while true {
            if fields.count >= maximumFields { return problem("the record has more than \(maximumFields) fields") }
            if index - start > maximumRecordBytes { return tooLong() }
            if index < end && bytes[index] == quote {
                // Quoted: up to the closing quote; "" is a quote; line breaks belong to the field.
                var value: [UInt8] = []
                var cursor = index + 1
                var closed = false
                while cursor < end {
                    let byte = bytes[cursor]
                    if byte == quote {
                        if cursor + 1 < end && bytes[cursor + 1] == quote {
                            value.append(quote)
                            cursor += 2
                            continue
                        }
                        if cursor + 1 == end && !final { break }  // "" split across chunks: wait
                        closed = true
                        cursor += 1
                        break
                    }
                    if byte == lf || (byte == cr && !(cursor + 1 < end && bytes[cursor + 1] == lf)) { lines += 1 }
                    value.append(byte)
                    cursor += 1
                    if cursor - start > maximumRecordBytes { return tooLong() }
                }
                guard closed else {
                    if !final { return .needMore }
                    return problem("a quoted field is not closed")
                }
                guard let text = value.withUnsafeBufferPointer({ field($0[...]) }) else { return problem("the record is not valid UTF-8") }
                if !value.isEmpty { allEmpty = false }
                fields.append(text)
                index = cursor
                if index == end {
                    if !final { return .needMore }
                    break
                }
                let next = bytes[index]
                if next == comma { index += 1; continue }
                if next == lf || next == cr { break }
                return problem("text follows a closing quote")
            }
            // Unquoted: up to a comma or the end of the line.
            var cursor = index
            while cursor < end {
                let byte = bytes[cursor]
                if byte == comma || byte == lf || byte == cr { break }
                if byte == quote { return problem("a quote inside an unquoted field (quote the whole field and double the quote)") }
                cursor += 1
            }
            if cursor - start > maximumRecordBytes { return tooLong() }
            if cursor == end && !final {
                return cursor - start > maximumRecordBytes ? tooLong() : .needMore
            }
            guard let text = field(bytes[index..<cursor]) else { return problem("the record is not valid UTF-8") }
            fields.append(text)
            index = cursor
            if index < end && bytes[index] == comma {
                index += 1
                if index == end && final { fields.append(""); break }
                continue
            }
            break
        }
        // At a line end (or the end of the input).
        if index < end {
            if bytes[index] == cr {
                if index + 1 == end && !final { return .needMore }  // \r\n split across chunks
                index += (index + 1 < end && bytes[index + 1] == lf) ? 2 : 1
            } else {
                index += 1
            }
            lines += 1
        }
        if allEmpty { return .blank(consumed: index - start, lines: lines) }
        return .record(fields, consumed: index - start, lines: lines)
    }
}
