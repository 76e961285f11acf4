import Foundation

/// Infobip's SMS API (v3) and its single text-to-speech voice message, on the account's own
/// `base_url` (`https://xxxxx.api.infobip.com`), authenticated with `Authorization: App {api_key}`.
///
/// - Send: `POST {base_url}/sms/3/messages` — the endpoint Infobip's quickstart and API
///   reference document today (the `/sms/2/text/advanced` report webhook is marked deprecated):
///   `{"messages":[{"sender","destinations":[{"to","messageId"}],"content":{"text"},
///   "webhooks":{"delivery":{"url"},"contentType","callbackData"}}]}`; the answer lists
///   `messages[].messageId` with a `status` object (`groupName` `PENDING`, `REJECTED` …).
///   https://www.infobip.com/docs/developer-resources/quickstart
///   https://www.infobip.com/docs/api/channels/sms/sms-messaging/outbound-sms/send-sms-messages
/// - Status objects `{groupId, groupName, id, name, description}` and error objects
///   `{groupId, groupName, id, name, description, permanent}`:
///   https://www.infobip.com/docs/essentials/api-essentials/response-status-and-error-codes
/// - HTTP errors: `{"requestError":{"serviceException":{"messageId","text"}}}` (or the newer
///   `{"errorCode","description"}`).
/// - Delivery reports: `{"results":[{"messageId","status":{…},"error":{…},"doneAt",…}]}`,
///   several per call. Inbound: `{"results":[{"messageId","from","to","text",…}]}`.
/// - Voice: `POST {base_url}/tts/3/single` `{"from","to","text","language"}`.
///   https://www.infobip.com/docs/api/channels/voice/voice-message/send-single-voice-tts
/// - Infobip does not sign webhooks: Herald uses a URL token.
public struct InfobipAdapter: ProviderAdapter {
    public let type = ProviderType.infobip
    public let webhookAuthentication = WebhookAuthentication.urlToken
    public let baseURL: String
    public let from: String?
    private let apiKey: String

    public init(config: ProviderConfig) throws(ProviderConfigError) {
        apiKey = try config.require("api_key")
        baseURL = try config.url("base_url", default: nil)
        from = config["from"]
    }

    private var headers: [WireHeader] {
        [
            WireHeader("Authorization", "App \(apiKey)"),
            WireHeader("Content-Type", "application/json"),
            WireHeader("Accept", "application/json"),
        ]
    }

    /// Infobip wants destinations in international format without the `+` (`41793026727`).
    static func address(_ number: String) -> String {
        number.hasPrefix("+") ? String(number.dropFirst()) : number
    }

    public func smsRequest(_ message: OutgoingMessage) throws(ProviderFailure) -> WireRequest {
        let id = message.id.uuidString.lowercased()
        var sms: [String: Any] = [
            "destinations": [["to": Self.address(message.to), "messageId": id]],
            "content": ["text": message.text],
            "webhooks": [
                "delivery": ["url": message.statusCallbackURL],
                "contentType": "application/json",
                "callbackData": id,
            ],
        ]
        if let sender = message.from ?? from { sms["sender"] = sender }
        return WireRequest(method: "POST", url: "\(baseURL)/sms/3/messages", headers: headers,
                           body: WireParsing.jsonBody(["messages": [sms]]))
    }

    public func voiceRequest(_ message: OutgoingMessage) throws(ProviderFailure) -> WireRequest {
        var call: [String: Any] = [
            "to": Self.address(message.to),
            "text": message.text,
            "notifyUrl": message.statusCallbackURL,
            "notifyContentType": "application/json",
            "callbackData": message.id.uuidString.lowercased(),
        ]
        if let sender = message.from ?? from { call["from"] = Self.address(sender) }
        if let language = Self.language(message.locale) { call["language"] = language }
        return WireRequest(method: "POST", url: "\(baseURL)/tts/3/single", headers: headers,
                           body: WireParsing.jsonBody(call))
    }

    /// Infobip names TTS languages by lower-case code (`en`, `de`, `en-gb`); a BCP 47 locale
    /// `en-US` becomes `en`, keeping only the language, which every voice list accepts.
    static func language(_ locale: String?) -> String? {
        guard let locale, let language = locale.split(whereSeparator: { $0 == "-" || $0 == "_" }).first,
              !language.isEmpty else { return nil }
        return language.lowercased()
    }

    public func interpret(_ response: WireResponse, channel: OutgoingMessage.Channel) -> SubmitOutcome {
        let object = WireParsing.jsonObject(response.body)
        guard (200..<300).contains(response.status) else {
            let (code, text) = Self.requestError(object, status: response.status, body: response.body)
            let failure = ProviderFailure(Self.category(httpStatus: response.status, code: code), code: code, message: text)
            return .failed(failure, retryAfter: WireParsing.retryAfter(response, for: failure))
        }
        let first = (object?["messages"] as? [[String: Any]])?.first
        // A 200 can still refuse the message: its status group says so (a rejection may lack an id).
        let status = first?["status"] as? [String: Any] ?? [:]
        let group = WireParsing.field(status, "groupName") ?? "PENDING"
        if group == "REJECTED" || group == "UNDELIVERABLE" || group == "EXPIRED" {
            let name = WireParsing.field(status, "name") ?? group
            let failure = ProviderFailure(Self.category(statusName: name), code: name,
                                          message: WireParsing.field(status, "description") ?? name)
            return .failed(failure, retryAfter: WireParsing.retryAfter(response, for: failure))
        }
        guard let first, let id = WireParsing.field(first, "messageId") else {
            return .failed(ProviderFailure(.rejected, code: "invalid_response",
                                           message: "Infobip answered without a messageId: \(WireParsing.snippet(response.body))"),
                           retryAfter: nil)
        }
        return .accepted(providerMessageID: id)
    }

    /// The code and text of an HTTP error body, in either of Infobip's shapes.
    static func requestError(_ object: [String: Any]?, status: Int, body: [UInt8]) -> (String, String) {
        if let exception = (object?["requestError"] as? [String: Any])?["serviceException"] as? [String: Any] {
            return (WireParsing.field(exception, "messageId") ?? String(status),
                    WireParsing.field(exception, "text") ?? WireParsing.snippet(body))
        }
        if let object, let code = WireParsing.field(object, "errorCode") {
            return (code, WireParsing.field(object, "description") ?? WireParsing.snippet(body))
        }
        return (String(status), WireParsing.snippet(body))
    }

    static func category(httpStatus: Int, code: String) -> ProviderFailure.Category {
        switch httpStatus {
        case 429: .throttled
        case 500...: .unavailable
        case 401, 402, 403: .account
        default: code == "TOO_MANY_REQUESTS" ? .throttled : .rejected
        }
    }

    /// The `REJECTED` (group 5) status names from Infobip's status code list.
    static func category(statusName name: String) -> ProviderFailure.Category {
        switch name {
        case "REJECTED_NOT_ENOUGH_CREDITS", "REJECTED_SOURCE", "REJECTED_SENDER", "REJECTED_PREPAID_PACKAGE_EXPIRED",
             "REJECTED_ROUTE_NOT_AVAILABLE":
            .account
        case "REJECTED_DESTINATION", "REJECTED_INVALID_DESTINATION", "REJECTED_PREFIX_MISSING", "MISSING_TO",
             "REJECTED_DESTINATION_NOT_REGISTERED", "REJECTED_NETWORK":
            .invalidNumber
        case "REJECTED_DND", "REJECTED_DESTINATION_BLOCKLISTED":
            .blocked
        case "REJECTED_FLOODING_FILTER":
            .throttled
        case "REJECTED_SYSTEM_ERROR":
            .unavailable
        default:
            .rejected
        }
    }

    public func verifySignature(_ request: WebhookRequest, now: Date) -> Bool { false }

    public func receipts(_ request: WebhookRequest) throws(WebhookError) -> [DeliveryReceipt] {
        let object = try WireParsing.requireJSONObject(request.body, what: "Infobip delivery report")
        guard let results = object["results"] as? [[String: Any]] else {
            throw WebhookError("the Infobip delivery report has no results")
        }
        return try results.map { result throws(WebhookError) in
            guard let id = WireParsing.field(result, "messageId") else {
                throw WebhookError("an Infobip delivery report result has no messageId")
            }
            guard let status = result["status"] as? [String: Any], let group = WireParsing.field(status, "groupName") else {
                throw WebhookError("an Infobip delivery report result has no status")
            }
            let name = WireParsing.field(status, "name") ?? group
            let error = result["error"] as? [String: Any]
            // Error id 0 (`NO_ERROR`, group `OK`) is no error.
            let hasError = error.map { WireParsing.string($0["id"]).map { $0 != "0" } ?? true } ?? false
            return DeliveryReceipt(
                providerMessageID: id,
                status: Self.receiptStatus(group: group, name: name),
                providerStatus: name,
                errorCode: hasError ? error.flatMap { WireParsing.field($0, "name") ?? WireParsing.string($0["id"]) } : nil,
                errorMessage: hasError ? error.flatMap { WireParsing.field($0, "description") } : nil,
                occurredAt: WireParsing.date(WireParsing.field(result, "doneAt")))
        }
    }

    /// Status groups: PENDING (1), UNDELIVERABLE (2), DELIVERED (3), EXPIRED (4), REJECTED (5);
    /// `DELIVERED_TO_OPERATOR` is in the DELIVERED group but only means "handed to the carrier".
    static func receiptStatus(group: String, name: String) -> ReceiptStatus {
        switch group {
        case "DELIVERED": name == "DELIVERED_TO_OPERATOR" ? .sent : .delivered
        case "UNDELIVERABLE", "EXPIRED": .undelivered
        case "REJECTED": .failed
        default: .pending // PENDING, ACCEPTED, OK
        }
    }

    public func inbound(_ request: WebhookRequest) throws(WebhookError) -> InboundMessage {
        let object = try WireParsing.requireJSONObject(request.body, what: "Infobip inbound")
        guard let result = (object["results"] as? [[String: Any]])?.first else {
            throw WebhookError("the Infobip inbound has no results")
        }
        guard let from = WireParsing.field(result, "from"), let to = WireParsing.field(result, "to") else {
            throw WebhookError("the Infobip inbound has no from or to")
        }
        return InboundMessage(providerMessageID: WireParsing.field(result, "messageId"), from: from, to: to,
                              text: WireParsing.string(result["text"]) ?? WireParsing.string(result["cleanText"]) ?? "")
    }
}
