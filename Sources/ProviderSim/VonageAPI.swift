import Foundation
import NIOCore
import Providers
import SMS

/// Vonage's SMS API (`POST /sms/json`): form or JSON body, credentials in the body (or a
/// signed request), HTTP 200 with a per-part `status` whether it worked or not.
enum VonageAPI {
    static let pricePerPart = "0.00500000"
    static let remainingBalance = "10.00000000"
    static let network = "23410"

    /// `{"message-count":"1","messages":[{"status":…,"error-text":…}]}`.
    static func error(_ status: Int, _ text: String) -> String {
        var out = "{\"message-count\":\"1\",\"messages\":[{\"status\":\"\(status)\",\"error-text\":"
        JSONText.appendString(text, to: &out)
        out += "}]}"
        return out
    }

    static let errorBody = ByteBuffer(string: error(5, "Internal Error"))
    static let throttleBody = ByteBuffer(string: error(1, "Throughput Rate Exceeded - please wait [ 1000 ] and retry"))
    static let hangTimeoutBody = ByteBuffer(string: error(5, "Internal Error: timed out"))

    /// The body's parameters: a JSON object (strings, numbers, booleans) when the content type
    /// says JSON, else a form.
    static func parameters(body: ByteBuffer, contentType: String?) -> FormFields? {
        if let contentType, contentType.lowercased().contains("json") {
            guard let object = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any] else {
                return nil
            }
            return FormFields(object.map { name, value in
                switch value {
                case let text as String: (name, text)
                case let number as NSNumber: (name, number.stringValue)
                default: (name, "\(value)")
                }
            })
        }
        return body.withUnsafeReadableBytes { FormFields(bytes: $0) }
    }

    /// Parts of a message as Vonage bills it: `type=unicode` is always UCS-2; otherwise the text
    /// decides, as `MessageText` measures it.
    static func parts(text: String, unicode: Bool) -> Int {
        guard unicode else { return max(1, MessageText(text).segments) }
        let units = text.utf16.count
        return units <= MessageText.ucs2Single ? 1 : (units + MessageText.ucs2Part - 1) / MessageText.ucs2Part
    }

    static func verdict(_ form: FormFields?, state: SimulatorState, options: SimulatorOptions) -> Verdict {
        func refuse(_ status: Int, _ text: String, unauthorized: Bool = false) -> Verdict {
            .refused(Refusal(status: 200, body: error(status, text), unauthorized: unauthorized))
        }
        guard let form else { return refuse(3, "Invalid JSON body") }
        guard let apiKey = form.nonEmpty("api_key") else { return refuse(2, "Missing api_key") }
        if form.nonEmpty("sig") != nil {
            guard VonageSignature.isValid(parameters: form.pairs.map { ($0.name, $0.value) },
                                          secret: options.signatureSecret, method: options.signatureMethod)
            else { return refuse(14, "Invalid Signature", unauthorized: true) }
        } else {
            guard let secret = form.nonEmpty("api_secret") else { return refuse(2, "Missing api_secret") }
            guard secret == options.vonageAPISecret else { return refuse(4, "Bad Credentials", unauthorized: true) }
        }
        guard let from = form.nonEmpty("from") else { return refuse(2, "Missing from param") }
        guard let rawTo = form.nonEmpty("to") else { return refuse(2, "Missing to param") }
        let type = form.nonEmpty("type") ?? "text"
        guard type == "text" || type == "unicode" else { return refuse(3, "Invalid type param") }
        guard let text = form.nonEmpty("text") else { return refuse(2, "Missing text param") }
        let digits = rawTo.hasPrefix("+") ? String(rawTo.dropFirst()) : rawTo
        guard isE164("+" + digits) else { return refuse(3, "Invalid to param") }
        let callback = form.nonEmpty("callback")
        if let callback, !isHTTPURL(callback) { return refuse(3, "Invalid callback param") }
        let clientRef = form.nonEmpty("client-ref")
        let to = "+" + digits
        let parts = parts(text: text, unicode: type == "unicode")

        return .valid(Submission(
            key: SimulatorState.key(to: to, body: text), ids: parts,
            message: { sequence, undelivered in
                SimulatedMessage(id: state.vonageID(sequence), api: .vonage, to: to, from: from, body: text, kind: .sms,
                                 receivedAt: WallTime.now().epoch, segments: parts,
                                 receipt: undelivered ? "undelivered" : "delivered")
            },
            accept: { acceptance, faults in
                let ids = (0..<UInt64(parts)).map { state.vonageID(acceptance.sequence + $0) }
                var out = "{\"message-count\":\"\(parts)\",\"messages\":["
                for (index, id) in ids.enumerated() {
                    if index > 0 { out += "," }
                    out += "{\"to\":"; JSONText.appendString(digits, to: &out)
                    out += ",\"message-id\":\"" + id + "\",\"status\":\"0\",\"remaining-balance\":\"" + remainingBalance
                    out += "\",\"message-price\":\"" + pricePerPart + "\",\"network\":\"" + network + "\""
                    if let clientRef { JSONText.appendMember("client-ref", clientRef, to: &out) }
                    out += "}"
                }
                out += "]}"
                let receipt = (faults.receipts ? callback : nil).map {
                    ReceiptJob(due: .now + .milliseconds(faults.receiptDelayMs), url: $0,
                               payload: .vonage(messageIDs: ids, apiKey: apiKey, from: from, msisdn: digits, clientRef: clientRef),
                               undelivered: acceptance.undelivered, intermediate: faults.sentReceipts)
                }
                return (200, out, receipt)
            },
            errorBody: errorBody, throttleBody: throttleBody, hangTimeoutBody: hangTimeoutBody))
    }
}
