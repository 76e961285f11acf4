import Foundation
import Logging

/// An in-memory log handler for one test: `let capture = TestLogCapture(); let logger = capture.logger()`.
/// Lets a test assert what was (or was never) logged without bootstrapping the global logging system.
public final class TestLogCapture: Sendable {
    public struct Entry: Sendable {
        public let level: Logger.Level
        public let message: String
        public let metadata: [String: String]

        /// The message and metadata as one string, for "never contains" checks.
        public var rendered: String {
            ([message] + metadata.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }).joined(separator: " ")
        }
    }

    private final class Storage: @unchecked Sendable {
        // @unchecked Sendable: `entries` is only touched while `lock` is held.
        let lock = NSLock()
        var entries: [Entry] = []
    }

    private let storage = Storage()

    public init() {}

    public func logger(label: String = "test", level: Logger.Level = .trace) -> Logger {
        var logger = Logger(label: label, factory: { _ in Handler(storage: self.storage) })
        logger.logLevel = level
        return logger
    }

    public var entries: [Entry] {
        storage.lock.lock()
        defer { storage.lock.unlock() }
        return storage.entries
    }

    private struct Handler: LogHandler {
        let storage: Storage
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            var merged = metadata
            for (key, value) in event.metadata ?? [:] { merged[key] = value }
            let entry = Entry(
                level: event.level,
                message: event.message.description,
                metadata: merged.mapValues { "\($0)" }
            )
            storage.lock.lock()
            storage.entries.append(entry)
            storage.lock.unlock()
        }
    }
}
