import SMS
import Foundation

/// Twilio Programmable Messaging and Voice.
///
/// - SMS: `POST {base_url}/2010-04-01/Accounts/{AccountSid}/Messages.json`, form-encoded `To`,
///   `From` or `MessagingServiceSid`, `Body`, `StatusCallback`; HTTP basic auth `AccountSid:AuthToken`
///   (https://www.twilio.com/docs/messaging/api/message-resource#create-a-message-resource).
/// - Voice: `POST …/Calls.json` with `To`, `From`, `Twiml` (`<Response><Say>`), `StatusCallback`
///   (https://www.twilio.com/docs/voice/api/call-resource#create-a-call-resource).
/// - Answers: the created resource's `sid`; errors are `{"code","message","more_info","status"}`
///   (https://www.twilio.com/docs/usage/twilios-response#response-formats-exceptions).
/// - Webhooks: form posts signed with `X-Twilio-Signature` (https://www.twilio.com/docs/usage/webhooks/webhooks-security).
public struct TwilioAdapter: ProviderAdapter {
    public let type = ProviderType.twilio
    public let webhookAuthentication = WebhookAuthentication.signature

    let accountSID: String
    let authToken: String
    let from: String?
    let messagingServiceSID: String?
    let baseURL: String
    /// Computed once: every request carries it.
    let authorization: String
    let messagesURL: String

    public init(config: ProviderConfig) throws(ProviderConfigError) {
        accountSID = try config.require("account_sid")
        authToken = try config.require("auth_token")
        from = config["from"]
        messagingServiceSID = config["messaging_service_sid"]
        guard from != nil || messagingServiceSID != nil else {
            throw ProviderConfigError(key: "from", message: "is required unless config.messaging_service_sid is set")
        }
        baseURL = try config.url("base_url", default: "https://api.twilio.com")
        authorization = AdapterSupport.basicAuthorization(user: accountSID, password: authToken)
        messagesURL = baseURL + "/2010-04-01/Accounts/" + FormEncoding.percentEncode(accountSID, spaceAsPlus: false) + "/Messages.json"
    }

    private var accountURL: String {
        baseURL + "/2010-04-01/Accounts/" + FormEncoding.percentEncode(accountSID, spaceAsPlus: false)
    }

    private func post(_ url: String, _ form: [(String, String)]) -> WireRequest {
        WireRequest(method: "POST", url: url, headers: [
            WireHeader("Authorization", authorization),
            WireHeader("Content-Type", "application/x-www-form-urlencoded"),
            WireHeader("Accept", "application/json"),
        ], body: Array(FormEncoding.encode(form).utf8))
    }

    public func smsRequest(_ message: OutgoingMessage) throws(ProviderFailure) -> WireRequest {
        var form: [(String, String)] = [("To", message.to)]
        if let sender = message.from ?? from {
            form.append(("From", sender))
        } else if let messagingServiceSID {
            form.append(("MessagingServiceSid", messagingServiceSID))
        }
        form.append(("Body", message.text))
        form.append(("StatusCallback", message.statusCallbackURL))
        return post(messagesURL, form)
    }

    public func voiceRequest(_ message: OutgoingMessage) throws(ProviderFailure) -> WireRequest {
        guard let sender = message.from ?? from else {
            throw ProviderFailure(.rejected, code: "unsupported_channel",
                                  message: "voice calls need config.from (a Messaging Service cannot place calls)")
        }
        return post(accountURL + "/Calls.json", [
            ("To", message.to), ("From", sender),
            ("Twiml", Self.twiml(text: message.text, locale: message.locale)),
            ("StatusCallback", message.statusCallbackURL),
        ])
    }

    /// `<Response><Say language="…">text</Say></Response>`; `language` only when Twilio's `<Say>`
    /// supports the locale (https://www.twilio.com/docs/voice/twiml/say#attributes-language).
    public static func twiml(text: String, locale: String?) -> String {
        let language = AdapterSupport.supportedLanguage(locale, in: sayLanguages)
        let attribute = language.map { " language=\"\($0)\"" } ?? ""
        return "<Response><Say\(attribute)>\(AdapterSupport.xmlEscaped(text))</Say></Response>"
    }

    /// The locales `<Say>` speaks with its standard voices (TwiML `<Say>` language table).
    static let sayLanguages = [
        "en-US", "en-GB", "en-AU", "en-CA", "en-IN", "da-DK", "de-DE", "ca-ES", "es-ES", "es-MX", "fi-FI",
        "fr-FR", "fr-CA", "it-IT", "ja-JP", "ko-KR", "nb-NO", "nl-NL", "pl-PL", "pt-BR", "pt-PT",
        "ru-RU", "sv-SE", "zh-CN", "zh-HK", "zh-TW",
    ]

    public func interpret(_ response: WireResponse, channel: OutgoingMessage.Channel) -> SubmitOutcome {
        // The hot path: an accepted message. Its top-level "sid" is read without building the
        // whole object; anything unusual goes through the full parser below.
        if (200...299).contains(response.status), let sid = AdapterSupport.topLevelString("sid", in: response.body) {
            return .accepted(providerMessageID: sid)
        }
        let object = AdapterSupport.jsonObject(response.body)
        if (200...299).contains(response.status) {
            guard let sid = AdapterSupport.string(object?["sid"]), !sid.isEmpty else {
                return AdapterSupport.unreadable(response, expected: "sid")
            }
            return .accepted(providerMessageID: sid)
        }
        let code = AdapterSupport.string(object?["code"]) ?? String(response.status)
        let message = AdapterSupport.trimmed(AdapterSupport.string(object?["message"]) ?? "HTTP \(response.status)")
        let category = Self.category(code: code) ?? AdapterSupport.category(forHTTPStatus: response.status)
        return AdapterSupport.failed(ProviderFailure(category, code: code, message: message), response)
    }

    /// Twilio's error codes (https://www.twilio.com/docs/api/errors) that say more than the HTTP status.
    static func category(code: String) -> ProviderFailure.Category? {
        switch code {
        // Invalid 'To' (21211), not reachable (21214, 21612), invalid number (21217, 21401, 21421),
        // number type cannot receive SMS (21407), not a mobile number (21614), landline (21635),
        // unknown handset (30005), landline or unreachable carrier (30006), calls: 13223, 13224.
        case "21211", "21214", "21217", "21401", "21407", "21421", "21612", "21614", "21635",
             "30005", "30006", "13223", "13224":
            .invalidNumber
        case "21610": // Attempt to send to unsubscribed recipient
            .unsubscribed
        case "30004", "30007", "21216": // message blocked, carrier filtering, call blocked
            .blocked
        // Authentication (20003), account not active (20005), not found (20404: wrong account sid),
        // unverified trial numbers (21210, 21219, 21608), geo permissions (21215, 21408), bad sender
        // (21212, 21213, 21601, 21603, 21606, 21659, 21660), messaging service without numbers
        // (21703, 21704, 21705), account suspended (30002).
        case "20003", "20005", "20404", "21210", "21212", "21213", "21215", "21219", "21408", "21601",
             "21603", "21606", "21608", "21659", "21660", "21703", "21704", "21705", "30002":
            .account
        case "20429", "21611", "30001": // too many requests, queue full, queue overflow
            .throttled
        case "20500", "20503": // internal error, service unavailable
            .unavailable
        default:
            nil
        }
    }

    public func verifySignature(_ request: WebhookRequest, now: Date) -> Bool {
        guard let signature = request.header("x-twilio-signature"), !signature.isEmpty,
              let query = try? AdapterSupport.queryParameters(of: request.url) else { return false }
        // The URL as received first; its port variants (URL parsing, far dearer than the HMAC)
        // only when that fails.
        func signed(_ parameters: [(String, String)]) -> Bool {
            TwilioSignature.isValid(signature, url: request.url, parameters: parameters, authToken: authToken)
                || TwilioSignature.urlVariants(request.url).dropFirst().contains {
                    TwilioSignature.isValid(signature, url: $0, parameters: parameters, authToken: authToken)
                }
        }
        if let bodyHash = query.value("bodySHA256") {
            // JSON bodies: the URL alone is signed, the body is bound by its hash.
            let actual = TwilioSignature.bodyHash(request.body)
            guard ConstantTime.equals(Array(actual.utf8), Array(bodyHash.lowercased().utf8)) else { return false }
            return signed([])
        }
        guard let form = try? AdapterSupport.formParameters(of: request) else { return false }
        return signed(form)
    }

    /// What `verifySignature` checked: the query (Twilio signs the whole URL) and the body — read
    /// as a form, the way the signature covers it, whatever the unsigned `Content-Type` says, or,
    /// when the URL carries `bodySHA256`, as the JSON (or form) body that hash binds.
    private static func signedParameters(of request: WebhookRequest) throws(WebhookError) -> [(String, String)] {
        let query = try AdapterSupport.queryParameters(of: request.url)
        if query.value("bodySHA256") != nil { return query + (try AdapterSupport.bodyParameters(of: request)) }
        return query + (try AdapterSupport.formParameters(of: request))
    }

    /// Message status callbacks (`MessageSid`, `MessageStatus`, `ErrorCode`,
    /// https://www.twilio.com/docs/messaging/guides/track-outbound-message-status) and call status
    /// callbacks (`CallSid`, `CallStatus`, https://www.twilio.com/docs/voice/api/call-resource#statuscallback).
    public func receipts(_ request: WebhookRequest) throws(WebhookError) -> [DeliveryReceipt] {
        let form = try Self.signedParameters(of: request)
        let errorCode = form.value("ErrorCode").flatMap { $0.isEmpty ? nil : $0 }
        let errorMessage = form.value("ErrorMessage").flatMap { $0.isEmpty ? nil : AdapterSupport.trimmed($0) }
        if let sid = form.value("MessageSid") ?? form.value("SmsSid"),
           let status = form.value("MessageStatus") ?? form.value("SmsStatus") {
            guard !sid.isEmpty else { throw WebhookError("the Twilio status callback has an empty MessageSid") }
            let mapped = Self.messageStatus(status)
            return [DeliveryReceipt(providerMessageID: sid, status: mapped, providerStatus: status,
                                    errorCode: errorCode, errorMessage: errorMessage)]
        }
        if let sid = form.value("CallSid"), let status = form.value("CallStatus") {
            guard !sid.isEmpty else { throw WebhookError("the Twilio status callback has an empty CallSid") }
            let mapped = Self.callStatus(status)
            return [DeliveryReceipt(providerMessageID: sid, status: mapped, providerStatus: status,
                                    errorCode: errorCode, errorMessage: errorMessage)]
        }
        throw WebhookError("not a Twilio status callback: MessageSid/MessageStatus or CallSid/CallStatus missing")
    }

    /// Unknown words (Twilio adds statuses now and then) change nothing: `.pending`.
    static func messageStatus(_ status: String) -> ReceiptStatus {
        switch status.lowercased() {
        case "accepted", "scheduled", "queued", "sending": .pending
        case "sent": .sent
        case "delivered", "read": .delivered
        case "undelivered": .undelivered
        case "failed", "canceled": .failed
        default: .pending
        }
    }

    static func callStatus(_ status: String) -> ReceiptStatus {
        switch status.lowercased() {
        case "queued", "initiated", "ringing", "in-progress": .pending
        case "completed": .delivered
        case "busy", "no-answer", "canceled": .undelivered
        case "failed": .failed
        default: .pending
        }
    }

    /// An incoming message webhook: `MessageSid`, `From`, `To`, `Body`
    /// (https://www.twilio.com/docs/messaging/guides/webhook-request).
    public func inbound(_ request: WebhookRequest) throws(WebhookError) -> InboundMessage {
        let form = try Self.signedParameters(of: request)
        guard let from = form.value("From"), !from.isEmpty, let to = form.value("To"), !to.isEmpty else {
            throw WebhookError("not a Twilio incoming message: From/To missing")
        }
        return InboundMessage(providerMessageID: form.value("MessageSid") ?? form.value("SmsSid"),
                              from: from, to: to, text: form.value("Body") ?? "")
    }

    /// An empty TwiML document: Twilio expects TwiML from a messaging webhook.
    public func acknowledgement() -> WebhookReply {
        WebhookReply(status: 200, contentType: "text/xml",
                     body: Array(#"<?xml version="1.0" encoding="UTF-8"?><Response></Response>"#.utf8))
    }
}
