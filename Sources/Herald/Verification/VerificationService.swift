import Crypto
import Curl
import Foundation
import Logging
import Metrics
import Phone
import Postgres
import SMS

/// Verification codes (API.md, "Verification codes"; DESIGN.md's rules): creates and resends
/// codes through the messaging engine's transactional lane, checks them once, and keeps the
/// limits and the fraud guard in PostgreSQL so they hold across processes.
public struct VerificationService: Sendable {
    let store: VerificationStore
    let messages: MessageStore
    let idempotency: IdempotencyStore
    let limits: RateLimitStore
    let settings: SettingsService
    let texts: VerificationTexts
    let codes: VerificationCodes
    let seal: CodeSeal
    let events: EventService
    let clock: any HeraldClock
    /// Told after a code message is committed (wakes the dispatchers).
    let onQueued: @Sendable () -> Void
    /// Group commit of new verifications: concurrent creates are written by one statement and
    /// one commit (never two for one number and purpose in a batch).
    let intake: GroupCommit<VerificationStore.Creation, Verification?>
    let logger: Logger

    init(store: VerificationStore, messages: MessageStore, idempotency: IdempotencyStore, limits: RateLimitStore,
         settings: SettingsService, texts: VerificationTexts, codes: VerificationCodes, seal: CodeSeal, events: EventService,
         clock: any HeraldClock, onQueued: @escaping @Sendable () -> Void, logger: Logger) {
        self.store = store; self.messages = messages; self.idempotency = idempotency; self.limits = limits
        self.settings = settings; self.texts = texts; self.codes = codes; self.seal = seal; self.events = events
        self.clock = clock; self.onQueued = onQueued; self.logger = logger
        serviceSIDs = Dictionary(uniqueKeysWithValues: VerificationPurpose.allCases.map { ($0, codes.serviceSID($0)) })
        intake = GroupCommit(writers: 2, maximumBatch: 128,
                             conflictKeys: { [$0.verification.to + "\u{1F}" + $0.verification.purpose.rawValue] }) { batch in
            try await store.create(batch, now: clock.now)
        }
    }

    /// How the guard judges a prefix, from the settings.
    static func fraudGuard(_ settings: Settings.Verification) -> FraudGuard {
        FraudGuard(minimumSends: settings.fraudMinimumSends, maximumConversionPercent: settings.fraudMaximumConversionPercent,
                   blockMinutes: settings.fraudBlockMinutes)
    }

    /// The Twilio Verify service SID of each purpose (`GET /v1/settings` lists them), derived
    /// once from the server secret.
    public let serviceSIDs: [VerificationPurpose: String]

    /// The purpose a Twilio Verify service SID stands for.
    public func purpose(serviceSID: String) -> VerificationPurpose? {
        VerificationPurpose.allCases.first { ConstantTime.equals(serviceSIDs[$0]!, serviceSID) }
    }

    // MARK: Create and resend

    /// A request checked and resolved against the settings, before anything is written.
    struct Prepared: Sendable {
        var number: PhoneNumber
        var purpose: VerificationPurpose
        var channel: MessageChannel
        var locale: String
        var codeLength: Int
        var clientIP: String?
        var payment: PaymentDetails?
        /// The fixed code of a test number (never sent).
        var testCode: String?
        var settings: Settings
    }

    func prepare(_ request: StartVerificationRequest) async throws -> Prepared {
        guard let rawTo = request.to else { throw HeraldError.validation("to", "is required") }
        let purpose = try VerificationInput.purpose(request.purpose)
        let channel: MessageChannel
        switch request.channel {
        case nil: channel = .sms
        case let raw?:
            guard let parsed = MessageChannel(rawValue: raw) else { throw HeraldError.validation("channel", "must be sms or voice") }
            channel = parsed
        }
        if let locale = request.locale, LocaleFallback.canonical(locale) == nil {
            throw HeraldError.validation("locale", "must be a language tag like en or pt-BR")
        }
        let current = try await settings.current()
        let codeLength = request.codeLength ?? current.verification.codeLength
        guard (4...10).contains(codeLength) else { throw HeraldError.validation("code_length", "must be a whole number from 4 to 10") }
        var clientIP: String?
        if let raw = request.clientIP {
            guard raw.utf8.count <= 64, let address = IPAddress(raw) else {
                throw HeraldError.validation("client_ip", "must be an IPv4 or IPv6 address")
            }
            clientIP = address.description
        }
        var payment: PaymentDetails?
        switch (purpose, request.payment) {
        case (.payment, nil): throw HeraldError.validation("payment", "is required when purpose is payment")
        case (.payment, let input?): payment = try PaymentRules.validate(input)
        case (_, .some): throw HeraldError.validation("payment", "is only allowed when purpose is payment")
        case (_, nil): break
        }
        let number = try PhoneNumberInput(rawTo, country: request.country).parse(field: "to")
        guard current.allows(country: number.regionCode) else {
            throw HeraldError(.countryNotAllowed, "verification codes to this country are not allowed by the settings", field: "to")
        }
        var testCode = current.verification.testNumbers[number.e164]
        if let code = testCode, code.count != codeLength { testCode = String(code.prefix(codeLength)).padding(toLength: codeLength, withPad: "0", startingAt: 0) }
        if channel == .sms && !number.isSMSCapable && testCode == nil {
            throw HeraldError(.numberTypeNotSupported,
                              "this number cannot receive SMS (it is a \(number.type.rawValue.replacingOccurrences(of: "_", with: " ")) number); request the code with channel voice",
                              field: "channel")
        }
        return Prepared(number: number, purpose: purpose, channel: channel, locale: texts.resolve(request.locale, overridden: current.verification.texts.keys.compactMap {
                            $0.split(separator: ".", maxSplits: 2).last.map(String.init) }),
                        codeLength: codeLength, clientIP: clientIP, payment: payment, testCode: testCode, settings: current)
    }

    /// Creates a verification and sends its code, or — when one is pending for the number and
    /// purpose — resends: a new code (the old one stops working), after the cooldown, up to
    /// the maximum number of sends.
    public func start(_ request: StartVerificationRequest, apiKeyID: UUID?) async throws -> VerificationStart {
        let prepared = try await prepare(request)
        try await admit(prepared)
        let outcome = try await perform(prepared, apiKeyID: apiKeyID, on: nil)
        await started(outcome)
        return outcome
    }

    /// `start` under an `Idempotency-Key` (as for messages): the same key and body within 24 h
    /// return the first result, a different body is `idempotency_conflict`.
    public func start(
        _ request: StartVerificationRequest, apiKeyID: UUID?, idempotencyKey: String, canonicalRequest: [UInt8]
    ) async throws -> VerificationStart {
        let keyed = try IdempotencyStore.Request(kind: "verifications", key: idempotencyKey, apiKeyID: apiKeyID,
                                                 canonicalRequest: canonicalRequest)
        func replay(_ stored: IdempotencyStore.Stored) throws -> VerificationStart {
            let snapshot = try MessageService.snapshotDecoder.decode(Snapshot.self, from: try keyed.replay(stored))
            return snapshot.resent ? .resent(snapshot.verification) : .created(snapshot.verification)
        }
        if let stored = try await idempotency.lookup(scope: keyed.scope, key: keyed.key, now: clock.now) {
            return try replay(stored)
        }
        let prepared = try await prepare(request)
        try await admit(prepared)
        let (stored, replayed) = try await idempotency.once(scope: keyed.scope, key: keyed.key, requestHash: keyed.hash, now: clock.now) { connection in
            let outcome = try await perform(prepared, apiKeyID: apiKeyID, on: connection)
            let snapshot = Snapshot(verification: outcome.verification, resent: { if case .resent = outcome { true } else { false } }())
            return try MessageService.snapshotEncoder.encode(snapshot)
        }
        let outcome = try replay(stored)
        if !replayed { await started(outcome) }
        return outcome
    }

    /// The stored first result of a keyed create.
    struct Snapshot: Codable {
        var verification: Verification
        var resent: Bool
    }

    /// The limits and the fraud guard, for a request that would create a verification (a
    /// resend is held by its cooldown and maximum instead). Test numbers are exempt: they
    /// never cost a send. Two statements: what stands (a pending verification, a block), then
    /// one hit on every limit at once — the per-prefix count doubling as the fraud guard's
    /// count of codes, beside its count of approvals.
    func admit(_ prepared: Prepared) async throws {
        guard prepared.testCode == nil else { return }
        let now = clock.now
        let e164 = prepared.number.e164
        let prefix = NumberPrefix.of(e164)
        let standing = try await store.admission(to: e164, purpose: prepared.purpose, prefix: prefix, now: now)
        if let pending = standing.pending, pending.expiresAt > now, pending.payment == prepared.payment {
            return  // a resend
        }
        if let until = standing.blockedUntil {
            Metrics.refused(.suspectedFraud)
            throw HeraldError(.suspectedFraud, "verification requests for this number range are paused after unusual activity",
                              field: "to", retryAfter: max(1, Int(until.timeIntervalSince(now).rounded(.up))))
        }
        let v = prepared.settings.verification
        let hour = Duration.seconds(3600)
        let prefixKey = Self.prefixKey(prefix)
        var rules: [(key: String, limit: Int, window: Duration)] = [
            ("verify:number:" + Self.digest(e164), v.perNumberPerHour, hour),
            (prefixKey, v.perPrefixPerHour, hour),
            ("verify:country:" + (prepared.number.regionCode ?? "unknown"), v.perCountryPerHour, hour),
        ]
        if let ip = prepared.clientIP { rules.append(("verify:ip:" + ip, v.perIPPerHour, hour)) }
        let approvedKey = Self.approvedKey(prefix)
        let (decisions, peeked) = try await limits.hit(rules, peek: [approvedKey], now: now)
        let what = [rules[0].key: ("this number", "to"), prefixKey: ("this number range", "to"), rules[2].key: ("this country", "to")]
        for (rule, decision) in zip(rules, decisions) {
            if case .denied(let retryAfter) = decision {
                Metrics.refused(.rateLimited)
                let (subject, field) = what[rule.key] ?? ("this client address", "client_ip")
                throw HeraldError(.rateLimited, "too many verification requests for \(subject); try again later",
                                  field: field, retryAfter: retryAfter)
            }
        }
        // The fraud guard: a prefix sending many codes that almost nobody enters is pumping.
        // Its count of codes is the per-prefix limit's, less this request: the codes sent before it.
        let guardRule = Self.fraudGuard(v)
        guard case .allowed(let remaining) = decisions[1] else { return }
        let created = v.perPrefixPerHour - remaining - 1
        let approved = peeked[approvedKey] ?? 0
        if guardRule.shouldBlock(created: created, approved: approved) {
            let until = now.addingTimeInterval(TimeInterval(guardRule.blockMinutes * 60))
            try await store.block(prefix: prefix, country: prepared.number.regionCode,
                                  reason: "\(created) codes in the last hour, \(approved) approved",
                                  created: created, approved: approved, until: until, now: now)
            Metrics.refused(.suspectedFraud)
            logger.warning("verification fraud guard blocked a number range",
                           metadata: ["verification.country": "\(prepared.number.regionCode ?? "unknown")",
                                      "verification.created": "\(created)", "verification.approved": "\(approved)"])
            throw HeraldError(.suspectedFraud, "verification requests for this number range are paused after unusual activity",
                              field: "to", retryAfter: guardRule.blockMinutes * 60)
        }
    }

    /// The per-prefix limit's key: also the fraud guard's count of codes for the prefix.
    static func prefixKey(_ prefix: String) -> String { "verify:prefix:" + digest(prefix) }
    /// The fraud guard's count of approvals for a prefix.
    static func approvedKey(_ prefix: String) -> String { "verify:approved:" + digest(prefix) }

    /// Creates, or resends the pending verification of the number and purpose. `connection`:
    /// the caller's transaction (an `Idempotency-Key`'s); without one, a new verification is one
    /// statement in its own commit, and only a resend takes a transaction.
    func perform(_ prepared: Prepared, apiKeyID: UUID?, on connection: PostgresConnection?) async throws -> VerificationStart {
        if let created = try await create(prepared, apiKeyID: apiKeyID, on: connection) { return .created(created) }
        if let connection { return try await resend(prepared, apiKeyID: apiKeyID, on: connection) }
        return try await store.pool.withTransaction { connection in
            try await resend(prepared, apiKeyID: apiKeyID, on: connection)
        }
    }

    private func lifetime(_ prepared: Prepared) -> TimeInterval {
        let v = prepared.settings.verification
        return TimeInterval(prepared.purpose == .payment ? v.paymentTTLSeconds : v.ttlSeconds)
    }

    /// A new verification with its code message, or nil when a pending one stands.
    private func create(_ prepared: Prepared, apiKeyID: UUID?, on connection: PostgresConnection?) async throws -> Verification? {
        let now = clock.now
        let v = prepared.settings.verification
        let id = UUID()
        let code = prepared.testCode ?? VerificationCodes.generate(length: prepared.codeLength)
        let message = try codeMessage(code, verificationID: id, prepared: prepared, apiKeyID: apiKeyID, now: now)
        let creation = VerificationStore.Creation(
            verification: VerificationStore.New(
                id: id, to: prepared.number.e164, country: prepared.number.regionCode, channel: prepared.channel,
                purpose: prepared.purpose, locale: prepared.locale, codeLength: prepared.codeLength,
                codeMAC: codes.mac(id: id, code: code, payment: prepared.payment), payment: prepared.payment,
                maxChecks: v.maxChecks, maxSends: v.maxSends,
                nextSendAt: now.addingTimeInterval(ResendPolicy.cooldown(afterSend: 1, base: v.resendCooldownSeconds)),
                expiresAt: now.addingTimeInterval(lifetime(prepared)), clientIP: prepared.clientIP, test: prepared.testCode != nil,
                messageID: message?.id, apiKeyID: apiKeyID),
            message: message.map { ($0.new, $0.text) })
        // In the caller's transaction (an Idempotency-Key's, a resend's) on its connection;
        // otherwise gathered with concurrent creates into one statement and one commit.
        if let connection { return try await store.create([creation], now: now, on: connection)[0] }
        return try await intake.submit(creation)
    }

    /// Inside a transaction: the pending verification, locked; resent — or, when it expired or
    /// was for another payment, ended and replaced by a new one.
    private func resend(_ prepared: Prepared, apiKeyID: UUID?, on connection: PostgresConnection) async throws -> VerificationStart {
        let now = clock.now
        let v = prepared.settings.verification
        guard let current = try await store.pendingForUpdate(to: prepared.number.e164, purpose: prepared.purpose, on: connection)?.verification
        else {
            // Ended since (checked, canceled, expired): a new one after all.
            if let created = try await create(prepared, apiKeyID: apiKeyID, on: connection) { return .created(created) }
            throw HeraldError(.resendTooSoon, "another request for this number is being handled; try again", retryAfter: 1)
        }
        if current.expiresAt <= now || current.payment != prepared.payment {
            // Expired by the clock, or another amount or payee (another payment): a new verification.
            try await store.end(id: current.id, status: current.expiresAt <= now ? .expired : .canceled, now: now, on: connection)
            guard let created = try await create(prepared, apiKeyID: apiKeyID, on: connection) else {
                throw HeraldError(.resendTooSoon, "another request for this number is being handled; try again", retryAfter: 1)
            }
            return .created(created)
        }
        guard current.sendCount < current.maxSends else {
            throw HeraldError(.maxSendsReached, "this verification has sent as many codes as it may; start a new one later")
        }
        guard now >= current.nextSendAt else {
            throw HeraldError(.resendTooSoon, "a new code can be sent a little later",
                              retryAfter: max(1, Int(current.nextSendAt.timeIntervalSince(now).rounded(.up))))
        }
        let code = prepared.testCode ?? VerificationCodes.generate(length: prepared.codeLength)
        let message = try codeMessage(code, verificationID: current.id, prepared: prepared, apiKeyID: apiKeyID, now: now)
        if let message { _ = try await messages.insert(message.new, measured: message.text, now: now, on: connection) }
        let nextSendAt = now.addingTimeInterval(ResendPolicy.cooldown(afterSend: current.sendCount + 1, base: v.resendCooldownSeconds))
        let updated = try await store.resend(
            id: current.id, codeMAC: codes.mac(id: current.id, code: code, payment: prepared.payment), channel: prepared.channel,
            locale: prepared.locale, codeLength: prepared.codeLength, nextSendAt: nextSendAt,
            expiresAt: now.addingTimeInterval(lifetime(prepared)), messageID: message?.id, previousMessageID: current.messageID,
            now: now, on: connection)
        return .resent(updated)
    }

    /// The message carrying `code`, for the transactional lane: its body holds markers, the
    /// code travels sealed, and it is canceled rather than sent once the code expired. Test
    /// numbers get none.
    private func codeMessage(
        _ code: String, verificationID: UUID, prepared: Prepared, apiKeyID: UUID?, now: Date
    ) throws -> (id: UUID, new: NewMessage, text: MessageText)? {
        guard prepared.testCode == nil else { return nil }
        let lifetime = lifetime(prepared)
        let body = texts.render(purpose: prepared.purpose, channel: prepared.channel, locale: prepared.locale,
                                brand: prepared.settings.brand, lifetime: lifetime, payment: prepared.payment,
                                override: prepared.settings.verification.texts[
                                    Settings.Verification.textKey(channel: prepared.channel, purpose: prepared.purpose, locale: prepared.locale)])
        // Measured as it will be sent (any digits cost the same).
        let measured = MessageText(CodeText.render(body, code: String(repeating: "0", count: code.count)))
        let messageID = UUID()
        var new = NewMessage(
            to: prepared.number.e164, country: prepared.number.regionCode, body: body, channel: prepared.channel,
            kind: .transactional,
            locale: prepared.channel == .voice ? texts.ttsLanguage(prepared.locale) : prepared.locale, apiKeyID: apiKeyID)
        new.id = messageID
        new.code = CodeAttachment(verificationID: verificationID, sealedCode: try seal.seal(code, messageID: messageID),
                                  expiresAt: now.addingTimeInterval(lifetime))
        return (messageID, new, measured)
    }

    /// After the commit: wake the dispatchers, count, log (never the number or the code), and
    /// tell the app.
    func started(_ outcome: VerificationStart) async {
        let verification = outcome.verification
        if verification.messageID != nil { onQueued() }
        Metrics.started(outcome)
        logger.info(outcome == .created(verification) ? "verification created" : "verification code resent",
                    metadata: ["verification.id": "\(verification.id)", "verification.purpose": "\(verification.purpose.rawValue)",
                               "verification.channel": "\(verification.channel.rawValue)",
                               "verification.send_count": "\(verification.sendCount)"])
        await emit([verification.id])
    }

    // MARK: Check

    /// Checks a code. A wrong code uses up one of the verification's checks; the right one
    /// approves it, once.
    public func check(_ request: CheckVerificationRequest) async throws -> VerificationCheckResult {
        let code = try VerificationInput.code(request.code)
        var stored: VerificationStore.Stored
        if let rawID = request.id {
            guard request.to == nil else { throw HeraldError.validation("to", "give either id or to and purpose, not both") }
            guard let id = UUID(uuidString: rawID), let found = try await store.get(id: id) else {
                throw HeraldError(.verificationNotFound, "no verification matches", field: "id")
            }
            stored = found
        } else {
            guard let rawTo = request.to else { throw HeraldError.validation("to", "is required unless id is given") }
            let purpose = try VerificationInput.purpose(request.purpose)
            let number = try PhoneNumberInput(rawTo, country: request.country).parse(field: "to")
            guard let found = try await store.pending(to: number.e164, purpose: purpose) else {
                throw HeraldError(.verificationNotFound, "no pending verification for this number and purpose", field: "to")
            }
            stored = found
        }
        var payment: PaymentDetails?
        if stored.verification.purpose == .payment {
            guard let input = request.payment else {
                throw HeraldError.validation("payment", "is required to check a payment code: send the same payment again")
            }
            payment = try PaymentRules.validate(input)
        } else if request.payment != nil {
            throw HeraldError.validation("payment", "is only allowed when checking a payment code")
        }
        let now = clock.now
        // A resend between reading and recording changes the MAC: read again (bounded).
        for _ in 0..<5 {
            let verification = stored.verification
            guard verification.status == .pending else { return result(verification, valid: false, now: now) }
            guard verification.expiresAt > now else {
                if let expired = try await expire(verification.id, now: now) { return result(expired, valid: false, now: now) }
                return result(verification, valid: false, now: now)
            }
            let matched = codes.matches(stored.codeMAC, id: verification.id, code: code, payment: payment)
            if let updated = try await store.recordCheck(id: verification.id, expectedMAC: stored.codeMAC, matched: matched, now: now) {
                Metrics.checked(updated, valid: matched)
                if matched && !updated.test {
                    _ = try? await limits.hit([(Self.approvedKey(NumberPrefix.of(updated.to)), Int.max, .seconds(3600))], now: now)
                }
                if updated.status != .pending { await emit([updated.id]) }
                logger.info("verification checked", metadata: ["verification.id": "\(updated.id)", "verification.valid": "\(matched)",
                                                                 "verification.status": "\(updated.status.rawValue)"])
                return result(updated, valid: matched, now: now)
            }
            guard let again = try await store.get(id: verification.id) else {
                throw HeraldError(.verificationNotFound, "no verification matches", field: "id")
            }
            stored = again
        }
        return result(stored.verification, valid: false, now: now)
    }

    private func result(_ verification: Verification, valid: Bool, now: Date) -> VerificationCheckResult {
        let shown = Self.presented(verification, now: now)
        return VerificationCheckResult(id: shown.id, status: shown.status, valid: valid, attemptsLeft: shown.attemptsLeft)
    }

    private func expire(_ id: UUID, now: Date) async throws -> Verification? {
        try await store.end(id: id, status: .expired, now: now)
        await emit([id])
        return try await store.get(id: id)?.verification
    }

    // MARK: Reading, canceling, expiring

    public func verification(id: UUID) async throws -> Verification {
        guard let stored = try await store.get(id: id) else { throw HeraldError(.verificationNotFound, "no verification with this id") }
        return Self.presented(stored.verification, now: clock.now)
    }

    public func verifications(_ filter: VerificationFilter, limit: Int, cursor: ListCursor?) async throws -> Page<Verification> {
        let page = try await store.list(filter, limit: limit, after: cursor)
        let now = clock.now
        return Page(items: page.items.map { Self.presented($0, now: now) }, nextCursor: page.nextCursor)
    }

    public func cancel(id: UUID) async throws -> Verification {
        if let canceled = try await store.cancel(id: id, now: clock.now) {
            await emit([id])
            return canceled
        }
        // Already final: shown as it is (cancel is idempotent); unknown: not found.
        return try await verification(id: id)
    }

    /// Housekeeping: pending verifications past their lifetime become `expired` (and the app
    /// hears of it). Returns how many.
    @discardableResult
    public func expireDue() async throws -> Int {
        let ids = try await store.expireDue(now: clock.now)
        await emit(ids)
        return ids.count
    }

    /// A pending verification past its lifetime is `expired`, whether or not housekeeping has
    /// written it yet.
    static func presented(_ verification: Verification, now: Date) -> Verification {
        var shown = verification
        if shown.status == .pending, shown.expiresAt <= now { shown.status = .expired }
        return shown
    }

    // MARK: Texts (admins)

    /// One text as the settings page shows it: what is sent (an admin's override, else the
    /// shipped text) and how it comes out with sample values.
    public struct TextPreview: Sendable, Equatable {
        public var locale: String
        public var channel: MessageChannel
        public var purpose: VerificationPurpose
        public var text: String
        public var defaultText: String
        public var overridden: Bool
        public var preview: String
        public var encoding: SMSEncoding
        public var segments: Int
        public var characters: Int
    }

    /// The locales that have shipped texts.
    public var locales: [String] { texts.locales.keys.sorted() }

    /// Every text of `locale` (or of every locale), each rendered with sample values: the
    /// brand and lifetimes of the settings, a code of the configured length, a sample payment.
    public func textPreviews(locale: String?) async throws -> [TextPreview] {
        let current = try await settings.current()
        let chosen: [String]
        if let locale {
            guard texts.locales[locale] != nil else { throw HeraldError.validation("locale", "has no texts (one of \(locales.joined(separator: ", ")))") }
            chosen = [locale]
        } else {
            chosen = locales
        }
        var previews: [TextPreview] = []
        for tag in chosen {
            for purpose in VerificationPurpose.allCases {
                for channel in MessageChannel.allCases {
                    let key = Settings.Verification.textKey(channel: channel, purpose: purpose, locale: tag)
                    previews.append(preview(text: current.verification.texts[key], purpose: purpose, channel: channel, locale: tag,
                                            settings: current))
                }
            }
        }
        return previews
    }

    /// A text being edited, rendered as it would be sent; its problem (a missing `{code}`, an
    /// unknown placeholder) is a validation error on `text`.
    public func previewText(_ text: String, purpose: VerificationPurpose, channel: MessageChannel, locale: String) async throws -> TextPreview {
        guard texts.locales[locale] != nil else { throw HeraldError.validation("locale", "has no texts (one of \(locales.joined(separator: ", ")))") }
        if let problem = VerificationTexts.problem(in: text, purpose: purpose, channel: channel) { throw HeraldError.validation("text", problem) }
        return preview(text: text, purpose: purpose, channel: channel, locale: locale, settings: try await settings.current())
    }

    static let samplePayment = PaymentDetails(amount: "49.90", currency: "EUR", payee: "ACME Ltd")

    private func preview(text override: String?, purpose: VerificationPurpose, channel: MessageChannel, locale: String,
                         settings current: Settings) -> TextPreview {
        let shipped = texts.locales[locale]!.text(purpose, channel: channel)
        let lifetime = TimeInterval(purpose == .payment ? current.verification.paymentTTLSeconds : current.verification.ttlSeconds)
        let body = texts.render(purpose: purpose, channel: channel, locale: locale, brand: current.brand, lifetime: lifetime,
                                payment: purpose == .payment ? Self.samplePayment : nil, override: override)
        let sample = String("1234567890".prefix(current.verification.codeLength))
        let rendered = MessageText(CodeText.render(body, code: sample))
        return TextPreview(locale: locale, channel: channel, purpose: purpose, text: override ?? shipped, defaultText: shipped,
                           overridden: override != nil, preview: rendered.text, encoding: rendered.encoding,
                           segments: rendered.segments, characters: rendered.text.unicodeScalars.count)
    }

    // MARK: Fraud guard and figures (admins)

    public struct BlockedPrefix: Sendable, Equatable {
        public var prefix: String
        public var country: String?
        public var reason: String
        public var blockedAt: Date
        public var blockedUntil: Date
    }

    public func blockedPrefixes() async throws -> [BlockedPrefix] {
        try await store.blocks(now: clock.now).map {
            BlockedPrefix(prefix: $0.prefix, country: $0.country, reason: $0.reason, blockedAt: $0.blockedAt, blockedUntil: $0.blockedUntil)
        }
    }

    /// Lifts a block: the prefix is judged afresh from now on.
    public func liftBlock(prefix: String, by actor: String) async throws {
        // A block's prefix is a number without its last four digits: `+`, then digits.
        guard (2...16).contains(prefix.utf8.count), prefix.hasPrefix("+"), prefix.utf8.dropFirst().first != UInt8(ascii: "0"),
            prefix.utf8.dropFirst().allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") })
        else {
            throw HeraldError.validation("prefix", "must be a number range such as +1415555 (+ and up to 15 digits)")
        }
        guard try await store.lift(prefix: prefix, by: actor, now: clock.now) else {
            throw HeraldError(.notFound, "no block in force for this prefix")
        }
        // Judged afresh: the counts start again from the lift.
        try await limits.reset(Self.prefixKey(prefix))
        try await limits.reset(Self.approvedKey(prefix))
        logger.notice("verification block lifted", metadata: ["actor": "\(actor)"])
    }

    public struct ConversionFigure: Sendable, Equatable {
        public var country: String?
        public var channel: MessageChannel
        public var created: Int
        public var approved: Int
        public var rate: Double { created == 0 ? 0 : Double(approved) / Double(created) }
    }

    /// Approved / created per country and channel over the last `hours`.
    public func conversion(hours: Int) async throws -> [ConversionFigure] {
        try await store.conversion(since: clock.now.addingTimeInterval(-TimeInterval(hours) * 3600)).map {
            ConversionFigure(country: $0.country, channel: $0.channel, created: $0.created, approved: $0.approved)
        }
    }

    // MARK: Events and metrics

    private func emit(_ ids: [UUID]) async {
        do { try await events.verificationsChanged(ids) } catch {
            logger.warning("verification events not queued", metadata: ["error": "\(error)"])
        }
    }

    /// A short, stable stand-in for personal data in limit keys (hex of SHA-256's first 12 bytes).
    /// Hex by hand: `String(format:)` cost more than the rest of the admission together.
    static func digest(_ text: String) -> String {
        QueueStore.hex(Array(SHA256.hash(data: Array(text.utf8)).prefix(12)))
    }

    /// `/metrics`: conversion per country and channel is
    /// `herald_verification_approved_total / herald_verification_created_total`.
    enum Metrics {
        static func dimensions(_ verification: Verification) -> [(String, String)] {
            [("country", verification.country ?? "unknown"), ("channel", verification.channel.rawValue)]
        }
        /// A new verification, or a resend (every code sent counts in `sends`).
        static func started(_ outcome: VerificationStart) {
            let verification = outcome.verification
            if case .created = outcome {
                Counter(label: "herald_verification_created_total", dimensions: dimensions(verification)).increment()
            }
            Counter(label: "herald_verification_sends_total", dimensions: dimensions(verification)).increment()
        }
        static func checked(_ verification: Verification, valid: Bool) {
            Counter(label: "herald_verification_checks_total",
                    dimensions: dimensions(verification) + [("result", valid ? "valid" : "invalid")]).increment()
            if valid { Counter(label: "herald_verification_approved_total", dimensions: dimensions(verification)).increment() }
        }
        /// A request refused by a limit (`rate_limited`) or the fraud guard (`suspected_fraud`).
        static func refused(_ reason: HeraldError.Code) {
            Counter(label: "herald_verification_refused_total", dimensions: [("reason", reason.rawValue)]).increment()
        }
    }
}
