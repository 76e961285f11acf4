import Foundation

/// Plivo Messaging and Voice.
///
/// - SMS: `POST {base_url}/v1/Account/{auth_id}/Message/`, JSON `src`, `dst`, `text`, `url`
///   (status callback), `method`; HTTP basic auth `auth_id:auth_token`. Accepted: HTTP 202 with
///   `message_uuid` (an array) (https://www.plivo.com/docs/messaging/api/message#send-a-message).
/// - Voice: `POST …/Call/`, JSON `from`, `to`, `answer_url`, `answer_method`, `hangup_url`,
///   `hangup_method`. Accepted: HTTP 201 with `request_uuid` (https://www.plivo.com/docs/voice/api/call#make-a-call).
///   Plivo fetches what to play from `answer_url`, so Herald serves it: the call's `answer_url` is
///   the status callback URL with `kind=answer` added, and Herald answers a request that
///   `isAnswerRequest(_:)` recognises with `answerXML(text:locale:)` (a `<Response><Speak>`
///   document, content type `application/xml`). The hang-up callback goes to the plain status URL.
/// - Errors: `{"api_id","error"}` with the HTTP status; Plivo gives no error code, so the code kept
///   is the HTTP status.
/// - Webhooks: form posts signed with `X-Plivo-Signature-V3` (see `PlivoSignature`).
public struct PlivoAdapter: ProviderAdapter {
    public let type = ProviderType.plivo
    public let webhookAuthentication = WebhookAuthentication.signature

    let authID: String
    let authToken: String
    let from: String
    let baseURL: String

    /// The query flag that marks Plivo's answer-URL fetch of a voice call.
    public static let answerQueryItem = (name: "kind", value: "answer")

    public init(config: ProviderConfig) throws(ProviderConfigError) {
        authID = try config.require("auth_id")
        authToken = try config.require("auth_token")
        from = try config.require("from")
        baseURL = try config.url("base_url", default: "https://api.plivo.com")
    }

    private var accountURL: String {
        baseURL + "/v1/Account/" + FormEncoding.percentEncode(authID, spaceAsPlus: false)
    }

    private func post(_ url: String, _ body: [String: Any]) -> WireRequest {
        WireRequest(method: "POST", url: url, headers: [
            WireHeader("Authorization", AdapterSupport.basicAuthorization(user: authID, password: authToken)),
            WireHeader("Content-Type", "application/json"),
            WireHeader("Accept", "application/json"),
        ], body: AdapterSupport.jsonBody(body))
    }

    public func smsRequest(_ message: OutgoingMessage) throws(ProviderFailure) -> WireRequest {
        post(accountURL + "/Message/", [
            "src": message.from ?? from, "dst": message.to, "text": message.text,
            "url": message.statusCallbackURL, "method": "POST",
        ])
    }

    public func voiceRequest(_ message: OutgoingMessage) throws(ProviderFailure) -> WireRequest {
        post(accountURL + "/Call/", [
            "from": message.from ?? from, "to": message.to,
            "answer_url": Self.answerURL(statusCallbackURL: message.statusCallbackURL), "answer_method": "POST",
            "hangup_url": message.statusCallbackURL, "hangup_method": "POST",
        ])
    }

    /// The status callback URL with `kind=answer` added.
    public static func answerURL(statusCallbackURL: String) -> String {
        AdapterSupport.appendingQuery(statusCallbackURL, answerQueryItem.name, answerQueryItem.value)
    }

    /// Whether a webhook is Plivo fetching a call's answer XML (rather than a status callback).
    public static func isAnswerRequest(_ request: WebhookRequest) -> Bool {
        guard let query = try? AdapterSupport.queryParameters(of: request.url) else { return false }
        return query.value(answerQueryItem.name) == answerQueryItem.value
    }

    /// `<Response><Speak language="…">text</Speak></Response>` for the answer URL; `language` only
    /// when Plivo's `<Speak>` has a voice for it (https://www.plivo.com/docs/voice/xml/speak).
    public static func answerXML(text: String, locale: String?) -> String {
        let language = AdapterSupport.supportedLanguage(locale, in: speakLanguages)
        let attribute = language.map { " language=\"\($0)\"" } ?? ""
        return #"<?xml version="1.0" encoding="utf-8"?>"#
            + "<Response><Speak\(attribute)>\(AdapterSupport.xmlEscaped(text))</Speak></Response>"
    }

    /// Locales of `<Speak>`'s standard voices.
    static let speakLanguages = [
        "en-US", "en-GB", "en-AU", "en-CA", "cs-CZ", "da-DK", "de-DE", "el-GR", "es-ES", "es-US", "fi-FI",
        "fr-FR", "fr-CA", "hu-HU", "it-IT", "ja-JP", "nl-NL", "pl-PL", "pt-BR", "pt-PT", "ru-RU",
        "sv-SE", "zh-CN",
    ]

    public func interpret(_ response: WireResponse, channel: OutgoingMessage.Channel) -> SubmitOutcome {
        let object = AdapterSupport.jsonObject(response.body)
        if (200...299).contains(response.status) {
            let id: String? = switch channel {
            case .sms: (object?["message_uuid"] as? [Any])?.first.flatMap { AdapterSupport.string($0) }
            case .voice: AdapterSupport.string(object?["request_uuid"])
            }
            guard let id, !id.isEmpty else {
                return AdapterSupport.unreadable(response, expected: channel == .sms ? "message_uuid" : "request_uuid")
            }
            return .accepted(providerMessageID: id)
        }
        let error = AdapterSupport.string(object?["error"]) ?? AdapterSupport.string(object?["message"]) ?? "HTTP \(response.status)"
        var category = AdapterSupport.category(forHTTPStatus: response.status)
        if response.status == 400 {
            // Plivo names the parameter it rejects (`invalid 'dst'`, `'src' … not a Plivo number`).
            let lowered = error.lowercased()
            if lowered.contains("dst") || lowered.contains("destination") { category = .invalidNumber }
            else if lowered.contains("src") || lowered.contains("source") { category = .account }
        }
        return AdapterSupport.failed(ProviderFailure(category, code: String(response.status),
                                                     message: AdapterSupport.trimmed(error)), response)
    }

    public func verifySignature(_ request: WebhookRequest, now: Date) -> Bool {
        guard let signature = request.header("x-plivo-signature-v3"), !signature.isEmpty,
              let nonce = request.header("x-plivo-signature-v3-nonce"), !nonce.isEmpty,
              let form = try? AdapterSupport.formParameters(of: request)
        else { return false }
        return PlivoSignature.isValid(signature, method: request.method, url: request.url, parameters: form,
                                      nonce: nonce, authToken: authToken)
    }

    /// What `verifySignature` checked: the query (the V3 signature covers the URL) and the body
    /// read as a form, the way the signature covers it, whatever the unsigned `Content-Type` says.
    private static func signedParameters(of request: WebhookRequest) throws(WebhookError) -> [(String, String)] {
        try AdapterSupport.queryParameters(of: request.url) + AdapterSupport.formParameters(of: request)
    }

    /// Message status callbacks (`MessageUUID`, `Status`, `ErrorCode`,
    /// https://www.plivo.com/docs/messaging/concepts/callbacks) and call hang-up callbacks
    /// (`RequestUUID`, `CallStatus`, `HangupCause`, https://www.plivo.com/docs/voice/concepts/callbacks).
    public func receipts(_ request: WebhookRequest) throws(WebhookError) -> [DeliveryReceipt] {
        let form = try Self.signedParameters(of: request)
        if let id = form.value("MessageUUID"), let status = form.value("Status") {
            guard !id.isEmpty else { throw WebhookError("the Plivo callback has an empty MessageUUID") }
            let errorCode = form.value("ErrorCode").flatMap { $0.isEmpty || $0 == "000" ? nil : $0 }
            return [DeliveryReceipt(providerMessageID: id, status: Self.messageStatus(status), providerStatus: status,
                                    errorCode: errorCode)]
        }
        if let id = form.value("RequestUUID"), let status = form.value("CallStatus") {
            guard !id.isEmpty else { throw WebhookError("the Plivo callback has an empty RequestUUID") }
            let mapped = Self.callStatus(status)
            let cause = form.value("HangupCause").flatMap { $0.isEmpty || mapped == .delivered ? nil : $0 }
            return [DeliveryReceipt(providerMessageID: id, status: mapped, providerStatus: status, errorCode: cause)]
        }
        throw WebhookError("not a Plivo callback: MessageUUID/Status or RequestUUID/CallStatus missing")
    }

    static func messageStatus(_ status: String) -> ReceiptStatus {
        switch status.lowercased() {
        case "sent": .sent
        case "delivered", "read": .delivered
        case "undelivered": .undelivered
        case "failed", "rejected": .failed
        default: .pending   // queued …
        }
    }

    static func callStatus(_ status: String) -> ReceiptStatus {
        switch status.lowercased() {
        case "completed": .delivered
        case "busy", "no-answer", "timeout", "cancel", "canceled", "cancelled": .undelivered
        case "failed": .failed
        default: .pending   // ringing, in-progress …
        }
    }

    /// Inbound SMS: `From`, `To`, `Text`, `MessageUUID` (https://www.plivo.com/docs/messaging/concepts/callbacks).
    /// Plivo writes numbers without `+`.
    public func inbound(_ request: WebhookRequest) throws(WebhookError) -> InboundMessage {
        let form = try Self.signedParameters(of: request)
        guard let from = form.value("From"), !from.isEmpty, let to = form.value("To"), !to.isEmpty else {
            throw WebhookError("not a Plivo incoming message: From/To missing")
        }
        return InboundMessage(providerMessageID: form.value("MessageUUID"), from: AdapterSupport.withPlus(from),
                              to: AdapterSupport.withPlus(to), text: form.value("Text") ?? "")
    }
}
