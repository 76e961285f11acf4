import Foundation
import SMS
import Providers
import Testing

/// Values the adapter tests share.
enum Fixtures {
    static let messageID = UUID(uuidString: "6F9619FF-8B86-D011-B42D-00CF4FC964FF")!
    static let callback = "https://herald.example.com/webhooks/prv_1/status?t=tok"

    static func message(to: String = "+4915112345678", text: String = "Your code is 123456 & more",
                        channel: OutgoingMessage.Channel = .sms, unicode: Bool = false,
                        locale: String? = nil) -> OutgoingMessage {
        OutgoingMessage(id: messageID, to: to, text: text, channel: channel, unicode: unicode, locale: locale,
                        statusCallbackURL: callback)
    }

    static func config(_ values: [String: String]) -> ProviderConfig {
        ProviderConfig(values.mapValues { JSONValue.string($0) })
    }

    static func form(_ pairs: [(String, String)]) -> [UInt8] { Array(FormEncoding.encode(pairs).utf8) }

    static func post(_ url: String, form pairs: [(String, String)], headers: [String: String] = [:]) -> WebhookRequest {
        WebhookRequest(method: "POST", url: url,
                       headers: headers.merging(["content-type": "application/x-www-form-urlencoded"]) { a, _ in a },
                       body: form(pairs))
    }

    static func postJSON(_ url: String, _ json: String, headers: [String: String] = [:]) -> WebhookRequest {
        WebhookRequest(method: "POST", url: url,
                       headers: headers.merging(["content-type": "application/json"]) { a, _ in a },
                       body: Array(json.utf8))
    }

    /// `Basic base64(user:password)`, spelled out independently of the adapters' helper.
    static func basic(_ user: String, _ password: String) -> String {
        "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()
    }
}

/// The failure in an outcome, or a recorded issue.
func failureOf(_ outcome: SubmitOutcome, sourceLocation: SourceLocation = #_sourceLocation) -> (ProviderFailure, Duration?)? {
    guard case .failed(let failure, let retryAfter) = outcome else {
        Issue.record("expected a failure, got \(outcome)", sourceLocation: sourceLocation)
        return nil
    }
    return (failure, retryAfter)
}

/// Asserts that building an adapter fails naming `key`.
func expectConfigError<A>(_ key: String, sourceLocation: SourceLocation = #_sourceLocation,
                          _ build: () throws(ProviderConfigError) -> A) {
    do {
        _ = try build()
        Issue.record("expected config.\(key) to be refused", sourceLocation: sourceLocation)
    } catch {
        #expect(error.key == key, sourceLocation: sourceLocation)
    }
}

extension Array where Element == (String, String) {
    /// The first value for `name`.
    func value(_ name: String) -> String? { first { $0.0 == name }?.1 }
}

/// Asserts that a request cannot be built because the channel is not offered.
func expectUnsupportedChannel(sourceLocation: SourceLocation = #_sourceLocation,
                              _ build: () throws(ProviderFailure) -> WireRequest) {
    do {
        _ = try build()
        Issue.record("expected unsupported_channel", sourceLocation: sourceLocation)
    } catch {
        #expect(error.category == .rejected, sourceLocation: sourceLocation)
        #expect(error.code == "unsupported_channel", sourceLocation: sourceLocation)
    }
}
