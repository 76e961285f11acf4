import Crypto
import Foundation
import SMS

/// The codes themselves: drawn from the system CSPRNG, kept only as an HMAC.
///
/// The MAC is HMAC-SHA256 under a key derived from the server secret, over the verification
/// id, the code and — for payments — the canonical amount, currency and payee. A database dump
/// therefore holds nothing from which a code can be recovered or tried offline without the
/// server secret, a code cannot be replayed on another verification, and a payment code is
/// worthless for any other amount or payee.
struct VerificationCodes: Sendable {
    private let keyBytes: [UInt8]

    init(secret: ServerSecret) {
        keyBytes = secret.derivedKey(purpose: "herald.verification-codes.v1").withUnsafeBytes { Array($0) }
    }

    /// `length` decimal digits, each uniform (Swift's `random(in:)` rejects biased draws),
    /// from `SystemRandomNumberGenerator` (getrandom(2) on Linux).
    static func generate(length: Int) -> String {
        precondition((4...10).contains(length))
        var generator = SystemRandomNumberGenerator()
        return String((0..<length).map { _ in Character(String(UInt8.random(in: 0...9, using: &generator))) })
    }

    func mac(id: UUID, code: String, payment: PaymentDetails?) -> [UInt8] {
        var message = Array("herald-verification-v1".utf8)
        func field(_ text: String) {
            // Length-prefixed, so no choice of values can make two different tuples collide.
            let bytes = Array(text.utf8)
            withUnsafeBytes(of: UInt32(bytes.count).bigEndian) { message.append(contentsOf: $0) }
            message.append(contentsOf: bytes)
        }
        field(id.uuidString.lowercased())
        field(code)
        if let payment {
            field(PaymentRules.canonicalAmount(payment.amount) ?? payment.amount)
            field(payment.currency)
            field(payment.payee)
        }
        return Array(HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: keyBytes)))
    }

    /// The Twilio-Verify-compatible service SID of a purpose: `VA` + 32 hex digits, stable for
    /// a server secret (apps configure it once), meaningless without it.
    func serviceSID(_ purpose: VerificationPurpose) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Array("verify-service\u{1F}\(purpose.rawValue)".utf8),
                                                  using: SymmetricKey(data: keyBytes))
        return "VA" + mac.prefix(16).map { String(format: "%02x", $0) }.joined()
    }

    /// Whether `code` (with `payment`) is the one `stored` was made from, in constant time.
    func matches(_ stored: [UInt8], id: UUID, code: String, payment: PaymentDetails?) -> Bool {
        ConstantTime.equals(stored, mac(id: id, code: code, payment: payment))
    }
}

/// Validation of what a check or a create may carry.
enum VerificationInput {
    /// A code as a user typed it: 4–10 ASCII digits (spaces and dashes people add are removed).
    static func code(_ raw: String?) throws(HeraldError) -> String {
        guard let raw else { throw .validation("code", "is required") }
        guard raw.utf8.count <= 40 else { throw .validation("code", "must be 4–10 digits") }
        let digits = raw.filter { $0 != " " && $0 != "-" }
        guard (4...10).contains(digits.count), digits.allSatisfy({ $0.isASCII && $0.isNumber }) else {
            throw .validation("code", "must be 4–10 digits")
        }
        return digits
    }

    static func purpose(_ raw: String?, field: String = "purpose") throws(HeraldError) -> VerificationPurpose {
        guard let raw else { throw .validation(field, "is required") }
        guard let purpose = VerificationPurpose(rawValue: raw) else {
            throw .validation(field, "must be one of \(VerificationPurpose.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return purpose
    }
}

/// The payment object of a payment code.
enum PaymentRules {
    /// `12.50` → `12.5`, `007` → `7`: one form per amount, so `12.50` and `12.5` are the same
    /// payment. Nil when `amount` is not a positive decimal of at most 15 + 4 digits.
    static func canonicalAmount(_ amount: String) -> String? {
        let parts = amount.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), let whole = parts.first, !whole.isEmpty, whole.count <= 15,
              whole.allSatisfy({ $0.isASCII && $0.isNumber })
        else { return nil }
        var fraction = parts.count == 2 ? Substring(parts[1]) : ""
        if parts.count == 2 {
            guard (1...4).contains(fraction.count), fraction.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        }
        while fraction.last == "0" { fraction = fraction.dropLast() }
        let integer = whole.drop(while: { $0 == "0" })
        let canonical = (integer.isEmpty ? "0" : String(integer)) + (fraction.isEmpty ? "" : "." + fraction)
        guard canonical != "0" else { return nil }
        return canonical
    }

    static func validate(_ input: PaymentInput, field: String = "payment") throws(HeraldError) -> PaymentDetails {
        guard let amount = input.amount else { throw .validation("\(field).amount", "is required") }
        guard canonicalAmount(amount) != nil else {
            throw .validation("\(field).amount", "must be a positive decimal amount like 12.50 (a string, at most 4 decimals)")
        }
        guard let currency = input.currency else { throw .validation("\(field).currency", "is required") }
        guard currency.count == 3, currency.allSatisfy({ $0.isASCII && $0.isLetter }) else {
            throw .validation("\(field).currency", "must be an ISO 4217 currency code like EUR")
        }
        guard let rawPayee = input.payee else { throw .validation("\(field).payee", "is required") }
        // One form per payee: NFC, trimmed, no control or marker characters.
        let payee = CodeText.stripMarkers(rawPayee).precomposedStringWithCanonicalMapping.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...60).contains(payee.count), !payee.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw .validation("\(field).payee", "must be 1–60 characters without control characters")
        }
        return PaymentDetails(amount: amount, currency: currency.uppercased(), payee: payee)
    }
}

/// The timing rules of sends.
enum ResendPolicy {
    /// How long after send number `sendCount` (1 = the first) the next may go: the base
    /// cooldown doubling per send — 30 s, 60 s, 120 s … — capped at a day.
    static func cooldown(afterSend sendCount: Int, base: Int) -> TimeInterval {
        let doublings = min(max(0, sendCount - 1), 20)
        return min(TimeInterval(base) * pow(2, Double(doublings)), 86_400)
    }
}

/// Numbers grouped the way SMS pumping fraud uses them: a block of consecutive numbers on
/// one range. The prefix is the number without its last four digits.
enum NumberPrefix {
    static func of(_ e164: String) -> String {
        String(e164.dropLast(min(4, max(0, e164.count - 4))))
    }
}

/// The fraud guard's decision for one prefix over the last hour: many codes sent while
/// almost none is approved is what SMS pumping (toll fraud) looks like.
struct FraudGuard: Sendable, Equatable {
    /// Sends in the window before the guard judges at all.
    var minimumSends = 20
    /// Approved / created at or below this (percent) with that many sends → block.
    var maximumConversionPercent = 10
    /// How long a block lasts.
    var blockMinutes = 60

    /// Whether a prefix with `created` verifications and `approved` of them in the last hour
    /// is to be blocked.
    func shouldBlock(created: Int, approved: Int) -> Bool {
        guard created >= minimumSends else { return false }
        return approved * 100 <= created * maximumConversionPercent
    }
}

/// Seals the code of a code message for the dispatcher (AES-GCM under a key derived from the
/// server secret; the message id is the associated data, so a sealed code cannot be moved to
/// another message). Opened once, at submission; cleared when the submission is settled.
struct CodeSeal: Sendable {
    private let keyBytes: [UInt8]

    init(secret: ServerSecret) {
        keyBytes = secret.derivedKey(purpose: "herald.code-messages.v1").withUnsafeBytes { Array($0) }
    }

    func seal(_ code: String, messageID: UUID) throws -> [UInt8] {
        let box = try AES.GCM.seal(Array(code.utf8), using: SymmetricKey(data: keyBytes),
                                   authenticating: Array(messageID.uuidString.lowercased().utf8))
        guard let combined = box.combined else { throw HeraldError(.validationFailed, "could not seal the code") }
        return Array(combined)
    }

    /// The code, or nil when the seal does not open (the server secret changed).
    func open(_ sealed: [UInt8], messageID: UUID) -> String? {
        guard let box = try? AES.GCM.SealedBox(combined: sealed),
              let plain = try? AES.GCM.open(box, using: SymmetricKey(data: keyBytes),
                                            authenticating: Array(messageID.uuidString.lowercased().utf8))
        else { return nil }
        return String(decoding: plain, as: UTF8.self)
    }
}
