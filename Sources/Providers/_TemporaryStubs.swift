// TEMPORARY: compile-only stand-ins until the adapter branches merge. Never committed.
import Foundation
struct StubAdapter: ProviderAdapter {
    var type: ProviderType
    var webhookAuthentication: WebhookAuthentication { .urlToken }
    func smsRequest(_ message: OutgoingMessage) throws(ProviderFailure) -> WireRequest { WireRequest(method: "POST", url: "http://x") }
    func voiceRequest(_ message: OutgoingMessage) throws(ProviderFailure) -> WireRequest { WireRequest(method: "POST", url: "http://x") }
    func interpret(_ response: WireResponse, channel: OutgoingMessage.Channel) -> SubmitOutcome { .accepted(providerMessageID: "x") }
    func verifySignature(_ request: WebhookRequest, now: Date) -> Bool { false }
    func receipts(_ request: WebhookRequest) throws(WebhookError) -> [DeliveryReceipt] { [] }
    func inbound(_ request: WebhookRequest) throws(WebhookError) -> InboundMessage { throw WebhookError("x") }
}
func TwilioAdapter(config: ProviderConfig) throws(ProviderConfigError) -> any ProviderAdapter { StubAdapter(type: .twilio) }
func VonageAdapter(config: ProviderConfig) throws(ProviderConfigError) -> any ProviderAdapter { StubAdapter(type: .twilio) }
func PlivoAdapter(config: ProviderConfig) throws(ProviderConfigError) -> any ProviderAdapter { StubAdapter(type: .twilio) }
func SinchAdapter(config: ProviderConfig) throws(ProviderConfigError) -> any ProviderAdapter { StubAdapter(type: .twilio) }
func InfobipAdapter(config: ProviderConfig) throws(ProviderConfigError) -> any ProviderAdapter { StubAdapter(type: .twilio) }
func TelnyxAdapter(config: ProviderConfig) throws(ProviderConfigError) -> any ProviderAdapter { StubAdapter(type: .twilio) }
func HTTPProviderAdapter(config: ProviderConfig) throws(ProviderConfigError) -> any ProviderAdapter { StubAdapter(type: .twilio) }
