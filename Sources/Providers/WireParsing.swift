import Foundation

/// Small, forgiving readers for provider answers and webhooks: JSON objects as dictionaries,
/// values as strings whatever their JSON type, and `Retry-After`.
enum WireParsing {
    /// The body as a JSON object, or nil when it is not one.
    static func jsonObject(_ body: [UInt8]) -> [String: Any]? {
        guard !body.isEmpty else { return nil }
        return (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any]
    }

    /// A webhook body as a JSON object, or a `WebhookError` naming what was expected.
    static func requireJSONObject(_ body: [UInt8], what: String) throws(WebhookError) -> [String: Any] {
        guard let object = jsonObject(body) else { throw WebhookError("the \(what) body is not a JSON object") }
        return object
    }

    /// A JSON scalar as text: strings as they are, integers without a fraction, booleans as
    /// `true`/`false`. Nil for null, absent, objects and arrays.
    static func string(_ value: Any?) -> String? {
        switch value {
        case let text as String: return text
        case let number as NSNumber:
            if String(cString: number.objCType) == "c" { return number.boolValue ? "true" : "false" }
            let double = number.doubleValue
            if double.rounded() == double, abs(double) < 1e15 { return String(Int64(double)) }
            return number.stringValue
        default: return nil
        }
    }

    /// A non-empty string field of `object`.
    static func field(_ object: [String: Any], _ key: String) -> String? {
        guard let text = string(object[key]), !text.isEmpty else { return nil }
        return text
    }

    /// `Retry-After` as a duration, when it is given in seconds (the form SMS providers use).
    static func retryAfter(_ response: WireResponse) -> Duration? {
        guard let value = response.headers["retry-after"]?.trimmingCharacters(in: .whitespaces),
              let seconds = Int(value), seconds >= 0 else { return nil }
        return .seconds(seconds)
    }

    /// `Retry-After` for a transient failure (throttled or unavailable), nil otherwise.
    static func retryAfter(_ response: WireResponse, for failure: ProviderFailure) -> Duration? {
        failure.isTransient ? retryAfter(response) : nil
    }

    /// The body as UTF-8 text, trimmed and cut to a length fit for an error message.
    static func snippet(_ body: [UInt8], limit: Int = 200) -> String {
        let text = String(decoding: body, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.count > limit ? String(text.prefix(limit)) + "…" : text
    }

    private static let dateStyles: [Date.ISO8601FormatStyle] = [false, true].flatMap { fractional in
        [Date.ISO8601FormatStyle.TimeZoneSeparator.omitted, .colon].map {
            Date.ISO8601FormatStyle(timeZoneSeparator: $0, includingFractionalSeconds: fractional)
        }
    }

    /// ISO 8601 with or without fractional seconds (`2025-01-13T09:22:40.914Z`), or Infobip's
    /// `yyyy-MM-dd'T'HH:mm:ss.SSSZ` (`2019-11-09T16:00:00.000+0000`).
    static func date(_ text: String?) -> Date? {
        guard let text, !text.isEmpty else { return nil }
        for strategy in dateStyles {
            if let date = try? strategy.parse(text) { return date }
        }
        return nil
    }

    static func jsonBody(_ object: [String: Any]) -> [UInt8] {
        // Sorted keys keep requests byte-for-byte reproducible; `/` is left alone for URLs.
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return Array(data)
    }
}
