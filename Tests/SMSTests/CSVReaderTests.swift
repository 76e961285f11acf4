import SMS
import Testing

@Suite("CSV reader: RFC 4180, line numbers, and recovery from broken records")
struct CSVReaderTests {
    static func read(_ text: String, chunk: Int = .max) -> [CSVReader.Item] {
        read(Array(text.utf8), chunk: chunk)
    }

    static func read(_ bytes: [UInt8], chunk: Int = .max) -> [CSVReader.Item] {
        var reader = CSVReader()
        var items: [CSVReader.Item] = []
        var offset = 0
        while offset < bytes.count {
            let next = min(bytes.count, offset + max(1, min(chunk, bytes.count)))
            items += reader.feed(bytes[offset..<next])
            offset = next
        }
        return items + reader.finish()
    }

    static func record(_ line: Int, _ fields: String...) -> CSVReader.Item { .record(.init(line: line, fields: fields)) }
    static func problem(_ line: Int, _ message: String) -> CSVReader.Item { .problem(.init(line: line, message: message)) }

    @Test("records with the line they start on; LF, CRLF and CR; a BOM; blank lines skipped; no final newline")
    func basics() {
        #expect(Self.read("phone,name\n+1415,Ada\r\n\n+1416,Bob\r+1417,\"Cy\"") == [
            Self.record(1, "phone", "name"), Self.record(2, "+1415", "Ada"), Self.record(4, "+1416", "Bob"), Self.record(5, "+1417", "Cy"),
        ])
        #expect(Self.read("\u{FEFF}a,b\n1,2\n") == [Self.record(1, "a", "b"), Self.record(2, "1", "2")])
        #expect(Self.read("a,b\n,\n , \n1,\n") == [Self.record(1, "a", "b"), Self.record(3, " ", " "), Self.record(4, "1", "")])
        #expect(Self.read("") == [])
        #expect(Self.read("\u{FEFF}") == [])
    }

    @Test("quoted fields hold commas, doubled quotes and line breaks; the next record's line counts them")
    func quoted() {
        let text = "a,b\n\"Smith, John\",\"He said \"\"hi\"\"\"\n\"two\nlines\",x\r\n\"\",\"\"\"\"\nlast,\"\"\n"
        #expect(Self.read(text) == [
            Self.record(1, "a", "b"), Self.record(2, "Smith, John", "He said \"hi\""), Self.record(3, "two\nlines", "x"),
            Self.record(5, "", "\""), Self.record(6, "last", ""),
        ])
    }

    @Test("broken records are reported with their line, and reading resumes on the next line")
    func problems() {
        #expect(Self.read("a,b\n1,x\"y\n2,ok\n") == [
            Self.record(1, "a", "b"),
            Self.problem(2, "a quote inside an unquoted field (quote the whole field and double the quote)"),
            Self.record(3, "2", "ok"),
        ])
        #expect(Self.read("a,b\n\"1\"x,2\n3,4") == [
            Self.record(1, "a", "b"), Self.problem(2, "text follows a closing quote"), Self.record(3, "3", "4"),
        ])
        // Never closed: the rest of the file would be one field; the lines after it are read instead.
        #expect(Self.read("a,b\n\"unclosed,1\n2,two\n3,three\n") == [
            Self.record(1, "a", "b"), Self.problem(2, "a quoted field is not closed"), Self.record(3, "2", "two"), Self.record(4, "3", "three"),
        ])
        #expect(Self.read("a\n" + String(repeating: "x,", count: 300) + "\nok\n") == [
            Self.record(1, "a"), Self.problem(2, "the record has more than 256 fields"), Self.record(3, "ok"),
        ])
        #expect(Self.read([0x61, 0x0A, 0xFF, 0xFE, 0x0A, 0x62, 0x0A]) == [
            Self.record(1, "a"), Self.problem(2, "the record is not valid UTF-8"), Self.record(3, "b"),
        ])
    }

    @Test("a 50,000-character cell is read; a record beyond 256 KiB is a problem and the next line is read", arguments: [1, 7, 4096, Int.max])
    func longRecords(chunk: Int) {
        let cell = String(repeating: "é", count: 50_000)
        #expect(Self.read("a,b\n1,\(cell)\n2,x\n", chunk: chunk == 1 ? 997 : chunk) == [
            Self.record(1, "a", "b"), Self.record(2, "1", cell), Self.record(3, "2", "x"),
        ])
        let huge = String(repeating: "y", count: 300_000)
        #expect(Self.read("a\n\(huge)\nnext\n", chunk: chunk == 1 ? 1_013 : chunk) == [
            Self.record(1, "a"), Self.problem(2, "the record is longer than 256 KiB"), Self.record(3, "next"),
        ])
        #expect(Self.read("a\n\"\(huge)\"\nnext\n", chunk: chunk == 1 ? 1_013 : chunk) == [
            Self.record(1, "a"), Self.problem(2, "the record is longer than 256 KiB"), Self.record(3, "next"),
        ])
    }

    /// Deterministic pseudo-random numbers for the property test.
    struct Generator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    }

    @Test("any split of the input into chunks reads the same records and problems as the whole")
    func chunkingInvariance() {
        let pieces = ["a", "b,", ",", "\"", "\"\"", "\n", "\r\n", "\r", "x\"y", "\"q,\nq\"", "é", "\u{FEFF}", " ", "12"]
        var generator = Generator(state: 42)
        for _ in 0..<400 {
            let text = (0..<generator.below(30)).map { _ in pieces[generator.below(pieces.count)] }.joined()
            let whole = Self.read(text)
            for chunk in [1, 2, 3, 5] {
                let same = Self.read(text, chunk: chunk) == whole
                #expect(same, "\(text.debugDescription) in chunks of \(chunk)")
            }
        }
    }

    @Test("written fields read back as written, whatever they hold")
    func roundTrip() {
        var generator = Generator(state: 7)
        let alphabet: [Character] = ["a", "Z", "0", ",", "\"", "\n", "\r", " ", "é", "😀", ";", "'"]
        for _ in 0..<300 {
            let rows = (0..<(1 + generator.below(4))).map { _ in
                (0..<(1 + generator.below(5))).map { _ in String((0..<generator.below(8)).map { _ in alphabet[generator.below(alphabet.count)] }) }
            }
            let text = rows.map { row in
                row.map { "\"" + $0.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }.joined(separator: ",")
            }.joined(separator: "\r\n")
            let read = Self.read(text, chunk: 1 + generator.below(9)).compactMap { item -> [String]? in
                if case .record(let record) = item { return record.fields }
                return nil
            }
            let expected = rows.filter { !$0.allSatisfy(\.isEmpty) }
            let same = read == expected
            #expect(same, "\(text.debugDescription)")
        }
    }
}
