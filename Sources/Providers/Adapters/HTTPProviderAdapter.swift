import Foundation
import SMS
import Mustache

/// The configurable `http` provider: any SMS gateway reachable by one HTTP request.
///
/// Config (API.md, "Providers, routing, webhooks"):
/// - `url` (required), `method` (`POST` by default; `GET`, `POST` or `PUT`);
/// - `headers`: an object of string values sent as they are (an `Authorization` header, say);
/// - `content_type`: `json` (default) or `form`; with `GET` the rendered form becomes the query
///   string and there is no body, so `GET` takes `form` only;
/// - `body`: a Mustache template over `to`, `from`, `text`, `message_id` and `callback_url`.
///   Values are escaped for the content type — JSON string escaping for `json` (the template
///   supplies the quotes: `{"text":"{{text}}"}`), form percent-encoding for `form` — never HTML
///   escaping, and `{{x}}` and `{{{x}}}` render alike. Without `body`, a JSON object (or form)
///   with those five keys is sent;
/// - `id_path`: a dot path into the JSON answer where the provider's message id is
///   (`data.id`, `messages.0.id`); without it any 2xx is accepted under Herald's message id;
/// - `from`: the default sender.
///
/// Answers: 2xx accepted; 429 throttled (with `Retry-After`); 5xx unavailable; any other status
/// rejected, with the HTTP status as the code.
///
/// Webhooks use a Herald-defined format, as JSON or as a form with the same keys, and are
/// authenticated by a URL token:
/// - status: `{"message_id" | "provider_message_id", "status": "delivered" | "undelivered" |
///   "failed" | "sent" | "pending", "error_code", "error_message"}` (`message_id` is Herald's
///   id, which is the provider id when no `id_path` is configured);
/// - inbound: `{"from", "to", "text", "id"}`.
///
/// There is no voice: `voiceRequest` refuses with `unsupported_channel`.
public struct HTTPProviderAdapter: ProviderAdapter {
    public enum ContentType: String, Sendable, CaseIterable {
        case json, form
    }

    public let type = ProviderType.http
    public let webhookAuthentication = WebhookAuthentication.urlToken
    public let url: String
    public let method: String
    public let contentType: ContentType
    /// The path segments of `id_path`, nil when the answer's id is not read.
    public let idPath: [String]?
    public let from: String?
    private let headers: [WireHeader]
    private let template: MustacheTemplate

    /// The variables a body template may use.
    public static let variables = ["to", "from", "text", "message_id", "callback_url"]

    public static func defaultBody(_ contentType: ContentType) -> String {
        switch contentType {
        case .json:
            "{" + variables.map { "\"\($0)\":\"{{\($0)}}\"" }.joined(separator: ",") + "}"
        case .form:
            variables.map { "\($0)={{\($0)}}" }.joined(separator: "&")
        }
    }

    public init(config: ProviderConfig) throws(ProviderConfigError) {
        url = try config.url("url", default: nil)

        let method = (config["method"] ?? "POST").uppercased()
        guard ["GET", "POST", "PUT"].contains(method) else {
            throw ProviderConfigError(key: "method", message: "must be GET, POST or PUT")
        }
        self.method = method

        let contentType: ContentType
        if let name = config["content_type"] {
            guard let known = ContentType(rawValue: name.lowercased()) else {
                throw ProviderConfigError(key: "content_type", message: "must be json or form")
            }
            contentType = known
        } else {
            contentType = method == "GET" ? .form : .json
        }
        if method == "GET" && contentType != .form {
            throw ProviderConfigError(key: "content_type", message: "must be form with method GET (the rendered body becomes the query string)")
        }
        self.contentType = contentType

        headers = try Self.headers(config.values["headers"])
        from = config["from"]

        if let path = config["id_path"] {
            let segments = path.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            guard !segments.contains(where: \.isEmpty) else {
                throw ProviderConfigError(key: "id_path", message: "must be a dot path such as data.id or messages.0.id")
            }
            idPath = segments
        } else {
            idPath = nil
        }

        let body = config["body"] ?? Self.defaultBody(contentType)
        template = try Self.template(body)
        if contentType == .json {
            let sample = Self.render(template, values: Self.sampleValues, as: .json)
            guard (try? JSONSerialization.jsonObject(with: Data(sample.utf8), options: [.fragmentsAllowed])) != nil else {
                throw ProviderConfigError(key: "body", message: "does not render valid JSON (sample render: \(sample.prefix(200)))")
            }
        }
    }

    private static func headers(_ value: JSONValue?) throws(ProviderConfigError) -> [WireHeader] {
        guard let value, value != .null else { return [] }
        guard let object = value.objectValue else {
            throw ProviderConfigError(key: "headers", message: "must be an object of header names to string values")
        }
        var headers: [WireHeader] = []
        let tokenCharacters = Set("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
        for name in object.keys.sorted() {
            guard !name.isEmpty, name.allSatisfy({ tokenCharacters.contains($0) }) else {
                throw ProviderConfigError(key: "headers", message: "has an invalid header name")
            }
            guard let text = object[name]?.stringValue, !text.unicodeScalars.contains(where: { $0 == "\r" || $0 == "\n" || $0 == "\0" }) else {
                throw ProviderConfigError(key: "headers", message: "value of \(name) must be a single-line string")
            }
            headers.append(WireHeader(name, text))
        }
        return headers
    }

    /// Parses the template, reporting a syntax error at its position in `body`, and returns it
    /// with the `TEXT` content type switched on so nothing is HTML-escaped: values arrive
    /// already escaped for the body's content type.
    private static func template(_ body: String) throws(ProviderConfigError) -> MustacheTemplate {
        do {
            _ = try MustacheTemplate(string: body)
        } catch let error as MustacheTemplate.ParserError {
            throw ProviderConfigError(
                key: "body",
                message: "is not a valid Mustache template: \(error.error) at line \(error.context.lineNumber), column \(error.context.columnNumber)")
        } catch {
            throw ProviderConfigError(key: "body", message: "is not a valid Mustache template: \(error)")
        }
        do {
            // The pragma shares its line with a comment so it is never "standalone": a body
            // starting with a newline keeps it.
            return try MustacheTemplate(string: "{{% CONTENT_TYPE: TEXT}}{{! herald }}" + body)
        } catch {
            throw ProviderConfigError(key: "body", message: "is not a valid Mustache template: \(error)")
        }
    }

    private static let sampleValues: [String: String] = [
        "to": "+15005550006",
        "from": "Herald",
        "text": "He said \"hi\" \\ & = ü 😀\n\t\u{1}",
        "message_id": "8a4e0fd2-6a56-4b4e-9f0e-1c1f4d1b9a77",
        "callback_url": "https://herald.example/webhooks/1/status?token=a&b=c",
    ]

    private static func render(_ template: MustacheTemplate, values: [String: String], as contentType: ContentType) -> String {
        let escaped = values.mapValues { value in
            switch contentType {
            case .json: jsonEscape(value)
            case .form: FormEncoding.percentEncode(value)
            }
        }
        return template.render(escaped)
    }

    /// The contents of a JSON string literal for `text` (RFC 8259 §7): quote, backslash and
    /// control characters escaped; everything else, emoji included, left as UTF-8. U+2028 and
    /// U+2029 are escaped too, for receivers that treat JSON as JavaScript.
    public static func jsonEscape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            case _ where scalar.value < 0x20 || scalar.value == 0x2028 || scalar.value == 0x2029:
                out += String(format: "\\u%04X", scalar.value)
            default:
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    public func smsRequest(_ message: OutgoingMessage) throws(ProviderFailure) -> WireRequest {
        let values = [
            "to": message.to,
            "from": message.from ?? from ?? "",
            "text": message.text,
            "message_id": message.id.uuidString.lowercased(),
            "callback_url": message.statusCallbackURL,
        ]
        let rendered = Self.render(template, values: values, as: contentType)
        if method == "GET" {
            let query = rendered.trimmingCharacters(in: .whitespacesAndNewlines)
            let separator = url.contains("?") ? "&" : "?"
            return WireRequest(method: method, url: query.isEmpty ? url : url + separator + query, headers: headers)
        }
        var requestHeaders = headers
        if !headers.contains(where: { $0.name.caseInsensitiveCompare("Content-Type") == .orderedSame }) {
            let value = contentType == .json ? "application/json" : "application/x-www-form-urlencoded"
            requestHeaders.insert(WireHeader("Content-Type", value), at: 0)
        }
        return WireRequest(method: method, url: url, headers: requestHeaders, body: Array(rendered.utf8))
    }

    public func voiceRequest(_ message: OutgoingMessage) throws(ProviderFailure) -> WireRequest {
        throw ProviderFailure(.rejected, code: "unsupported_channel", message: "the http provider type sends SMS only")
    }

    public func interpret(_ response: WireResponse, for message: OutgoingMessage) -> SubmitOutcome {
        if idPath == nil && (200..<300).contains(response.status) {
            return .accepted(providerMessageID: message.id.uuidString.lowercased())
        }
        return interpret(response, channel: message.channel)
    }

    /// Without `id_path` a 2xx answer carries no id this method can return: Herald calls
    /// `interpret(_:for:)`, which uses the message's own id.
    public func interpret(_ response: WireResponse, channel: OutgoingMessage.Channel) -> SubmitOutcome {
        let status = String(response.status)
        switch response.status {
        case 200..<300:
            guard let idPath else {
                return .failed(ProviderFailure(.rejected, code: "message_id_needed",
                                               message: "without id_path the http adapter answers through interpret(_:for:)"),
                               retryAfter: nil)
            }
            guard let id = Self.lookup(idPath, in: response.body) else {
                return .failed(ProviderFailure(.rejected, code: "invalid_response",
                                               message: "no id at \(idPath.joined(separator: ".")) in \(WireParsing.snippet(response.body))"),
                               retryAfter: nil)
            }
            return .accepted(providerMessageID: id)
        case 429:
            return .failed(ProviderFailure(.throttled, code: status, message: WireParsing.snippet(response.body)),
                           retryAfter: WireParsing.retryAfter(response))
        case 500...:
            return .failed(ProviderFailure(.unavailable, code: status, message: WireParsing.snippet(response.body)),
                           retryAfter: WireParsing.retryAfter(response))
        default:
            return .failed(ProviderFailure(.rejected, code: status, message: WireParsing.snippet(response.body)), retryAfter: nil)
        }
    }

    /// The scalar at `path` in a JSON body: object keys by name, array elements by index.
    static func lookup(_ path: [String], in body: [UInt8]) -> String? {
        guard !body.isEmpty, var node = try? JSONSerialization.jsonObject(with: Data(body), options: [.fragmentsAllowed]) else {
            return nil
        }
        for segment in path {
            if let object = node as? [String: Any], let next = object[segment] {
                node = next
            } else if let array = node as? [Any], let index = Int(segment), array.indices.contains(index) {
                node = array[index]
            } else {
                return nil
            }
        }
        guard let id = WireParsing.string(node), !id.isEmpty else { return nil }
        return id
    }

    public func verifySignature(_ request: WebhookRequest, now: Date) -> Bool { false }

    /// A webhook body as string fields: JSON (an object, or an array of objects) or a form,
    /// by `Content-Type`, or by the first character when there is none.
    private static func records(_ request: WebhookRequest) throws(WebhookError) -> [[String: String]] {
        let contentType = request.header("content-type")?.lowercased() ?? ""
        let firstCharacter = request.body.first { !" \t\r\n".utf8.contains($0) }
        let isJSON = contentType.contains("json") || (!contentType.contains("form") && (firstCharacter == UInt8(ascii: "{") || firstCharacter == UInt8(ascii: "[")))
        if isJSON {
            let parsed = try? JSONSerialization.jsonObject(with: Data(request.body))
            let objects: [[String: Any]]
            if let object = parsed as? [String: Any] { objects = [object] }
            else if let array = parsed as? [[String: Any]] { objects = array }
            else { throw WebhookError("the http webhook body is not a JSON object") }
            return objects.map { $0.compactMapValues { WireParsing.string($0) } }
        }
        let pairs = try FormEncoding.decode(request.body)
        guard !pairs.isEmpty else { throw WebhookError("the http webhook body is empty") }
        return [Dictionary(pairs, uniquingKeysWith: { first, _ in first })]
    }

    public func receipts(_ request: WebhookRequest) throws(WebhookError) -> [DeliveryReceipt] {
        try Self.records(request).map { record throws(WebhookError) in
            guard let id = record["provider_message_id"].flatMap({ $0.isEmpty ? nil : $0 })
                    ?? record["message_id"].flatMap({ $0.isEmpty ? nil : $0 }) else {
                throw WebhookError("the http status webhook has no message_id or provider_message_id")
            }
            guard let word = record["status"], let status = ReceiptStatus(rawValue: word.lowercased()) else {
                throw WebhookError("the http status webhook needs status delivered, undelivered, failed, sent or pending")
            }
            return DeliveryReceipt(providerMessageID: id, status: status, providerStatus: word,
                                   errorCode: record["error_code"].flatMap { $0.isEmpty ? nil : $0 },
                                   errorMessage: record["error_message"].flatMap { $0.isEmpty ? nil : $0 })
        }
    }

    public func inbound(_ request: WebhookRequest) throws(WebhookError) -> InboundMessage {
        guard let record = try Self.records(request).first,
              let from = record["from"], !from.isEmpty, let to = record["to"], !to.isEmpty else {
            throw WebhookError("the http inbound webhook needs from and to")
        }
        return InboundMessage(providerMessageID: record["id"].flatMap { $0.isEmpty ? nil : $0 },
                              from: from, to: to, text: record["text"] ?? "")
    }
}
