import SMS
import Crypto
import Foundation
import _CryptoExtras

/// Vonage (formerly Nexmo) SMS API and Voice API.
///
/// - SMS: `POST {base_url}/sms/json`, form-encoded `api_key`, `api_secret`, `from`, `to` (digits,
///   no `+`), `text`, `type=unicode` for UCS-2 text, `callback`, `client-ref` = Herald's message id
///   (https://developer.vonage.com/en/api/sms#send-an-sms). Vonage answers HTTP 200 even when it
///   refuses: each part has its own `status` ("0" is success), see
///   https://developer.vonage.com/en/messaging/sms/guides/troubleshooting-sms.
/// - Voice: `POST {voice_base_url}/v1/calls` with an NCCO `talk` action, authenticated by an RS256
///   JWT signed with the application's private key (https://developer.vonage.com/en/api/voice#createCall,
///   https://developer.vonage.com/en/getting-started/concepts/authentication#json-web-tokens).
/// - Webhooks: delivery receipts and inbound SMS as GET query, POST form or POST JSON, signed with
///   `sig` when the account signs messages (https://developer.vonage.com/en/getting-started/concepts/signing-messages);
///   Voice events carry an HS256 JWT in `Authorization: Bearer`
///   (https://developer.vonage.com/en/getting-started/concepts/webhooks#validating-signed-webhooks).
///   With a signature secret configured, receipts and inbound messages are read only from what
///   the signature covers, never from the (unsigned) query of a POST callback URL.
///
/// A long SMS is split into parts and each part gets its own `message-id` and its own receipt;
/// Herald keeps the first part's id, so receipts for later parts do not match a message.
public struct VonageAdapter: ProviderAdapter {
    public let type = ProviderType.vonage
    public var webhookAuthentication: WebhookAuthentication { signatureSecret == nil ? .urlToken : .signature }

    let apiKey: String
    let apiSecret: String
    let from: String?
    let baseURL: String
    let voiceBaseURL: String
    let signatureSecret: String?
    let signatureMethod: VonageSignature.Method
    let voice: (applicationID: String, privateKey: _RSA.Signing.PrivateKey)?
    let clock: @Sendable () -> Date

    /// Signed `sig` webhooks and webhook JWTs older or newer than this are refused.
    public static let replayWindow: TimeInterval = 300

    public init(config: ProviderConfig) throws(ProviderConfigError) {
        try self.init(config: config, clock: { Date() })
    }

    /// `clock` dates the voice JWTs (tests pin it).
    public init(config: ProviderConfig, clock: @escaping @Sendable () -> Date) throws(ProviderConfigError) {
        apiKey = try config.require("api_key")
        apiSecret = try config.require("api_secret")
        from = config["from"]
        baseURL = try config.url("base_url", default: "https://rest.nexmo.com")
        voiceBaseURL = try config.url("voice_base_url", default: "https://api.nexmo.com")
        signatureSecret = config["signature_secret"]
        if let method = config["signature_method"] {
            guard let parsed = VonageSignature.Method(rawValue: method.lowercased()) else {
                throw ProviderConfigError(key: "signature_method", message: "must be one of md5hash, md5, sha1, sha256, sha512")
            }
            signatureMethod = parsed
        } else {
            signatureMethod = .md5hash
        }
        switch (config["application_id"], config["private_key"]) {
        case (nil, nil):
            voice = nil
        case (.some, nil):
            throw ProviderConfigError(key: "private_key", message: "is required with config.application_id (voice)")
        case (nil, .some):
            throw ProviderConfigError(key: "application_id", message: "is required with config.private_key (voice)")
        case let (.some(applicationID), .some(pem)):
            // A key pasted into JSON sometimes keeps its line breaks as the two characters `\n`.
            let text = pem.contains("\n") ? pem : pem.replacingOccurrences(of: "\\n", with: "\n")
            guard let key = try? _RSA.Signing.PrivateKey(pemRepresentation: text) else {
                throw ProviderConfigError(key: "private_key", message: "must be an RSA private key in PEM (2048 bits or more)")
            }
            voice = (applicationID, key)
        }
        self.clock = clock
    }

    // MARK: Submitting

    public func smsRequest(_ message: OutgoingMessage) throws(ProviderFailure) -> WireRequest {
        guard let sender = message.from ?? from else {
            throw ProviderFailure(.account, code: "missing_from", message: "config.from is required to send SMS with Vonage")
        }
        var form: [(String, String)] = [
            ("api_key", apiKey), ("api_secret", apiSecret),
            ("from", AdapterSupport.withoutPlus(sender)), ("to", AdapterSupport.withoutPlus(message.to)),
            ("text", message.text),
        ]
        if message.unicode { form.append(("type", "unicode")) }
        form.append(("callback", message.statusCallbackURL))
        form.append(("client-ref", message.id.uuidString.lowercased()))
        return WireRequest(method: "POST", url: baseURL + "/sms/json", headers: [
            WireHeader("Content-Type", "application/x-www-form-urlencoded"),
            WireHeader("Accept", "application/json"),
        ], body: Array(FormEncoding.encode(form).utf8))
    }

    public func voiceRequest(_ message: OutgoingMessage) throws(ProviderFailure) -> WireRequest {
        guard let voice else {
            throw ProviderFailure(.rejected, code: "unsupported_channel",
                                  message: "voice needs config.application_id and config.private_key")
        }
        var talk: [String: Any] = ["action": "talk", "text": message.text]
        if let language = AdapterSupport.languageRegion(message.locale) { talk["language"] = language }
        var body: [String: Any] = [
            "to": [["type": "phone", "number": AdapterSupport.withoutPlus(message.to)]],
            "ncco": [talk],
            "event_url": [message.statusCallbackURL],
            "event_method": "POST",
        ]
        if let sender = message.from ?? from {
            body["from"] = ["type": "phone", "number": AdapterSupport.withoutPlus(sender)]
        } else {
            body["random_from_number"] = true
        }
        let issued = Int(clock().timeIntervalSince1970)
        let claims: [String: Any] = [
            "application_id": voice.applicationID, "iat": issued, "exp": issued + 300,
            "jti": UUID().uuidString.lowercased(),
        ]
        let token: String
        do { token = try JWT.rs256(claims: claims, privateKey: voice.privateKey) } catch {
            throw ProviderFailure(.account, code: "jwt_signing_failed", message: "could not sign the Vonage voice JWT")
        }
        return WireRequest(method: "POST", url: voiceBaseURL + "/v1/calls", headers: [
            WireHeader("Authorization", "Bearer " + token),
            WireHeader("Content-Type", "application/json"),
            WireHeader("Accept", "application/json"),
        ], body: AdapterSupport.jsonBody(body))
    }

    // MARK: Answers

    public func interpret(_ response: WireResponse, channel: OutgoingMessage.Channel) -> SubmitOutcome {
        let object = AdapterSupport.jsonObject(response.body)
        guard (200...299).contains(response.status) else { return problem(response, object) }
        switch channel {
        case .voice:
            guard let uuid = AdapterSupport.string(object?["uuid"]), !uuid.isEmpty else {
                return AdapterSupport.unreadable(response, expected: "uuid")
            }
            return .accepted(providerMessageID: uuid)
        case .sms:
            guard let parts = object?["messages"] as? [[String: Any]], let first = parts.first else {
                return AdapterSupport.unreadable(response, expected: "messages")
            }
            if let refused = parts.first(where: { AdapterSupport.string($0["status"]) != "0" }) {
                let status = AdapterSupport.string(refused["status"]) ?? "?"
                let text = AdapterSupport.trimmed(AdapterSupport.string(refused["error-text"]) ?? "status \(status)")
                return AdapterSupport.failed(ProviderFailure(Self.category(smsStatus: status), code: status, message: text), response)
            }
            guard let id = AdapterSupport.string(first["message-id"]), !id.isEmpty else {
                return AdapterSupport.unreadable(response, expected: "message-id")
            }
            return .accepted(providerMessageID: id)
        }
    }

    /// SMS API `status` values (https://developer.vonage.com/en/api-errors/sms).
    static func category(smsStatus: String) -> ProviderFailure.Category {
        switch smsStatus {
        case "1", "10": .throttled                 // Throttled; Too Many Existing Binds
        case "5": .unavailable                     // Internal Error
        case "6", "33": .invalidNumber             // Invalid Message (unrecognised prefix); Number De-activated
        case "7": .blocked                         // Number Barred
        // Invalid Credentials, Partner Account Barred, Partner Quota Violation, Account Not Enabled
        // For HTTP, Invalid Signature, Invalid Sender Address, Non-Whitelisted Destination,
        // Signature And API Secret Disallowed.
        case "4", "8", "9", "11", "14", "15", "29", "32": .account
        default: .rejected                         // 2 Missing, 3 Invalid Parameters, 12 Too Long, 22, 23 …
        }
    }

    /// Non-2xx answers: RFC 7807 problems (`type` ends in `#code`) or the older `error_title` form
    /// (https://developer.vonage.com/en/api-errors).
    private func problem(_ response: WireResponse, _ object: [String: Any]?) -> SubmitOutcome {
        let type = AdapterSupport.string(object?["type"])
        let code = type.flatMap { $0.split(separator: "#").last.map(String.init) }
            ?? AdapterSupport.string(object?["code"]) ?? String(response.status)
        let text = AdapterSupport.string(object?["detail"]) ?? AdapterSupport.string(object?["title"])
            ?? AdapterSupport.string(object?["error_title"]) ?? "HTTP \(response.status)"
        let category: ProviderFailure.Category = switch code {
        case "low-balance", "unauthorized", "forbidden": .account
        case "throttled": .throttled
        default: AdapterSupport.category(forHTTPStatus: response.status)
        }
        return AdapterSupport.failed(ProviderFailure(category, code: code, message: AdapterSupport.trimmed(text)), response)
    }

    // MARK: Webhooks

    public func verifySignature(_ request: WebhookRequest, now: Date) -> Bool {
        guard let secret = signatureSecret else { return false }
        if let authorization = request.header("authorization") {
            let parts = authorization.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, parts[0].lowercased() == "bearer" else { return false }
            return verifyJWT(String(parts[1]), body: request.body, secret: secret, now: now)
        }
        // The signed set is what Vonage sent: the query of a GET (so a GET callback URL must carry
        // no query of its own), the form or JSON body of a POST.
        guard let parameters = try? AdapterSupport.sentParameters(of: request),
              let timestamp = parameters.value("timestamp").flatMap({ Double($0) }),
              abs(now.timeIntervalSince1970 - timestamp) <= Self.replayWindow
        else { return false }
        return VonageSignature.isValid(parameters: parameters, secret: secret, method: signatureMethod)
    }

    /// An HS256 webhook JWT: signature with the signature secret, `iat` within the replay window,
    /// `exp` not passed, and `payload_hash` (hex SHA-256 of the body) present and matching. The
    /// token signs nothing of the request but that hash, so a token without one would let a
    /// captured token carry any body for as long as it lives.
    private func verifyJWT(_ token: String, body: [UInt8], secret: String, now: Date) -> Bool {
        guard let claims = JWT.verifiedHS256Claims(token, secret: secret) else { return false }
        let seconds = now.timeIntervalSince1970
        let issued = AdapterSupport.string(claims["iat"]).flatMap(Double.init)
        let expires = AdapterSupport.string(claims["exp"]).flatMap(Double.init)
        guard issued != nil || expires != nil else { return false }
        if let issued, abs(seconds - issued) > Self.replayWindow { return false }
        if let expires, seconds > expires { return false }
        guard let expected = AdapterSupport.string(claims["payload_hash"])?.lowercased() else { return false }
        return ConstantTime.equals(Array(AdapterSupport.hex(SHA256.hash(data: body)).utf8), Array(expected.utf8))
    }

    /// The parameters receipts and inbound messages are read from: with a signature secret, only
    /// what `verifySignature` checked — the body a webhook JWT's `payload_hash` binds, or the set
    /// the `sig` covers (the query of a GET, the body of a POST). Anything else the request carries,
    /// above all the query of a POST, is not Vonage's word: read, it would let one captured signed
    /// webhook be replayed within the replay window with another `msisdn`, `text`, `messageId` or
    /// `status` in its URL. Without a secret the URL token vouches for the whole request.
    private func signedParameters(of request: WebhookRequest) throws(WebhookError) -> [(String, String)] {
        guard signatureSecret != nil else { return try AdapterSupport.parameters(of: request) }
        if request.header("authorization") != nil { return try AdapterSupport.bodyParameters(of: request) }
        return try AdapterSupport.sentParameters(of: request)
    }

    /// SMS delivery receipts (`messageId`, `status`, `err-code`,
    /// https://developer.vonage.com/en/messaging/sms/guides/delivery-receipts) and Voice call events
    /// (JSON `uuid`, `status`, https://developer.vonage.com/en/voice/voice-api/webhook-reference#event-webhook).
    public func receipts(_ request: WebhookRequest) throws(WebhookError) -> [DeliveryReceipt] {
        let parameters = try signedParameters(of: request)
        if let id = parameters.value("messageId"), let status = parameters.value("status") {
            guard !id.isEmpty else { throw WebhookError("the Vonage receipt has an empty messageId") }
            let errorCode = parameters.value("err-code").flatMap { $0.isEmpty || $0 == "0" ? nil : $0 }
            return [DeliveryReceipt(providerMessageID: id, status: Self.receiptStatus(status), providerStatus: status,
                                    errorCode: errorCode,
                                    occurredAt: parameters.value("message-timestamp").flatMap(Self.timestamp))]
        }
        if let uuid = parameters.value("uuid"), let status = parameters.value("status") {
            guard !uuid.isEmpty else { throw WebhookError("the Vonage call event has an empty uuid") }
            return [DeliveryReceipt(providerMessageID: uuid, status: Self.callStatus(status), providerStatus: status,
                                    occurredAt: parameters.value("timestamp").flatMap(Self.isoTimestamp))]
        }
        throw WebhookError("not a Vonage receipt: messageId/status or uuid/status missing")
    }

    /// DLR `status` words; unknown ones change nothing.
    static func receiptStatus(_ status: String) -> ReceiptStatus {
        switch status.lowercased() {
        case "delivered": .delivered
        case "accepted": .sent
        case "expired", "failed": .undelivered
        case "rejected": .failed
        default: .pending   // buffered, unknown
        }
    }

    static func callStatus(_ status: String) -> ReceiptStatus {
        switch status.lowercased() {
        case "completed": .delivered
        case "busy", "cancelled", "rejected", "timeout", "unanswered": .undelivered
        case "failed": .failed
        default: .pending   // started, ringing, answered, human, machine …
        }
    }

    /// `message-timestamp`: `yyyy-MM-dd HH:mm:ss` in UTC.
    static func timestamp(_ text: String) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        return formatter.date(from: text)
    }

    static func isoTimestamp(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text) ?? ISO8601DateFormatter().date(from: text)
    }

    /// Inbound SMS: `msisdn` (sender, digits without `+`), `to`, `text`, `messageId`
    /// (https://developer.vonage.com/en/messaging/sms/guides/inbound-sms).
    public func inbound(_ request: WebhookRequest) throws(WebhookError) -> InboundMessage {
        let parameters = try signedParameters(of: request)
        guard let msisdn = parameters.value("msisdn"), !msisdn.isEmpty,
              let to = parameters.value("to"), !to.isEmpty else {
            throw WebhookError("not a Vonage inbound message: msisdn/to missing")
        }
        return InboundMessage(providerMessageID: parameters.value("messageId"),
                              from: AdapterSupport.withPlus(msisdn), to: AdapterSupport.withPlus(to),
                              text: parameters.value("text") ?? "")
    }
}
