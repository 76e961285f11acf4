import Foundation
import HTTPTypes
import Herald
import Hummingbird
import NIOCore
import Providers
import SMS

/// Twilio Verify v2, as an app built on a Twilio SDK calls it: form-encoded parameters, HTTP
/// Basic auth (any user name; a Herald API key with the `verifications` scope as the
/// password), Twilio's JSON shapes, statuses and error codes. Each purpose is one Verify
/// service (`GET /v1/settings` lists the SIDs), so moving an app to Herald means changing the
/// base URL and the service SID.
struct TwilioVerifyRoutes {
    let verifications: VerificationService
    let identity: IdentityService
    let publicURL: String

    /// `VE` + the verification id's 32 hex digits.
    static func sid(_ id: UUID) -> String { "VE" + id.uuidString.lowercased().replacingOccurrences(of: "-", with: "") }

    static func id(sid: String) -> UUID? {
        guard sid.count == 34, sid.hasPrefix("VE") else { return nil }
        let hex = Array(sid.dropFirst(2))
        guard hex.allSatisfy(\.isHexDigit) else { return nil }
        let text = String(hex[0..<8]) + "-" + String(hex[8..<12]) + "-" + String(hex[12..<16]) + "-" + String(hex[16..<20]) + "-"
            + String(hex[20..<32])
        return UUID(uuidString: text)
    }

    /// A stable account SID for this server (Twilio's shapes carry one).
    var accountSID: String { "AC" + (verifications.serviceSIDs[.login] ?? "VA").dropFirst(2) }

    struct VerificationResource: Encodable {
        struct Attempt: Encodable {
            let attemptSid: String
            let channel: String
            let time: Date
            enum CodingKeys: String, CodingKey { case attemptSid = "attempt_sid", channel, time }
        }

        let sid: String
        let serviceSid: String
        let accountSid: String
        let to: String
        let channel: String
        let status: String
        let valid: Bool
        @Nullable var amount: String?
        @Nullable var payee: String?
        let lookup: [String: String]
        let sendCodeAttempts: [Attempt]
        let dateCreated: Date
        let dateUpdated: Date
        @Nullable var url: String?

        enum CodingKeys: String, CodingKey {
            case sid, serviceSid = "service_sid", accountSid = "account_sid", to, channel, status, valid, amount, payee, lookup
            case sendCodeAttempts = "send_code_attempts", dateCreated = "date_created", dateUpdated = "date_updated", url
        }
    }

    struct CheckResource: Encodable {
        let sid: String
        let serviceSid: String
        let accountSid: String
        let to: String
        let channel: String
        let status: String
        let valid: Bool
        @Nullable var amount: String?
        @Nullable var payee: String?
        let snaAttemptsErrorCodes: [String]
        let dateCreated: Date
        let dateUpdated: Date

        enum CodingKeys: String, CodingKey {
            case sid, serviceSid = "service_sid", accountSid = "account_sid", to, channel, status, valid, amount, payee
            case snaAttemptsErrorCodes = "sna_attempts_error_codes", dateCreated = "date_created", dateUpdated = "date_updated"
        }
    }

    /// Twilio's error body.
    struct TwilioError: Error {
        let status: HTTPResponse.Status
        let code: Int
        let message: String
        var retryAfter: Int?

        struct Body: Encodable {
            let code: Int
            let message: String
            let moreInfo: String
            let status: Int
            enum CodingKeys: String, CodingKey { case code, message, moreInfo = "more_info", status }
        }

        func response() throws -> Response {
            var headers: HTTPFields = [:]
            if let retryAfter { headers[.retryAfter] = String(retryAfter) }
            return try JSON.response(Body(code: code, message: message, moreInfo: "https://www.twilio.com/docs/errors/\(code)",
                                          status: Int(status.code)), status: status, headers: headers)
        }

        /// Herald's domain errors in Twilio's words.
        init(_ error: HeraldError) {
            retryAfter = error.retryAfter
            switch error.code {
            case .validationFailed, .invalidPhoneNumber, .idempotencyConflict:
                let field = error.field.map { " " + Self.parameter($0) } ?? ""
                (status, code, message) = (.badRequest, 60200, "Invalid parameter\(field): \(error.message)")
            case .numberTypeNotSupported: (status, code, message) = (.badRequest, 60205, "SMS is not supported by landline phone number")
            case .countryNotAllowed:
                (status, code, message) = (.forbidden, 60605, "Verification delivery attempt blocked: geo permissions")
            case .resendTooSoon, .maxSendsReached: (status, code, message) = (.tooManyRequests, 60203, "Max send attempts reached")
            case .rateLimited: (status, code, message) = (.tooManyRequests, 20429, "Too Many Requests")
            case .suspectedFraud: (status, code, message) = (.tooManyRequests, 60410, "Verification delivery attempt blocked (Fraud Guard)")
            case .verificationNotFound, .notFound: (status, code, message) = (.notFound, 20404, "The requested resource was not found")
            case .unauthorized, .invalidCredentials: (status, code, message) = (.unauthorized, 20003, "Authenticate")
            case .forbidden: (status, code, message) = (.forbidden, 20403, "Forbidden: \(error.message)")
            default: (status, code, message) = (.internalServerError, 20500, "Internal Server Error")
            }
        }

        init(status: HTTPResponse.Status, code: Int, message: String) {
            self.status = status; self.code = code; self.message = message
        }

        /// Herald's field names as Twilio's parameters.
        static func parameter(_ field: String) -> String {
            switch field {
            case "to": "To"
            case "channel": "Channel"
            case "code": "Code"
            case "locale": "Locale"
            case "id": "VerificationSid"
            case "payment", "payment.amount", "payment.currency": "Amount"
            case "payment.payee": "Payee"
            default: field
            }
        }
    }

    func register(on router: RouteRegistrar) {
        router.post("/v2/Services/{service}/Verifications") { request, context in
            try await twilio(request, context) { purpose, form in
                let channel = try Self.channel(form["Channel"])
                let outcome = try await verifications.start(
                    StartVerificationRequest(to: form["To"], channel: channel, purpose: purpose.rawValue, locale: form["Locale"],
                                             payment: try Self.payment(purpose: purpose, amount: form["Amount"], payee: form["Payee"])),
                    apiKeyID: try await principal(request).apiKeyID)
                return try JSON.response(resource(outcome.verification), status: .created)
            }
        }
        router.post("/v2/Services/{service}/VerificationCheck") { request, context in
            try await twilio(request, context) { purpose, form in
                _ = try await principal(request)
                var check = CheckVerificationRequest(code: form["Code"])
                if let sid = form["VerificationSid"] {
                    guard let id = Self.id(sid: sid) else { throw HeraldError(.verificationNotFound, "no such verification") }
                    check.id = id.uuidString
                } else {
                    guard let to = form["To"] else { throw HeraldError.validation("to", "To or VerificationSid is required") }
                    check.to = to
                    check.purpose = purpose.rawValue
                }
                if purpose == .payment {
                    check.payment = try Self.payment(purpose: purpose, amount: form["Amount"], payee: form["Payee"])
                }
                // Twilio's checks see pending verifications only; one whose checks ran out
                // answers 60202 from then on.
                if let id = check.id.flatMap(UUID.init(uuidString:)) {
                    let current = try await verifications.verification(id: id)
                    guard current.purpose == purpose else { throw HeraldError(.verificationNotFound, "no such verification") }
                    if current.status == .maxAttemptsReached {
                        throw TwilioError(status: .tooManyRequests, code: 60202, message: "Max check attempts reached")
                    }
                    guard current.status == .pending else { throw HeraldError(.verificationNotFound, "no pending verification") }
                }
                let result = try await verifications.check(check)
                // The check that used the last attempt is answered as such (status max_attempts_reached).
                if !result.valid, result.status != .pending, result.status != .maxAttemptsReached {
                    throw HeraldError(.verificationNotFound, "no pending verification")
                }
                let verification = try await verifications.verification(id: result.id)
                return try JSON.response(CheckResource(
                    sid: Self.sid(verification.id), serviceSid: verifications.serviceSIDs[purpose]!, accountSid: accountSID,
                    to: verification.to, channel: Self.channelName(verification.channel), status: result.status.rawValue,
                    valid: result.valid, amount: Self.amount(verification.payment), payee: verification.payment?.payee,
                    snaAttemptsErrorCodes: [], dateCreated: verification.createdAt, dateUpdated: verification.updatedAt))
            }
        }
        router.get("/v2/Services/{service}/Verifications/{sid}") { request, context in
            try await twilio(request, context, form: false) { purpose, _ in
                _ = try await principal(request)
                guard let id = context.parameters.get("sid").flatMap(Self.id(sid:)) else {
                    throw HeraldError(.verificationNotFound, "no such verification")
                }
                let verification = try await verifications.verification(id: id)
                guard verification.purpose == purpose else { throw HeraldError(.verificationNotFound, "no such verification") }
                return try JSON.response(resource(verification))
            }
        }
    }

    /// Runs a Twilio endpoint: resolves the service SID to a purpose, reads the form, and
    /// answers every failure in Twilio's error shape.
    func twilio(
        _ request: Request, _ context: HeraldRequestContext, form readForm: Bool = true,
        _ body: (VerificationPurpose, [String: String]) async throws -> Response
    ) async throws -> Response {
        do {
            guard let purpose = context.parameters.get("service").flatMap(verifications.purpose(serviceSID:)) else {
                _ = try await principal(request)
                throw HeraldError(.notFound, "no such service")
            }
            var form: [String: String] = [:]
            if readForm {
                let buffer = try await request.body.collect(upTo: 64 * 1024)
                do {
                    for (name, value) in try FormEncoding.decode(Array(buffer.readableBytesView)) where form[name] == nil { form[name] = value }
                } catch {
                    throw HeraldError.validation("body", "the body must be application/x-www-form-urlencoded")
                }
            }
            return try await body(purpose, form)
        } catch let error as TwilioError {
            return try error.response()
        } catch let error as HeraldError {
            return try TwilioError(error).response()
        } catch is NIOTooManyBytesError {
            return try TwilioError(status: .contentTooLarge, code: 60200, message: "Invalid parameter: the body is too large").response()
        }
    }

    /// The caller, from HTTP Basic auth: any user name, a Herald API key as the password.
    func principal(_ request: Request) async throws -> Principal {
        guard let header = request.headers[.authorization], header.lowercased().hasPrefix("basic "),
              let decoded = Data(base64Encoded: String(header.dropFirst(6)).trimmingCharacters(in: .whitespaces)),
              let text = String(data: decoded, encoding: .utf8), let colon = text.firstIndex(of: ":"),
              let principal = try await identity.authenticate(apiKey: String(text[text.index(after: colon)...]))
        else { throw HeraldError(.unauthorized, "send a Herald API key as the Basic auth password") }
        guard principal.allows(.verifications, write: true) else {
            throw HeraldError(.forbidden, "the API key lacks the 'verifications' scope")
        }
        return principal
    }

    func resource(_ verification: Verification) -> VerificationResource {
        let serviceSID = verifications.serviceSIDs[verification.purpose]!
        let base = publicURL.hasSuffix("/") ? String(publicURL.dropLast()) : publicURL
        return VerificationResource(
            sid: Self.sid(verification.id), serviceSid: serviceSID, accountSid: accountSID, to: verification.to,
            channel: Self.channelName(verification.channel), status: verification.status.rawValue,
            valid: verification.status == .approved, amount: Self.amount(verification.payment), payee: verification.payment?.payee,
            lookup: [:],
            sendCodeAttempts: verification.messageID.map {
                [VerificationResource.Attempt(attemptSid: "VL" + $0.uuidString.lowercased().replacingOccurrences(of: "-", with: ""),
                                              channel: Self.channelName(verification.channel), time: verification.updatedAt)]
            } ?? [],
            dateCreated: verification.createdAt, dateUpdated: verification.updatedAt,
            url: "\(base)/v2/Services/\(serviceSID)/Verifications/\(Self.sid(verification.id))")
    }

    static func channel(_ raw: String?) throws -> String? {
        switch raw {
        case nil, "sms": return "sms"
        case "call": return "voice"
        default: throw HeraldError.validation("channel", "Herald sends codes by sms or call")
        }
    }

    static func channelName(_ channel: MessageChannel) -> String { channel == .voice ? "call" : "sms" }

    static func amount(_ payment: PaymentDetails?) -> String? {
        payment.map { "\($0.amount) \($0.currency)" }
    }

    /// Twilio's `Amount` carries its currency: `€39.99`, `$5`, `39.99 EUR` or `EUR 39.99`.
    static func payment(purpose: VerificationPurpose, amount: String?, payee: String?) throws -> PaymentInput? {
        guard purpose == .payment else {
            if amount != nil || payee != nil { throw HeraldError.validation("payment", "Amount and Payee are for the payment service only") }
            return nil
        }
        guard let amount else { throw HeraldError.validation("payment.amount", "Amount is required for a payment verification") }
        let symbols: [String: String] = ["€": "EUR", "$": "USD", "£": "GBP", "¥": "JPY", "₹": "INR", "₽": "RUB", "R$": "BRL"]
        let trimmed = amount.trimmingCharacters(in: .whitespaces)
        for (symbol, code) in symbols.sorted(by: { $0.key.count > $1.key.count }) where trimmed.hasPrefix(symbol) {
            return PaymentInput(amount: String(trimmed.dropFirst(symbol.count)).trimmingCharacters(in: .whitespaces), currency: code, payee: payee)
        }
        let parts = trimmed.split(separator: " ")
        if parts.count == 2 {
            let (first, second) = (String(parts[0]), String(parts[1]))
            if first.count == 3, first.allSatisfy(\.isLetter) { return PaymentInput(amount: second, currency: first, payee: payee) }
            if second.count == 3, second.allSatisfy(\.isLetter) { return PaymentInput(amount: first, currency: second, payee: payee) }
        }
        throw HeraldError.validation("payment.amount", "Amount must carry its currency, like €39.99 or 39.99 EUR")
    }
}
