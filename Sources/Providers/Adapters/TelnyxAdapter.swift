import Foundation

/// Telnyx Messaging API v2.
///
/// - SMS: `POST {base_url}/v2/messages`, JSON `from` (or `messaging_profile_id` alone, to send from
///   the profile's number pool), `to`, `text`, `webhook_url`; `Authorization: Bearer {api_key}`.
///   Accepted: `{"data":{"id",…}}` (https://developers.telnyx.com/api/messaging/send-message).
///   Errors: `{"errors":[{"code","title","detail"}]}` (https://developers.telnyx.com/development/api-fundamentals/api-errors).
/// - Voice: not offered. Telnyx Call Control speaks text only through a `speak` command sent after
///   the `call.answered` webhook, a second request this one-request adapter cannot make; voice
///   messages fail with `unsupported_channel` and routing moves on.
/// - Webhooks: JSON events `{"data":{"event_type","payload"}}` signed with Ed25519 (see `TelnyxSignature`)
///   (https://developers.telnyx.com/docs/messaging/messages/receiving-webhooks).
public struct TelnyxAdapter: ProviderAdapter {
    public let type = ProviderType.telnyx
    public let webhookAuthentication = WebhookAuthentication.signature

    let apiKey: String
    let from: String?
    let messagingProfileID: String?
    let publicKey: String?
    let baseURL: String

    public init(config: ProviderConfig) throws(ProviderConfigError) {
        apiKey = try config.require("api_key")
        from = config["from"]
        messagingProfileID = config["messaging_profile_id"]
        guard from != nil || messagingProfileID != nil else {
            throw ProviderConfigError(key: "from", message: "is required unless config.messaging_profile_id is set")
        }
        publicKey = config["public_key"]
        if let publicKey {
            guard let bytes = Data(base64Encoded: publicKey.trimmingCharacters(in: .whitespacesAndNewlines)), bytes.count == 32 else {
                throw ProviderConfigError(key: "public_key", message: "must be the Base64 Ed25519 public key (32 bytes) from the Telnyx portal")
            }
        }
        baseURL = try config.url("base_url", default: "https://api.telnyx.com")
    }

    public func smsRequest(_ message: OutgoingMessage) throws(ProviderFailure) -> WireRequest {
        var body: [String: Any] = ["to": message.to, "text": message.text, "webhook_url": message.statusCallbackURL]
        if let sender = message.from ?? from { body["from"] = sender }
        if let messagingProfileID { body["messaging_profile_id"] = messagingProfileID }
        return WireRequest(method: "POST", url: baseURL + "/v2/messages", headers: [
            WireHeader("Authorization", "Bearer " + apiKey),
            WireHeader("Content-Type", "application/json"),
            WireHeader("Accept", "application/json"),
        ], body: AdapterSupport.jsonBody(body))
    }

    public func voiceRequest(_ message: OutgoingMessage) throws(ProviderFailure) -> WireRequest {
        throw ProviderFailure(.rejected, code: "unsupported_channel",
                              message: "Herald does not place Telnyx voice calls (Call Control needs a speak command after answer)")
    }

    public func interpret(_ response: WireResponse, channel: OutgoingMessage.Channel) -> SubmitOutcome {
        let object = AdapterSupport.jsonObject(response.body)
        if (200...299).contains(response.status) {
            guard let data = object?["data"] as? [String: Any], let id = AdapterSupport.string(data["id"]), !id.isEmpty else {
                return AdapterSupport.unreadable(response, expected: "data.id")
            }
            return .accepted(providerMessageID: id)
        }
        let error = (object?["errors"] as? [[String: Any]])?.first
        let code = AdapterSupport.string(error?["code"]) ?? String(response.status)
        let text = AdapterSupport.string(error?["detail"]) ?? AdapterSupport.string(error?["title"]) ?? "HTTP \(response.status)"
        let category = Self.category(code: code) ?? AdapterSupport.category(forHTTPStatus: response.status)
        return AdapterSupport.failed(ProviderFailure(category, code: code, message: AdapterSupport.trimmed(text)), response)
    }

    /// Codes from the API and messaging error references that say more than the HTTP status.
    static func category(code: String) -> ProviderFailure.Category? {
        switch code {
        // Invalid phone number, not +E.164, not routable (landline), inactive phone number.
        case "10001", "10002", "10016", "40001": .invalidNumber
        case "40300": .unsubscribed           // Blocked due to STOP message
        case "40002", "40003": .blocked       // Blocked as spam
        case "10009", "10010": .account       // Authentication failed, authorization failed
        case "10011", "40011": .throttled     // Too many requests, rate limited
        case "10007", "10008": .unavailable   // Unexpected error, request timeout
        default: nil
        }
    }

    public func verifySignature(_ request: WebhookRequest, now: Date) -> Bool {
        guard let publicKey, let signature = request.header("telnyx-signature-ed25519"),
              let timestamp = request.header("telnyx-timestamp") else { return false }
        return TelnyxSignature.isValid(signature: signature, timestamp: timestamp, body: request.body,
                                       publicKey: publicKey, now: now)
    }

    private func event(_ request: WebhookRequest) throws(WebhookError) -> (type: String, payload: [String: Any]) {
        guard let object = AdapterSupport.jsonObject(request.body), let data = object["data"] as? [String: Any],
              let type = data["event_type"] as? String, let payload = data["payload"] as? [String: Any]
        else { throw WebhookError("not a Telnyx webhook: data.event_type/data.payload missing") }
        return (type, payload)
    }

    /// `message.sent` and `message.finalized` events: `payload.id`, `payload.to[0].status`,
    /// `payload.errors[0].code` (https://developers.telnyx.com/docs/messaging/messages/receiving-webhooks).
    /// Other events carry no receipt.
    public func receipts(_ request: WebhookRequest) throws(WebhookError) -> [DeliveryReceipt] {
        let (type, payload) = try event(request)
        guard type == "message.sent" || type == "message.finalized" else { return [] }
        guard let id = AdapterSupport.string(payload["id"]), !id.isEmpty,
              let recipient = (payload["to"] as? [[String: Any]])?.first,
              let status = AdapterSupport.string(recipient["status"])
        else { throw WebhookError("the Telnyx \(type) event has no payload.id or payload.to[0].status") }
        let error = (payload["errors"] as? [[String: Any]])?.first
        let occurredAt = (AdapterSupport.string(payload["completed_at"]) ?? AdapterSupport.string(payload["sent_at"]))
            .flatMap(VonageAdapter.isoTimestamp)
        return [DeliveryReceipt(providerMessageID: id, status: Self.status(status), providerStatus: status,
                                errorCode: error.flatMap { AdapterSupport.string($0["code"]) },
                                errorMessage: error.flatMap { AdapterSupport.string($0["detail"]) ?? AdapterSupport.string($0["title"]) }
                                    .map { AdapterSupport.trimmed($0) },
                                occurredAt: occurredAt)]
    }

    static func status(_ status: String) -> ReceiptStatus {
        switch status.lowercased() {
        case "sent", "delivery_unconfirmed": .sent
        case "delivered": .delivered
        case "delivery_failed", "expired": .undelivered
        case "sending_failed": .failed
        default: .pending   // queued, sending …
        }
    }

    /// A `message.received` event: `payload.id`, `payload.from.phone_number`,
    /// `payload.to[0].phone_number`, `payload.text`.
    public func inbound(_ request: WebhookRequest) throws(WebhookError) -> InboundMessage {
        let (type, payload) = try event(request)
        guard type == "message.received" else { throw WebhookError("the Telnyx event is \(type), not message.received") }
        guard let from = (payload["from"] as? [String: Any]).flatMap({ AdapterSupport.string($0["phone_number"]) }),
              let to = (payload["to"] as? [[String: Any]])?.first.flatMap({ AdapterSupport.string($0["phone_number"]) })
        else { throw WebhookError("the Telnyx message.received event has no from/to phone_number") }
        return InboundMessage(providerMessageID: AdapterSupport.string(payload["id"]), from: from, to: to,
                              text: AdapterSupport.string(payload["text"]) ?? "")
    }
}
