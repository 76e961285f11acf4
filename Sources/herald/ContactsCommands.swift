import ArgumentParser
import Foundation
import Herald

struct Contacts: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "contacts", abstract: "Manage contacts.", subcommands: [Import.self])

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import contacts from a CSV file, with a progress bar.",
            discussion: """
                The file needs a header row with a phone column; first_name, last_name, locale, timezone, \
                country and tags (;-separated) are known, every other column becomes an attribute. New numbers \
                become subscribed contacts; existing contacts take the file's non-empty cells and are never \
                resubscribed. Bad rows are listed with their line and reason; the good rows still import.
                """)

        @Argument(help: "The CSV file.") var file: String
        @Option(help: "ISO country code for numbers written without +country code.") var country: String?
        @Option(name: .customLong("tag"), help: "A tag for every imported contact (repeatable).") var tags: [String] = []

        func run() async throws {
            let environment = try CommandEnvironment()
            guard let handle = FileHandle(forReadingAtPath: file) else { throw ValidationError("cannot read \(file)") }
            let size = (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? 0
            let bar = ProgressBar(total: size)
            let record = try await environment.withHerald { core in
                try await core.imports.run(FileChunks(handle: handle), options: .init(country: country, tags: tags, actor: "cli")) {
                    bar.update($0)
                }
            }
            bar.finish()
            say("Import \(record.id.uuidString.lowercased()): \(ProgressLine.grouped(record.totalRows)) rows — "
                + "\(ProgressLine.grouped(record.imported)) new, \(ProgressLine.grouped(record.updated)) updated, "
                + "\(ProgressLine.grouped(record.unchanged)) unchanged, \(ProgressLine.grouped(record.rejected)) rejected.")
            for error in record.errors.prefix(20) {
                say("  line \(error.line)\(error.field.map { " (\($0))" } ?? ""): \(error.message)")
            }
            if record.rejected > 20 { say("  … and \(ProgressLine.grouped(record.rejected - 20)) more (GET /v1/imports/\(record.id.uuidString.lowercased()))") }
        }
    }
}

/// A file read in 1 MiB chunks.
struct FileChunks: AsyncSequence, Sendable {
    typealias Element = [UInt8]
    let handle: FileHandle

    struct AsyncIterator: AsyncIteratorProtocol {
        let handle: FileHandle
        mutating func next() async throws -> [UInt8]? {
            guard let data = try handle.read(upToCount: 1 << 20), !data.isEmpty else { return nil }
            return Array(data)
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(handle: handle) }
}

/// The import's progress on standard error: redrawn in place on a terminal, a line every few
/// seconds otherwise (logs, CI).
final class ProgressBar: @unchecked Sendable {
    private let total: Int
    private let started = Date()
    private let lock = NSLock()
    private var lastPrinted = Date.distantPast
    private let terminal = isatty(STDERR_FILENO) == 1

    init(total: Int) { self.total = total }

    func update(_ progress: ImportService.Progress) {
        lock.withLock {
            let now = Date()
            guard now.timeIntervalSince(lastPrinted) >= (terminal ? 0.1 : 2) || progress.merging else { return }
            lastPrinted = now
            var line = ProgressLine.render(done: progress.bytes, total: total, rows: progress.rows, elapsed: now.timeIntervalSince(started))
            if progress.merging { line += "  merging…" }
            write(terminal ? "\r\u{1B}[K" + line : line + "\n")
        }
    }

    func finish() {
        if terminal { write("\n") }
    }

    private func write(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }
}
