import Foundation
import Hummingbird

/// The simulator's own endpoints (`/sim/…`): what it accepted, its counters, its knobs.
enum SimEndpoints {
    /// `{"error":{"code","message","field"}}`, as Herald's API words errors.
    static func error(_ code: String, _ message: String, field: String?) -> String {
        var out = "{\"error\":{\"code\":"
        JSONText.appendString(code, to: &out)
        JSONText.appendMember("message", message, to: &out)
        JSONText.appendMember("field", field, to: &out)
        out += "}}"
        return out
    }

    /// A phone number as `?to=` compares it: digits only (a `+` in a query often arrives as a space).
    static func digits(_ number: String) -> Substring.UTF8View {
        var view = Substring(number).utf8
        while let first = view.first, first == UInt8(ascii: " ") || first == UInt8(ascii: "+") { view = view.dropFirst() }
        while let last = view.last, last == UInt8(ascii: " ") { view = view.dropLast() }
        return view
    }

    /// `GET /sim/messages[?to=][&limit=][&api=][&kind=]`: the most recent `limit`, oldest first.
    static func messages(_ all: [SimulatedMessage], query: Parameters) -> String {
        var selected = all[...].filter { _ in true }
        if let to = query.get("to") {
            let wanted = digits(to)
            selected = selected.filter { digits($0.to).elementsEqual(wanted) }
        }
        if let api = query.get("api") { selected = selected.filter { $0.api.rawValue == api } }
        if let kind = query.get("kind") { selected = selected.filter { $0.kind.rawValue == kind } }
        if let limit = query.get("limit").flatMap(Int.init), limit >= 0, selected.count > limit {
            selected = Array(selected.suffix(limit))
        }
        var out = "{\"data\":["
        out.reserveCapacity(32 + selected.count * 256)
        for (index, message) in selected.enumerated() {
            if index > 0 { out += "," }
            out += "{\"id\":"; JSONText.appendString(message.id, to: &out)
            JSONText.appendMember("api", message.api.rawValue, to: &out)
            JSONText.appendMember("to", message.to, to: &out)
            JSONText.appendMember("from", message.from, to: &out)
            JSONText.appendMember("body", message.body, to: &out)
            JSONText.appendMember("kind", message.kind.rawValue, to: &out)
            out += ",\"segments\":\(message.segments)"
            JSONText.appendMember("receipt", message.receipt, to: &out)
            JSONText.appendMember("received_at", WallTime(epoch: message.receivedAt).rfc3339, to: &out)
            out += "}"
        }
        out += "]}"
        return out
    }

    static func statistics(_ s: SimulatorStatistics) -> String {
        "{\"requests\":\(s.requests),\"accepted\":\(s.accepted),\"errors\":\(s.errors),\"throttled\":\(s.throttled)"
            + ",\"hung\":\(s.hung),\"unauthorized\":\(s.unauthorized),\"invalid\":\(s.invalid)"
            + ",\"receipts_sent\":\(s.receiptsSent),\"receipts_failed\":\(s.receiptsFailed)"
            + ",\"duplicates\":\(s.duplicates),\"early_retries\":\(s.earlyRetries),\"hanging\":\(s.hanging)}"
    }

    static func config(_ f: FaultSettings) -> String {
        "{\"latency_ms\":\(f.latencyMs),\"error_rate\":\(f.errorRate),\"throttle_rate\":\(f.throttleRate)"
            + ",\"hang_rate\":\(f.hangRate),\"undelivered_rate\":\(f.undeliveredRate)"
            + ",\"receipt_delay_ms\":\(f.receiptDelayMs),\"sent_receipts\":\(f.sentReceipts)}"
    }

    struct ConfigError: Error {
        var message: String
        var field: String?
    }

    /// `POST /sim/config`: a JSON object with any of `config`'s names (`error_rate` or
    /// `error-rate`), merged into `current` and validated as a whole.
    static func updatedFaults(_ current: FaultSettings, body: ByteBuffer) -> Result<FaultSettings, ConfigError> {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any] else {
            return .failure(ConfigError(message: "The body must be a JSON object.", field: nil))
        }
        var faults = current
        for (rawName, value) in object {
            let name = rawName.replacingOccurrences(of: "-", with: "_")
            switch name {
            case "latency_ms", "receipt_delay_ms":
                guard let number = value as? NSNumber, Double(number.intValue) == number.doubleValue else {
                    return .failure(ConfigError(message: "\(name) must be a whole number of milliseconds.", field: name))
                }
                if name == "latency_ms" { faults.latencyMs = number.intValue } else { faults.receiptDelayMs = number.intValue }
            case "error_rate", "throttle_rate", "hang_rate", "undelivered_rate":
                guard let number = value as? NSNumber else {
                    return .failure(ConfigError(message: "\(name) must be a number between 0 and 1.", field: name))
                }
                switch name {
                case "error_rate": faults.errorRate = number.doubleValue
                case "throttle_rate": faults.throttleRate = number.doubleValue
                case "hang_rate": faults.hangRate = number.doubleValue
                default: faults.undeliveredRate = number.doubleValue
                }
            case "sent_receipts":
                guard let flag = value as? Bool else {
                    return .failure(ConfigError(message: "sent_receipts must be true or false.", field: name))
                }
                faults.sentReceipts = flag
            default:
                return .failure(ConfigError(message: "Unknown setting \(rawName).", field: rawName))
            }
        }
        do {
            try faults.validate()
        } catch {
            let field = error.option.hasPrefix("--") && !error.option.contains(",")
                ? String(error.option.dropFirst(2)).replacingOccurrences(of: "-", with: "_") : nil
            return .failure(ConfigError(message: error.description, field: field))
        }
        return .success(faults)
    }
}
