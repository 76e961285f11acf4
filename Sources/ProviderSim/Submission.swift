import NIOCore

/// A provider endpoint's verdict on a request, before the fault dice are rolled.
enum Verdict {
    /// Refused as the provider would refuse it; never reaches the dice.
    case refused(Refusal)
    /// Authenticated and valid: what to store and answer if the dice accept it.
    case valid(Submission)
}

struct Refusal {
    var status: Int
    var body: String
    /// Counted as `unauthorized` rather than `invalid`.
    var unauthorized: Bool
}

/// A valid request, with everything needed to answer each outcome.
struct Submission {
    /// Hash of (to, body): duplicates and early retries are counted by it.
    var key: Int
    /// Ids the request needs if accepted (Vonage: one per part).
    var ids: Int
    /// The stored form, from the first sequence number and whether it will be undelivered.
    var message: (UInt64, Bool) -> SimulatedMessage
    /// The success answer and the receipt to post, if there is a callback.
    var accept: (Acceptance, FaultSettings) -> (status: Int, body: String, receipt: ReceiptJob?)
    var errorBody: ByteBuffer
    var throttleBody: ByteBuffer
    var hangTimeoutBody: ByteBuffer
}

/// Strict E.164: `+`, a non-zero digit, at most 15 digits in all.
func isE164(_ number: String) -> Bool {
    let bytes = number.utf8
    guard bytes.count >= 3, bytes.count <= 16, bytes.first == UInt8(ascii: "+") else { return false }
    var index = bytes.index(after: bytes.startIndex)
    guard bytes[index] != UInt8(ascii: "0") else { return false }
    while index < bytes.endIndex {
        guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) else { return false }
        index = bytes.index(after: index)
    }
    return true
}

func isHTTPURL(_ url: String) -> Bool {
    (url.hasPrefix("http://") && url.utf8.count > 7) || (url.hasPrefix("https://") && url.utf8.count > 8)
}
