/// Builds the adapter for a provider type from its `config`.
public enum ProviderAdapters {
    /// The adapter, or the first config problem. `outbox` has no adapter: Herald stores
    /// its messages itself (`ProviderConfigError` on key `type`).
    public static func make(type: ProviderType, config: ProviderConfig) throws(ProviderConfigError) -> any ProviderAdapter {
        switch type {
        case .twilio: try TwilioAdapter(config: config)
        case .vonage: try VonageAdapter(config: config)
        case .plivo: try PlivoAdapter(config: config)
        case .sinch: try SinchAdapter(config: config)
        case .infobip: try InfobipAdapter(config: config)
        case .telnyx: try TelnyxAdapter(config: config)
        case .http: try HTTPProviderAdapter(config: config)
        case .outbox: throw ProviderConfigError(key: "type", message: "outbox has no HTTP adapter")
        }
    }
}
