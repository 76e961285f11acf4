import Foundation
import Postgres
import PostgresTestSupport
import Testing

private struct ProducerFailed: Error {}

@Suite("COPY FROM STDIN")
struct CopyTests {
    @Test("good rows are copied and counted, across many chunks")
    func goodRows() async throws {
        try await withTestConnection { connection in
            try await connection.query("CREATE TABLE contacts (id int8 PRIMARY KEY, phone text NOT NULL, attributes jsonb)")
            let rowCount = 60_000
            let copied = try await connection.copyFrom("COPY contacts (id, phone, attributes) FROM STDIN") { writer in
                for id in 1...rowCount {
                    try await writer.write("\(id)\t+1555\(String(id).padding(toLength: 7, withPad: "0", startingAt: 0))\t{\"n\": \(id)}\n")
                }
            }
            #expect(copied == rowCount)
            let rows = try await connection.query("SELECT count(*) AS n, sum((attributes->>'n')::int8) AS total FROM contacts")
            #expect(try rows[0].decode("n", as: Int.self) == rowCount)
            #expect(try rows[0].decode("total", as: Int.self) == rowCount * (rowCount + 1) / 2)
        }
    }

    @Test("text fields are escaped so tabs, newlines, backslashes and NULL survive")
    func escaping() async throws {
        try await withTestConnection { connection in
            try await connection.query("CREATE TABLE notes (id int, body text)")
            let bodies: [String?] = ["tab\there", "new\nline", "back\\slash", nil, "\\N literally", "ünï 🎉", ""]
            let copied = try await connection.copyFrom("COPY notes (id, body) FROM STDIN") { writer in
                for (index, body) in bodies.enumerated() {
                    var line = "\(index)\t"
                    PostgresCopyWriter.appendTextField(body, to: &line)
                    line += "\n"
                    try await writer.write(Array(line.utf8))
                }
            }
            #expect(copied == bodies.count)
            let rows = try await connection.query("SELECT body FROM notes ORDER BY id")
            #expect(try rows.map { try $0.decode("body", as: String?.self) } == bodies)
        }
    }

    @Test("a malformed row fails with the server's SQLSTATE, inserts nothing, and the connection stays usable")
    func malformedRows() async throws {
        try await withTestConnection { connection in
            try await connection.query("CREATE TABLE numbers (id int4 NOT NULL, label text)")
            let badInteger = await expectPostgresError {
                try await connection.copyFrom("COPY numbers (id, label) FROM STDIN") { writer in
                    try await writer.write("1\tone\n")
                    try await writer.write("two\tsecret-value-123\n")
                    try await writer.write("3\tthree\n")
                }
            }
            #expect(badInteger?.code == .server)
            #expect(badInteger?.sqlState == .invalidTextRepresentation)
            #expect(badInteger?.description.contains("secret-value-123") == false)

            let missingColumn = await expectPostgresError {
                try await connection.copyFrom("COPY numbers (id, label) FROM STDIN") { writer in
                    try await writer.write("1\n")
                }
            }
            #expect(missingColumn?.sqlState == .badCopyFileFormat)

            let count = try await connection.query("SELECT count(*) AS n FROM numbers")[0].decode("n", as: Int.self)
            #expect(count == 0)
            #expect(!connection.isClosed)
        }
    }

    @Test("a malformed row deep in a large COPY is still reported and the connection recovers")
    func malformedLate() async throws {
        try await withTestConnection { connection in
            try await connection.query("CREATE TABLE numbers (id int4 NOT NULL)")
            let error = await expectPostgresError {
                try await connection.copyFrom("COPY numbers FROM STDIN") { writer in
                    for id in 0..<200_000 { try await writer.write(id == 150_000 ? "oops\n" : "\(id)\n") }
                }
            }
            #expect(error?.sqlState == .invalidTextRepresentation)
            let copied = try await connection.copyFrom("COPY numbers FROM STDIN") { writer in
                try await writer.write("1\n2\n")
            }
            #expect(copied == 2)
        }
    }

    @Test("when the producer throws, the COPY is aborted and its error rethrown")
    func producerThrows() async throws {
        try await withTestConnection { connection in
            try await connection.query("CREATE TABLE numbers (id int4)")
            await #expect(throws: ProducerFailed.self) {
                _ = try await connection.copyFrom("COPY numbers FROM STDIN") { writer in
                    try await writer.write("1\n2\n")
                    throw ProducerFailed()
                }
            }
            let count = try await connection.query("SELECT count(*) AS n FROM numbers")[0].decode("n", as: Int.self)
            #expect(count == 0)
        }
    }

    @Test("a statement that is not COPY FROM STDIN, or a missing table, fails cleanly")
    func notACopy() async throws {
        try await withTestConnection { connection in
            let notCopy = await expectPostgresError {
                try await connection.copyFrom("SELECT 1") { _ in }
            }
            #expect(notCopy?.code == .copyFailed)
            let missing = await expectPostgresError {
                try await connection.copyFrom("COPY missing_table FROM STDIN") { _ in }
            }
            #expect(missing?.sqlState == .undefinedTable)
            let plainCopy = await expectPostgresError {
                try await connection.query("COPY (SELECT 1) TO STDOUT")
            }
            #expect(plainCopy?.code == .copyFailed)
            let rows = try await connection.query("SELECT 1 AS one")
            #expect(rows.count == 1)
        }
    }
}
