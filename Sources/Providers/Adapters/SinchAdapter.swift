import Foundation

/// Sinch's SMS REST API ("XMS"), region by `base_url`.
///
/// - Send: `POST {base_url}/xms/v1/{service_plan_id}/batches` with `Authorization: Bearer
///   {api_token}` and a JSON batch (`from`, `to`, `body`, `delivery_report`, `callback_url`,
///   `client_reference`); 201 answers with the batch, whose `id` matches delivery reports'
///   `batch_id`. https://developers.sinch.com/docs/sms/api-reference/sms/batches/sendsms
/// - Errors: 400 and 403 carry `{"code","text"}` (`syntax_invalid_json`,
///   `syntax_invalid_parameter_format`, `syntax_constraint_violation`, `unknown_group`,
///   `unknown_campaign`, `missing_callback_url`, `blocked_account`, `illegal_number_type` …).
///   https://developers.sinch.com/docs/sms/api-reference/status-codes
/// - Callbacks: `recipient_delivery_report_sms` (and the batch summary `delivery_report_sms`)
///   with `batch_id`, `recipient`, `code`, `status`; `mo_text` inbound with `from`, `to`,
///   `body`, `id`. https://developers.sinch.com/docs/sms/api-reference/sms/tag/Webhooks/
/// - Signed callbacks: see `SinchSignature`; without `webhook_secret` Herald falls back to a
///   URL token.
/// - Voice: Sinch's Voice API (callouts) authenticates with an application key and secret,
///   which this provider type has no keys for, so `voiceRequest` refuses with
///   `unsupported_channel`.
public struct SinchAdapter: ProviderAdapter {
    public static let defaultBaseURL = "https://us.sms.api.sinch.com"

    public let type = ProviderType.sinch
    public let servicePlanID: String
    public let from: String?
    public let baseURL: String
    private let apiToken: String
    private let webhookSecret: String?

    public var webhookAuthentication: WebhookAuthentication { webhookSecret == nil ? .urlToken : .signature }

    public init(config: ProviderConfig) throws(ProviderConfigError) {
        let plan = try config.require("service_plan_id")
        guard plan.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) else {
            throw ProviderConfigError(key: "service_plan_id", message: "must contain only letters, digits, - and _")
        }
        servicePlanID = plan
        apiToken = try config.require("api_token")
        from = config["from"]
        webhookSecret = config["webhook_secret"]
        baseURL = try config.url("base_url", default: Self.defaultBaseURL)
    }

    public func smsRequest(_ message: OutgoingMessage) throws(ProviderFailure) -> WireRequest {
        var batch: [String: Any] = [
            "to": [message.to],
            "body": message.text,
            "delivery_report": "per_recipient",
            "callback_url": message.statusCallbackURL,
            "client_reference": message.id.uuidString.lowercased(),
        ]
        // Without a sender Sinch applies the account's default originator (code 410 when none fits).
        if let sender = message.from ?? from { batch["from"] = sender }
        return WireRequest(
            method: "POST",
            url: "\(baseURL)/xms/v1/\(servicePlanID)/batches",
            headers: [
                WireHeader("Authorization", "Bearer \(apiToken)"),
                WireHeader("Content-Type", "application/json"),
                WireHeader("Accept", "application/json"),
            ],
            body: WireParsing.jsonBody(batch))
    }

    public func voiceRequest(_ message: OutgoingMessage) throws(ProviderFailure) -> WireRequest {
        throw ProviderFailure(.rejected, code: "unsupported_channel",
                              message: "Sinch voice needs a Voice API application key and secret, which the sinch provider type does not configure")
    }

    public func interpret(_ response: WireResponse, channel: OutgoingMessage.Channel) -> SubmitOutcome {
        let object = WireParsing.jsonObject(response.body)
        switch response.status {
        case 200..<300:
            if let id = object.flatMap({ WireParsing.field($0, "id") }) { return .accepted(providerMessageID: id) }
            return .failed(ProviderFailure(.rejected, code: "invalid_response",
                                           message: "Sinch accepted the batch without an id: \(WireParsing.snippet(response.body))"),
                           retryAfter: nil)
        default:
            let code = object.flatMap { WireParsing.field($0, "code") } ?? String(response.status)
            let text = object.flatMap { WireParsing.field($0, "text") } ?? WireParsing.snippet(response.body)
            let category = Self.category(status: response.status, code: code)
            let failure = ProviderFailure(category, code: code, message: text)
            return .failed(failure, retryAfter: WireParsing.retryAfter(response, for: failure))
        }
    }

    /// From Sinch's HTTP status codes page: 400 and 403 are subdivided by `code`.
    static func category(status: Int, code: String) -> ProviderFailure.Category {
        switch code {
        case "blocked_account", "unprovisioned_region", "unknown_campaign": return .account
        case "illegal_number_type": return .invalidNumber
        case "syntax_invalid_json", "syntax_invalid_parameter_format", "syntax_constraint_violation",
             "unknown_group", "missing_callback_url": return .rejected
        default: break
        }
        switch status {
        case 429: return .throttled
        case 500...: return .unavailable
        case 401, 403: return .account
        default: return .rejected
        }
    }

    public func verifySignature(_ request: WebhookRequest, now: Date) -> Bool {
        guard let webhookSecret else { return false }
        return SinchSignature.isValid(body: request.body, headers: request.headers, secret: webhookSecret, now: now)
    }

    public func receipts(_ request: WebhookRequest) throws(WebhookError) -> [DeliveryReceipt] {
        let object = try WireParsing.requireJSONObject(request.body, what: "Sinch delivery report")
        guard let type = WireParsing.field(object, "type") else { throw WebhookError("the Sinch delivery report has no type") }
        guard let batchID = WireParsing.field(object, "batch_id") else { throw WebhookError("the Sinch delivery report has no batch_id") }
        switch type {
        case "recipient_delivery_report_sms", "recipient_delivery_report_mms":
            guard let status = WireParsing.field(object, "status") else { throw WebhookError("the Sinch delivery report has no status") }
            return [Self.receipt(batchID: batchID, status: status, code: WireParsing.string(object["code"]),
                                 at: WireParsing.date(WireParsing.field(object, "at")))]
        case "delivery_report_sms", "delivery_report_mms":
            // The batch summary: one entry per status, each with a count (and recipients for `full`).
            guard let statuses = object["statuses"] as? [[String: Any]] else {
                throw WebhookError("the Sinch batch delivery report has no statuses")
            }
            return try statuses.map { entry throws(WebhookError) in
                guard let status = WireParsing.field(entry, "status") else { throw WebhookError("a Sinch batch status has no status") }
                return Self.receipt(batchID: batchID, status: status, code: WireParsing.string(entry["code"]), at: nil)
            }
        default:
            throw WebhookError("unexpected Sinch callback type \(type)")
        }
    }

    /// Sinch's delivery report statuses: Queued and Dispatched are intermediate; Aborted,
    /// Cancelled, Deleted, Rejected and Expired never reached the handset through the SMSC;
    /// Failed did not get through the carrier; Unknown reached the SMSC with no usable receipt.
    /// https://developers.sinch.com/docs/sms/api-reference/sms/delivery-reports
    static func receipt(batchID: String, status: String, code: String?, at: Date?) -> DeliveryReceipt {
        let mapped: ReceiptStatus = switch status {
        case "Delivered": .delivered
        case "Dispatched", "Unknown": .sent
        case "Queued": .pending
        case "Failed": .undelivered
        default: .failed // Aborted, Rejected, Expired, Cancelled, Deleted
        }
        let isError = mapped == .failed || mapped == .undelivered
        return DeliveryReceipt(providerMessageID: batchID, status: mapped, providerStatus: status,
                               errorCode: isError ? code : nil, occurredAt: at)
    }

    public func inbound(_ request: WebhookRequest) throws(WebhookError) -> InboundMessage {
        let object = try WireParsing.requireJSONObject(request.body, what: "Sinch inbound")
        guard WireParsing.field(object, "type") == "mo_text" else {
            throw WebhookError("the Sinch inbound is not a text message (mo_text)")
        }
        guard let from = WireParsing.field(object, "from"), let to = WireParsing.field(object, "to") else {
            throw WebhookError("the Sinch inbound has no from or to")
        }
        return InboundMessage(providerMessageID: WireParsing.field(object, "id"), from: from, to: to,
                              text: WireParsing.string(object["body"]) ?? "")
    }
}
