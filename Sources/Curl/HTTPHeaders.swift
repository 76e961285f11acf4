/// An ordered list of HTTP header fields.
///
/// Order and duplicates are kept as sent or received; lookups by name ignore ASCII case.
public struct HTTPHeaders: Sendable, Hashable {
    public typealias Field = (name: String, value: String)

    private var storage: [HeaderField] = []

    public init() {}

    /// The number of fields, duplicates included.
    public var count: Int { storage.count }
    public var isEmpty: Bool { storage.isEmpty }

    /// Appends a field, keeping any field of the same name.
    public mutating func add(name: String, value: String) {
        storage.append(HeaderField(name: name, value: value))
    }

    /// Replaces every field named `name` by one field with `value`, at the position of the
    /// first one; appends it when there is none.
    public mutating func replaceOrAdd(name: String, value: String) {
        guard let first = storage.firstIndex(where: { $0.name.equalsIgnoringASCIICase(name) }) else {
            add(name: name, value: value)
            return
        }
        storage[first].value = value
        var index = storage.index(after: first)
        while index < storage.endIndex {
            if storage[index].name.equalsIgnoringASCIICase(name) {
                storage.remove(at: index)
            } else {
                index = storage.index(after: index)
            }
        }
    }

    /// Removes every field named `name`.
    public mutating func remove(name: String) {
        storage.removeAll { $0.name.equalsIgnoringASCIICase(name) }
    }

    /// The value of the first field named `name`.
    public subscript(_ name: String) -> String? {
        storage.first { $0.name.equalsIgnoringASCIICase(name) }?.value
    }

    /// The values of every field named `name`, in order.
    public func values(_ name: String) -> [String] {
        storage.lazy.filter { $0.name.equalsIgnoringASCIICase(name) }.map(\.value)
    }

    /// Whether some field is named `name`.
    public func contains(_ name: String) -> Bool {
        storage.contains { $0.name.equalsIgnoringASCIICase(name) }
    }

    /// Parses header lines as received (`Name: value` + CRLF each, status line excluded).
    /// Lines without a colon are dropped; a line starting with white space continues the
    /// previous value (obsolete line folding).
    init(headerBlock bytes: [UInt8]) {
        storage.reserveCapacity(8)
        bytes.withUnsafeBytes { block in
            var start = 0
            while start < block.count {
                var end = start
                while end < block.count, block[end] != UInt8(ascii: "\n") { end += 1 }
                let next = end + 1
                if end > start, block[end - 1] == UInt8(ascii: "\r") { end -= 1 }
                parseLine(UnsafeRawBufferPointer(rebasing: block[start..<end]))
                start = next
            }
        }
    }

    private mutating func parseLine(_ line: UnsafeRawBufferPointer) {
        guard let first = line.first else { return }
        if first == UInt8(ascii: " ") || first == UInt8(ascii: "\t") {
            guard !storage.isEmpty else { return }
            storage[storage.count - 1].value += " " + Self.trimmed(line[...])
            return
        }
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > 0 else { return }
        let name = String(decoding: UnsafeRawBufferPointer(rebasing: line[..<colon]), as: UTF8.self)
        storage.append(HeaderField(name: name, value: Self.trimmed(line[(colon + 1)...])))
    }

    private static func trimmed(_ bytes: Slice<UnsafeRawBufferPointer>) -> String {
        var bytes = bytes
        while let first = bytes.first, first == UInt8(ascii: " ") || first == UInt8(ascii: "\t") { bytes.removeFirst() }
        while let last = bytes.last, last == UInt8(ascii: " ") || last == UInt8(ascii: "\t") { bytes.removeLast() }
        return String(decoding: UnsafeRawBufferPointer(rebasing: bytes), as: UTF8.self)
    }
}

/// A stored field; a struct rather than a tuple so that `HTTPHeaders` can be `Hashable`.
private struct HeaderField: Sendable, Hashable {
    var name: String
    var value: String
}

extension HTTPHeaders: Sequence {
    public struct Iterator: IteratorProtocol {
        fileprivate var base: IndexingIterator<[HeaderField]>
        public mutating func next() -> Field? {
            base.next().map { (name: $0.name, value: $0.value) }
        }
    }

    public func makeIterator() -> Iterator {
        Iterator(base: storage.makeIterator())
    }

    public var underestimatedCount: Int { storage.count }
}

extension HTTPHeaders: ExpressibleByDictionaryLiteral {
    /// Fields in literal order; repeat a name by using `add(name:value:)` instead.
    public init(dictionaryLiteral elements: (String, String)...) {
        storage = elements.map { HeaderField(name: $0.0, value: $0.1) }
    }
}

extension HTTPHeaders: CustomStringConvertible {
    /// Field names only: values may hold credentials or tokens.
    public var description: String {
        "[" + storage.map(\.name).joined(separator: ", ") + "]"
    }
}

extension String {
    /// ASCII case-insensitive comparison, without allocating lowercased copies.
    func equalsIgnoringASCIICase(_ other: String) -> Bool {
        var lhs = utf8.makeIterator()
        var rhs = other.utf8.makeIterator()
        while true {
            switch (lhs.next(), rhs.next()) {
            case (nil, nil):
                return true
            case let (l?, r?):
                if l != r, l | 0x20 != r | 0x20 || !(0x61...0x7A).contains(l | 0x20) {
                    return false
                }
            default:
                return false
            }
        }
    }
}
