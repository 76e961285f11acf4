import Foundation
import HTTPTypes
import Herald
import Hummingbird
import SMS

/// A verification on the wire (API.md, "Verification codes"). Never the code.
struct VerificationBody: Encodable {
    struct PaymentBody: Encodable {
        let amount: String
        let currency: String
        let payee: String
    }

    let id: String
    let to: String
    @Nullable var country: String?
    let channel: MessageChannel
    let purpose: VerificationPurpose
    let status: VerificationStatus
    let locale: String
    let codeLength: Int
    let expiresAt: Date
    let sendCount: Int
    let maxSends: Int
    @Nullable var nextSendAt: Date?
    let attemptsLeft: Int
    @Nullable var payment: PaymentBody?
    let test: Bool
    @Nullable var messageID: String?
    @Nullable var deliveryStatus: String?
    let createdAt: Date
    let updatedAt: Date
    @Nullable var approvedAt: Date?

    enum CodingKeys: String, CodingKey {
        case id, to, country, channel, purpose, status, locale, codeLength = "code_length", expiresAt = "expires_at"
        case sendCount = "send_count", maxSends = "max_sends", nextSendAt = "next_send_at", attemptsLeft = "attempts_left"
        case payment, test, messageID = "message_id", deliveryStatus = "delivery_status", createdAt = "created_at"
        case updatedAt = "updated_at", approvedAt = "approved_at"
    }

    init(_ v: Verification) {
        id = v.id.wire
        to = v.to
        country = v.country
        channel = v.channel
        purpose = v.purpose
        status = v.status
        locale = v.locale
        codeLength = v.codeLength
        expiresAt = v.expiresAt
        sendCount = v.sendCount
        maxSends = v.maxSends
        // No further send once the maximum is reached or the verification is over.
        nextSendAt = v.status == .pending && v.sendCount < v.maxSends ? v.nextSendAt : nil
        attemptsLeft = v.attemptsLeft
        payment = v.payment.map { PaymentBody(amount: $0.amount, currency: $0.currency, payee: $0.payee) }
        test = v.test
        messageID = v.messageID?.wire
        deliveryStatus = v.deliveryStatus
        createdAt = v.createdAt
        updatedAt = v.updatedAt
        approvedAt = v.approvedAt
    }
}

/// `/v1/verifications` and the fraud guard's admin endpoints.
struct VerificationRoutes {
    let verifications: VerificationService
    let auditor: Auditor

    struct PaymentRequest: Decodable {
        let amount: String?
        let currency: String?
        let payee: String?
        var domain: PaymentInput { PaymentInput(amount: amount, currency: currency, payee: payee) }
    }

    struct StartRequest: Decodable {
        let to: String?
        let country: String?
        let channel: String?
        let purpose: String?
        let locale: String?
        let codeLength: Int?
        let clientIP: String?
        let payment: PaymentRequest?
        enum CodingKeys: String, CodingKey {
            case to, country, channel, purpose, locale, codeLength = "code_length", clientIP = "client_ip", payment
        }
        var domain: StartVerificationRequest {
            StartVerificationRequest(to: to, country: country, channel: channel, purpose: purpose, locale: locale, codeLength: codeLength,
                                     clientIP: clientIP, payment: payment?.domain)
        }
    }

    struct CheckRequest: Decodable {
        let id: String?
        let to: String?
        let country: String?
        let purpose: String?
        let code: String?
        let payment: PaymentRequest?
        var domain: CheckVerificationRequest {
            CheckVerificationRequest(id: id, to: to, country: country, purpose: purpose, code: code, payment: payment?.domain)
        }
    }

    struct CheckBody: Encodable {
        let id: String
        let status: VerificationStatus
        let valid: Bool
        let attemptsLeft: Int
        enum CodingKeys: String, CodingKey { case id, status, valid, attemptsLeft = "attempts_left" }
    }

    struct BlockBody: Encodable {
        let prefix: String
        @Nullable var country: String?
        let reason: String
        let blockedAt: Date
        let blockedUntil: Date
        enum CodingKeys: String, CodingKey {
            case prefix, country, reason, blockedAt = "blocked_at", blockedUntil = "blocked_until"
        }
    }

    struct TextBody: Encodable {
        let locale: String
        let channel: MessageChannel
        let purpose: VerificationPurpose
        let text: String
        let defaultText: String
        let overridden: Bool
        let preview: String
        let encoding: SMSEncoding
        let segments: Int
        let characters: Int
        enum CodingKeys: String, CodingKey {
            case locale, channel, purpose, text, defaultText = "default_text", overridden, preview, encoding, segments, characters
        }
        init(_ p: VerificationService.TextPreview) {
            locale = p.locale; channel = p.channel; purpose = p.purpose; text = p.text; defaultText = p.defaultText
            overridden = p.overridden; preview = p.preview; encoding = p.encoding; segments = p.segments; characters = p.characters
        }
    }

    struct TextPreviewRequest: Decodable {
        let text: String
        let channel: String
        let purpose: String
        let locale: String
    }

    struct LiftRequest: Decodable {
        let prefix: String
    }

    struct ConversionBody: Encodable {
        @Nullable var country: String?
        let channel: MessageChannel
        let created: Int
        let approved: Int
        let rate: Double
    }

    func register(on router: RouteRegistrar) {
        router.post("/v1/verifications") { request, context in
            let principal = try context.require(.verifications, write: true)
            let outcome: VerificationStart
            if let key = request.headers[HTTPField.Name("Idempotency-Key")!] {
                let raw = try await JSON.body(of: request, context: context)
                let body = try JSON.decode(StartRequest.self, from: raw)
                let canonical = try JSON.encoder.encode(try JSON.decode(JSONValue.self, from: raw))
                outcome = try await verifications.start(body.domain, apiKeyID: principal.apiKeyID, idempotencyKey: key,
                                                        canonicalRequest: Array(canonical))
            } else {
                let body = try await JSON.decode(StartRequest.self, from: request, context: context)
                outcome = try await verifications.start(body.domain, apiKeyID: principal.apiKeyID)
            }
            switch outcome {
            case .created(let verification): return try JSON.response(VerificationBody(verification), status: .created)
            case .resent(let verification): return try JSON.response(VerificationBody(verification))
            }
        }
        router.post("/v1/verifications/check") { request, context in
            try context.require(.verifications, write: true)
            let body = try await JSON.decode(CheckRequest.self, from: request, context: context)
            let result = try await verifications.check(body.domain)
            return try JSON.response(CheckBody(id: result.id.wire, status: result.status, valid: result.valid, attemptsLeft: result.attemptsLeft))
        }
        router.get("/v1/verifications/{id}") { request, context in
            try context.require(.verifications, write: false)
            let id = try Self.id(context)
            return try JSON.response(VerificationBody(try await verifications.verification(id: id)))
        }
        router.post("/v1/verifications/{id}/cancel") { request, context in
            try context.require(.verifications, write: true)
            let id = try Self.id(context)
            let canceled = VerificationBody(try await verifications.cancel(id: id))
            await auditor.record(request, context, "verification.cancel", AuditTarget("verification", id: id), after: canceled)
            return try JSON.response(canceled)
        }
        router.get("/v1/verifications") { request, context in
            try context.require(.verifications, write: false)
            let (limit, cursor) = try request.listParameters()
            let query = request.uri.queryParameters
            var filter = VerificationFilter()
            if let raw = query["to"].map(String.init) {
                filter.to = try PhoneNumberInput(raw, country: query["country"].map(String.init)).parse(field: "to").e164
            }
            if let raw = query["status"].map(String.init) {
                guard let status = VerificationStatus(rawValue: raw) else {
                    throw HeraldError.validation("status", "must be one of \(VerificationStatus.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                filter.status = status
            }
            if let raw = query["purpose"].map(String.init) {
                guard let purpose = VerificationPurpose(rawValue: raw) else {
                    throw HeraldError.validation("purpose", "must be one of \(VerificationPurpose.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                filter.purpose = purpose
            }
            if let raw = query["channel"].map(String.init) {
                guard let channel = MessageChannel(rawValue: raw) else { throw HeraldError.validation("channel", "must be sms or voice") }
                filter.channel = channel
            }
            let page = try await verifications.verifications(filter, limit: limit, cursor: cursor)
            return try JSON.response(ListResponse(data: page.items.map(VerificationBody.init), nextCursor: page.nextCursor))
        }
        router.get("/v1/verification-stats") { request, context in
            try context.require(.verifications, write: false)
            let hours = try request.hoursParameter(1...24 * 90, default: 24)
            let figures = try await verifications.conversion(hours: hours)
            return try JSON.response(ListResponse(
                data: figures.map { ConversionBody(country: $0.country, channel: $0.channel, created: $0.created, approved: $0.approved, rate: $0.rate) },
                nextCursor: nil))
        }
        router.get("/v1/verification-texts") { request, context in
            try context.require(.admin, write: false)
            let locale = request.uri.queryParameters["locale"].map(String.init)
            let previews = try await verifications.textPreviews(locale: locale)
            return try JSON.response(ListResponse(data: previews.map(TextBody.init), nextCursor: nil))
        }
        router.post("/v1/verification-texts/preview") { request, context in
            try context.require(.admin, write: false)
            let body = try await JSON.decode(TextPreviewRequest.self, from: request, context: context)
            guard let channel = MessageChannel(rawValue: body.channel) else { throw HeraldError.validation("channel", "must be sms or voice") }
            guard let purpose = VerificationPurpose(rawValue: body.purpose) else {
                throw HeraldError.validation("purpose", "must be one of \(VerificationPurpose.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return try JSON.response(TextBody(try await verifications.previewText(body.text, purpose: purpose, channel: channel, locale: body.locale)))
        }
        router.get("/v1/verification-blocks") { request, context in
            try context.require(.admin, write: false)
            let blocks = try await verifications.blockedPrefixes()
            return try JSON.response(ListResponse(
                data: blocks.map { BlockBody(prefix: $0.prefix, country: $0.country, reason: $0.reason, blockedAt: $0.blockedAt, blockedUntil: $0.blockedUntil) },
                nextCursor: nil))
        }
        router.post("/v1/verification-blocks/lift") { request, context in
            let principal = try context.require(.admin, write: true)
            let body = try await JSON.decode(LiftRequest.self, from: request, context: context)
            try await verifications.liftBlock(prefix: body.prefix, by: principal.actorLabel)
            await auditor.record(request, context, "verification_block.lift", AuditTarget("number_prefix", id: body.prefix))
            return Response(status: .noContent)
        }
    }

    /// A path id; anything that is not one is simply not found.
    static func id(_ context: HeraldRequestContext) throws -> UUID {
        guard let text = context.parameters.get("id"), let id = UUID(uuidString: text) else {
            throw HeraldError(.verificationNotFound, "no verification with this id")
        }
        return id
    }
}
