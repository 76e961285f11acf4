import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Postgres
import Providers
import SMS
import Synchronization
import Testing
@testable import Herald

/// Verification codes against the real database, the dispatcher and the outbox (or a scripted
/// provider on loopback HTTP).
@Suite(.serialized) struct VerificationTests {
    static let number = "+14155550123"

    static func start(
        _ herald: TestHerald, to: String = number, purpose: String = "login", channel: String? = nil, locale: String? = nil,
        codeLength: Int? = nil, clientIP: String? = nil, payment: PaymentInput? = nil
    ) async throws -> VerificationStart {
        try await herald.core.verifications.start(
            StartVerificationRequest(to: to, channel: channel, purpose: purpose, locale: locale, codeLength: codeLength,
                                     clientIP: clientIP, payment: payment),
            apiKeyID: nil)
    }

    /// Runs the workers until the verification's latest code reaches the outbox; returns the
    /// body as the outbox holds it.
    static func delivered(_ herald: TestHerald, _ verification: Verification) async throws -> String {
        let messageID = try #require(verification.messageID)
        let body = Mutex<String?>(nil)
        try await dispatchUntil(herald) {
            let entries = try await herald.core.messages.outbox(to: verification.to, limit: 50, cursor: nil).items
            body.withLock { $0 = entries.first(where: { $0.messageID == messageID })?.body }
            return body.withLock { $0 } != nil
        }
        return body.withLock { $0 }!
    }

    /// The first run of 4–10 digits in `text` (digits separated by ", " in voice texts).
    static func code(in text: String) -> String? {
        let compact = text.replacingOccurrences(of: ", ", with: "")
        var run = ""
        for character in compact {
            if character.isASCII && character.isNumber { run.append(character) }
            else if (4...10).contains(run.count) { return run }
            else { run = "" }
        }
        return (4...10).contains(run.count) ? run : nil
    }

    static func check(_ herald: TestHerald, _ id: UUID, _ code: String, payment: PaymentInput? = nil) async throws -> VerificationCheckResult {
        try await herald.core.verifications.check(CheckVerificationRequest(id: id.uuidString, code: code, payment: payment))
    }

    static func wrong(_ code: String) -> String {
        String(code.map { $0 == "9" ? "0" : Character(String(Int(String($0))! + 1)) })
    }

    @Test("create → the outbox receives a text with the 6-digit code → check → approved; the same code again is not valid")
    func createSendCheck() async throws {
        try await TestHerald.with { herald in
            let verification = try await Self.start(herald).verification
            #expect(verification.status == .pending)
            #expect(verification.sendCount == 1)
            #expect(verification.attemptsLeft == 5)
            let text = try await Self.delivered(herald, verification)
            let code = try #require(Self.code(in: text))
            #expect(code.count == 6)
            #expect(text.contains("Herald"), "the text names the brand")
            #expect(text.lowercased().contains("login"), "the text names the purpose")
            #expect(text.contains("10 min"), "the text says the lifetime")
            #expect(text.contains("Do not share"))

            // The message never shows the code outside the outbox, and keeps it sealed no longer.
            let message = try #require(try await herald.message(verification.messageID!))
            #expect(!message.body.contains(code))
            #expect(message.body.contains("••••••"))
            let sealed = try await herald.pool.query("SELECT sealed_code IS NULL FROM messages WHERE id = \(verification.messageID!)")
            #expect(try sealed[0].decode(0, as: Bool.self), "the sealed code is cleared once the message was sent")

            let result = try await Self.check(herald, verification.id, code)
            #expect(result == VerificationCheckResult(id: verification.id, status: .approved, valid: true, attemptsLeft: 4))
            let again = try await Self.check(herald, verification.id, code)
            #expect(again.valid == false)
            #expect(again.status == .approved)
        }
    }

    @Test("five wrong codes → max_attempts_reached, then even the right code is not valid; a resend does not reset the count")
    func attemptLimit() async throws {
        try await TestHerald.with { herald in
            let first = try await Self.start(herald).verification
            let firstCode = try #require(Self.code(in: try await Self.delivered(herald, first)))
            for n in 1...3 {
                let result = try await Self.check(herald, first.id, Self.wrong(firstCode))
                #expect(result.valid == false)
                #expect(result.status == .pending)
                #expect(result.attemptsLeft == 5 - n)
            }
            herald.clock.advance(by: .seconds(31))
            let resent = try await Self.start(herald)
            guard case .resent(let second) = resent else { Issue.record("expected a resend"); return }
            #expect(second.id == first.id)
            #expect(second.attemptsLeft == 2, "a resend does not reset the failed checks")
            let code = try #require(Self.code(in: try await Self.delivered(herald, second)))
            _ = try await Self.check(herald, first.id, Self.wrong(code))
            let last = try await Self.check(herald, first.id, Self.wrong(code))
            #expect(last.status == .maxAttemptsReached)
            #expect(last.attemptsLeft == 0)
            let right = try await Self.check(herald, first.id, code)
            #expect(right.valid == false)
            #expect(right.status == .maxAttemptsReached)
        }
    }

    @Test("a code checked after its lifetime is expired (the clock is moved, nothing sleeps)")
    func expiry() async throws {
        try await TestHerald.with { herald in
            let verification = try await Self.start(herald).verification
            let code = try #require(Self.code(in: try await Self.delivered(herald, verification)))
            herald.clock.advance(by: .seconds(601))
            let result = try await Self.check(herald, verification.id, code)
            #expect(result.valid == false)
            #expect(result.status == .expired)
            #expect(try await herald.core.verifications.verification(id: verification.id).status == .expired)
        }
    }

    @Test("resend: too soon → resend_too_soon with Retry-After; the cooldown doubles; the old code stops working; the sixth send → max_sends_reached")
    func resend() async throws {
        try await TestHerald.with { herald in
            let first = try await Self.start(herald).verification
            let oldCode = try #require(Self.code(in: try await Self.delivered(herald, first)))
            do {
                _ = try await Self.start(herald)
                Issue.record("a resend within the cooldown was accepted")
            } catch let error as HeraldError {
                #expect(error.code == .resendTooSoon)
                #expect((1...30).contains(error.retryAfter ?? 0))
            }
            var latest = first
            for (send, cooldown) in [(2, 30), (3, 60), (4, 120), (5, 240)] {
                herald.clock.advance(by: .seconds(Int64(cooldown) + 1))
                guard case .resent(let next) = try await Self.start(herald) else { Issue.record("expected a resend"); return }
                #expect(next.sendCount == send)
                latest = next
            }
            // Five is the most, whatever the time.
            do {
                _ = try await Self.start(herald)
                Issue.record("a sixth send was accepted")
            } catch let error as HeraldError {
                #expect(error.code == .maxSendsReached)
            }
            let newCode = try #require(Self.code(in: try await Self.delivered(herald, latest)))
            if newCode != oldCode {
                #expect(try await Self.check(herald, first.id, oldCode).valid == false, "the old code no longer works")
            }
            #expect(try await Self.check(herald, first.id, newCode).valid)
        }
    }

    @Test("payment: the text shows amount and payee; a different amount or payee is not valid and uses an attempt; the same values approve")
    func payment() async throws {
        try await TestHerald.with { herald in
            let payment = PaymentInput(amount: "12.50", currency: "eur", payee: "ACME Ltd")
            let verification = try await Self.start(herald, purpose: "payment", payment: payment).verification
            #expect(verification.payment == PaymentDetails(amount: "12.50", currency: "EUR", payee: "ACME Ltd"))
            let text = try await Self.delivered(herald, verification)
            #expect(text.contains("12.50 EUR"))
            #expect(text.contains("ACME Ltd"))
            let code = try #require(Self.code(in: text.replacingOccurrences(of: "12.50", with: "")))
            let otherAmount = try await Self.check(herald, verification.id, code,
                                                   payment: PaymentInput(amount: "125.00", currency: "EUR", payee: "ACME Ltd"))
            #expect(otherAmount.valid == false)
            #expect(otherAmount.attemptsLeft == 4)
            let otherPayee = try await Self.check(herald, verification.id, code,
                                                  payment: PaymentInput(amount: "12.50", currency: "EUR", payee: "ACME Ltd."))
            #expect(otherPayee.valid == false)
            #expect(otherPayee.attemptsLeft == 3)
            // 12.5 is the same amount as 12.50.
            let same = try await Self.check(herald, verification.id, code, payment: PaymentInput(amount: "12.5", currency: "EUR", payee: "ACME Ltd"))
            #expect(same.valid)
            #expect(same.status == .approved)
            // The payment lifetime is 300 s.
            #expect(abs(verification.expiresAt.timeIntervalSince(verification.createdAt) - 300) < 1)
        }
    }

    @Test("a fixed-line number: SMS is refused with number_type_not_supported; voice speaks the digits one by one, twice, in the locale's language")
    func fixedLineAndVoice() async throws {
        try await TestHerald.with { herald in
            let berlin = "+493012345678"
            do {
                _ = try await Self.start(herald, to: berlin)
                Issue.record("SMS to a fixed line was accepted")
            } catch let error as HeraldError {
                #expect(error.code == .numberTypeNotSupported)
                #expect(error.message.contains("voice"))
            }
            let verification = try await Self.start(herald, to: berlin, channel: "voice", locale: "de").verification
            #expect(verification.channel == .voice)
            let text = try await Self.delivered(herald, verification)
            let code = try #require(Self.code(in: text))
            let spoken = code.map(String.init).joined(separator: ", ")
            #expect(text.components(separatedBy: spoken).count == 3, "the code is spoken twice, digit by digit: \(text.count) characters")
            #expect(text.contains("Anmeldung"), "the German text")
            let message = try #require(try await herald.message(verification.messageID!))
            #expect(message.channel == .voice)
            #expect(message.locale == "de-DE", "sent with the locale's text-to-speech language")
            #expect(try await Self.check(herald, verification.id, code).status == .approved)
        }
    }

    @Test("50 concurrent checks of the right code → exactly one approved")
    func concurrentChecks() async throws {
        try await TestHerald.with { herald in
            let verification = try await Self.start(herald).verification
            let code = try #require(Self.code(in: try await Self.delivered(herald, verification)))
            let results = try await withThrowingTaskGroup(of: VerificationCheckResult.self) { group in
                for _ in 0..<50 { group.addTask { try await Self.check(herald, verification.id, code) } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(results.filter(\.valid).count == 1)
            #expect(results.allSatisfy { $0.status == .approved })
        }
    }

    @Test("the database holds no code in clear, nor anything to recover one from without the server secret")
    func noCodeInTheDatabase() async throws {
        try await TestHerald.with { herald in
            try await ScriptedProvider.run(answer: { _, _, count in .init(status: 200, body: #"{"id":"m\#(count)"}"#) }) { server in
                _ = try await herald.core.providers.create(ProviderInput(
                    name: "http", type: "http", config: ["url": .string(server.baseURL + "/send"), "id_path": .string("id")]))
                // Ten digits: no timestamp or id in a dump has a run that long by chance.
                let verification = try await Self.start(herald, codeLength: 10).verification
                try await dispatchUntil(herald) { server.requests.count == 1 }
                let sent = try #require(server.requests.first?.body)
                let code = try #require(Self.code(in: sent))
                #expect(code.count == 10)
                try await dispatchUntil(herald) { try await herald.message(verification.messageID!)?.status == .sent }
                // Every row of every table, as text.
                let tables = try await herald.pool.query(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public'").map { try $0.decode(0, as: String.self) }
                var dump = ""
                for table in tables {
                    let rows = try await herald.pool.query("SELECT table_to_xml(\(table)::regclass, true, false, '')::text")
                    dump += try rows[0].decode(0, as: String.self) + "\n"
                }
                // bytea columns once more in hex (the XML shows them in base64).
                let hex = try await herald.pool.query("SELECT string_agg(encode(code_mac, 'hex'), ' ') FROM verifications")
                dump += try hex[0].decode(0, as: String?.self) ?? ""
                #expect(!dump.isEmpty)
                #expect(!dump.contains(code), "the code is in the database in clear")
                // The MAC is keyed: the code's unkeyed hash is not there either.
                let sha = SHA256Hex.of(code)
                #expect(!dump.contains(sha))
                #expect(try await Self.check(herald, verification.id, code).valid)
            }
        }
    }

    @Test("a code message that cannot leave before its code expires is canceled, not sent late")
    func expiredBeforeSending() async throws {
        try await TestHerald.with { herald in
            let verification = try await Self.start(herald).verification
            herald.clock.advance(by: .seconds(601))
            try await dispatchUntil(herald) { try await herald.message(verification.messageID!)?.status == .canceled }
            let message = try #require(try await herald.message(verification.messageID!))
            #expect(message.error?.code == "code_expired")
            #expect(try await herald.core.messages.outbox(to: Self.number, limit: 10, cursor: nil).items.isEmpty)
        }
    }

    @Test("a resend cancels the previous code's message if it has not left yet")
    func resendCancelsStaleMessage() async throws {
        try await TestHerald.with { herald in
            let first = try await Self.start(herald).verification
            herald.clock.advance(by: .seconds(31))
            let second = try await Self.start(herald).verification
            #expect(try await herald.message(first.messageID!)?.status == .canceled)
            #expect(second.messageID != first.messageID)
        }
    }

    @Test("test numbers get their fixed code, are never sent, and are marked as such")
    func testNumbers() async throws {
        try await TestHerald.with { herald in
            _ = try await herald.core.settings.update(["verification": .object(["test_numbers": .object([Self.number: .string("424242")])])],
                                                      actor: "test")
            let verification = try await Self.start(herald).verification
            #expect(verification.test)
            #expect(verification.messageID == nil)
            #expect(try await Self.check(herald, verification.id, "424243").valid == false)
            #expect(try await Self.check(herald, verification.id, "424242").status == .approved)
            let messages = try await herald.pool.query("SELECT count(*)::int8 FROM messages")
            #expect(try messages[0].decode(0, as: Int.self) == 0)
        }
    }

    @Test("limits: countries outside the allowed list, per number, per client IP")
    func limits() async throws {
        try await TestHerald.with { herald in
            _ = try await herald.core.settings.update(["allowed_countries": .array([.string("US")])], actor: "test")
            do {
                _ = try await Self.start(herald, to: "+447911123456")
                Issue.record("a country outside the list was accepted")
            } catch let error as HeraldError { #expect(error.code == .countryNotAllowed) }
            _ = try await herald.core.settings.update(["verification": .object(["per_number_per_hour": .number(2), "per_ip_per_hour": .number(2)])],
                                                      actor: "test")
            // Two purposes on one number count against the same number.
            _ = try await Self.start(herald, purpose: "login", clientIP: "203.0.113.7")
            _ = try await Self.start(herald, purpose: "registration", clientIP: "203.0.113.7")
            do {
                _ = try await Self.start(herald, purpose: "password_reset", clientIP: "203.0.113.8")
                Issue.record("a third new verification for the number within the hour was accepted")
            } catch let error as HeraldError {
                #expect(error.code == .rateLimited)
                #expect((error.retryAfter ?? 0) > 0)
            }
            // The IP's third request is refused even for another number.
            do {
                _ = try await Self.start(herald, to: "+14155550999", clientIP: "203.0.113.7")
                Issue.record("a third request from the IP within the hour was accepted")
            } catch let error as HeraldError {
                #expect(error.code == .rateLimited)
                #expect(error.field == "client_ip")
            }
            // A resend of a pending one is not a new verification.
            herald.clock.advance(by: .seconds(31))
            guard case .resent = try await Self.start(herald, purpose: "login", clientIP: "203.0.113.7") else {
                Issue.record("expected a resend"); return
            }
        }
    }

    @Test("fraud guard: a burst on one prefix with no approvals blocks that prefix (suspected_fraud) while others still work; an admin lifts it")
    func fraudGuard() async throws {
        try await TestHerald.with { herald in
            _ = try await herald.core.settings.update(["verification": .object(["fraud_min_sends": .number(10), "per_prefix_per_hour": .number(1000)])],
                                                      actor: "test")
            var blocked = 0
            for n in 0..<15 {
                do {
                    _ = try await Self.start(herald, to: "+1415555" + String(format: "%04d", 1000 + n))
                } catch let error as HeraldError where error.code == .suspectedFraud {
                    blocked += 1
                    #expect((error.retryAfter ?? 0) > 0)
                }
            }
            #expect(blocked == 5, "the 11th and later requests of the prefix are refused")
            // Another prefix still works.
            _ = try await Self.start(herald, to: "+14155560123")
            let blocks = try await herald.core.verifications.blockedPrefixes()
            #expect(blocks.map(\.prefix) == ["+1415555"])
            // A prefix that is not one (the API fuzzer sent NUL and lone surrogates: PostgreSQL refused them, a 500).
            for hostile in ["\u{95}t\u{0}\u{FFFD}*****", "1415555", "+", "+0123", "+1415555' OR '1'='1", String(repeating: "9", count: 40)] {
                await #expect(throws: HeraldError.self) { try await herald.core.verifications.liftBlock(prefix: hostile, by: "test") }
                do { try await herald.core.verifications.liftBlock(prefix: hostile, by: "test") } catch let error as HeraldError {
                    #expect(error.code == .validationFailed && error.field == "prefix", "\(hostile.debugDescription)")
                }
            }
            try await herald.core.verifications.liftBlock(prefix: "+1415555", by: "test")
            #expect(try await herald.core.verifications.blockedPrefixes().isEmpty)
            _ = try await Self.start(herald, to: "+14155552000")
        }
    }

    @Test("bad input gets the documented answer")
    func badInput() async throws {
        try await TestHerald.with { herald in
            func expectError(_ code: HeraldError.Code, field: String?, _ body: () async throws -> Void) async {
                do {
                    try await body()
                    Issue.record("accepted; expected \(code)")
                } catch let error as HeraldError {
                    #expect(error.code == code)
                    if let field { #expect(error.field == field) }
                } catch { Issue.record("unexpected \(error)") }
            }
            let service = herald.core.verifications
            await expectError(.validationFailed, field: "purpose") {
                _ = try await service.start(StartVerificationRequest(to: Self.number), apiKeyID: nil)
            }
            await expectError(.validationFailed, field: "purpose") {
                _ = try await service.start(StartVerificationRequest(to: Self.number, purpose: "signup"), apiKeyID: nil)
            }
            await expectError(.invalidPhoneNumber, field: "to") {
                _ = try await service.start(StartVerificationRequest(to: "12345", purpose: "login"), apiKeyID: nil)
            }
            await expectError(.validationFailed, field: "payment") {
                _ = try await Self.start(herald, payment: PaymentInput(amount: "1.00", currency: "EUR", payee: "A"))
            }
            await expectError(.validationFailed, field: "payment") { _ = try await Self.start(herald, purpose: "payment") }
            await expectError(.validationFailed, field: "payment.amount") {
                _ = try await Self.start(herald, purpose: "payment", payment: PaymentInput(amount: "-3", currency: "EUR", payee: "A"))
            }
            await expectError(.validationFailed, field: "code_length") { _ = try await Self.start(herald, codeLength: 3) }
            await expectError(.validationFailed, field: "client_ip") { _ = try await Self.start(herald, clientIP: "not-an-ip") }
            await expectError(.validationFailed, field: "channel") { _ = try await Self.start(herald, channel: "fax") }
            let verification = try await Self.start(herald, locale: "xx").verification
            #expect(verification.locale == "en", "a locale without texts falls back to English")
            await expectError(.validationFailed, field: "code") { _ = try await Self.check(herald, verification.id, "abcdef") }
            await expectError(.validationFailed, field: "code") {
                _ = try await Self.check(herald, verification.id, String(repeating: "1", count: 100))
            }
            await expectError(.verificationNotFound, field: "id") { _ = try await Self.check(herald, UUID(), "123456") }
            await expectError(.verificationNotFound, field: "to") {
                _ = try await service.check(CheckVerificationRequest(to: "+14155550777", purpose: "login", code: "123456"))
            }
            // None of it used an attempt.
            #expect(try await service.verification(id: verification.id).attemptsLeft == 5)
        }
    }

    @Test("the HTTP contract: 201 then 200 for a resend, no code in any response, errors with codes and Retry-After, Idempotency-Key")
    func http() async throws {
        try await TestHerald.with { herald in
            let auth = try await herald.bearer(["verifications"])
            let messagesOnly = try await herald.bearer(["messages"])
            try await herald.test { client in
                let created = try await client.execute(uri: "/v1/verifications", method: .post, headers: auth,
                                                       body: jsonBody(["to": Self.number, "purpose": "login"]))
                #expect(created.status == .created)
                let id = try #require(created.json["id"] as? String)
                for key in ["id", "to", "channel", "purpose", "status", "locale", "expires_at", "send_count", "next_send_at",
                            "attempts_left", "created_at", "payment"] {
                    #expect(created.json.keys.contains(key), "missing \(key)")
                }
                #expect(created.json["status"] as? String == "pending")
                #expect(created.json["code"] == nil)
                let tooSoon = try await client.execute(uri: "/v1/verifications", method: .post, headers: auth,
                                                       body: jsonBody(["to": Self.number, "purpose": "login"]))
                #expect(tooSoon.status == .tooManyRequests)
                #expect(tooSoon.errorCode == "resend_too_soon")
                #expect(tooSoon.headers[.retryAfter] != nil)
                herald.clock.advance(by: .seconds(31))
                let resent = try await client.execute(uri: "/v1/verifications", method: .post, headers: auth,
                                                      body: jsonBody(["to": Self.number, "purpose": "login"]))
                #expect(resent.status == .ok)
                #expect(resent.json["id"] as? String == id)
                #expect(resent.json["send_count"] as? Int == 2)
                let latest = try await herald.core.verifications.verification(id: UUID(uuidString: id)!)
                let code = try #require(Self.code(in: try await Self.delivered(herald, latest)))

                let wrong = try await client.execute(uri: "/v1/verifications/check", method: .post, headers: auth,
                                                     body: jsonBody(["id": id, "code": "000000"]))
                #expect(wrong.status == .ok)
                #expect(wrong.json["valid"] as? Bool == false)
                #expect(wrong.json["attempts_left"] as? Int == 4)
                let letters = try await client.execute(uri: "/v1/verifications/check", method: .post, headers: auth,
                                                       body: jsonBody(["id": id, "code": "abcdef"]))
                #expect(letters.status == .badRequest)
                #expect(letters.errorCode == "validation_failed")
                #expect(letters.errorField == "code")
                let unknown = try await client.execute(uri: "/v1/verifications/\(UUID().uuidString)", method: .get, headers: auth)
                #expect(unknown.status == .notFound)
                #expect(unknown.errorCode == "verification_not_found")
                let fixed = try await client.execute(uri: "/v1/verifications", method: .post, headers: auth,
                                                     body: jsonBody(["to": "+493012345678", "purpose": "login"]))
                #expect(fixed.status == .forbidden)
                #expect(fixed.errorCode == "number_type_not_supported")
                let forbidden = try await client.execute(uri: "/v1/verifications", method: .post, headers: messagesOnly,
                                                         body: jsonBody(["to": Self.number, "purpose": "login"]))
                #expect(forbidden.status == .forbidden)

                let list = try await client.execute(uri: "/v1/verifications?to=%2B14155550123&purpose=login", method: .get, headers: auth)
                #expect((list.json["data"] as? [[String: Any]])?.count == 1)
                let canceled = try await client.execute(uri: "/v1/verifications/\(id)/cancel", method: .post, headers: auth)
                #expect(canceled.json["status"] as? String == "canceled")
                let afterCancel = try await client.execute(uri: "/v1/verifications/check", method: .post, headers: auth,
                                                           body: jsonBody(["id": id, "code": "000000"]))
                #expect(afterCancel.json["status"] as? String == "canceled")

                // Idempotency-Key: the same body → the first answer; another body → 409.
                let keyed = auth + [HTTPField.Name("Idempotency-Key")!: "order-17"]
                let body = ["to": "+14155550124", "purpose": "payment", "payment": ["amount": "5.00", "currency": "USD", "payee": "Shop"]] as [String: Any]
                let once = try await client.execute(uri: "/v1/verifications", method: .post, headers: keyed, body: jsonBody(body))
                let twice = try await client.execute(uri: "/v1/verifications", method: .post, headers: keyed, body: jsonBody(body))
                #expect(once.status == .created)
                #expect(twice.status == .created)
                #expect(once.json["id"] as? String == twice.json["id"] as? String)
                var other = body
                other["purpose"] = "login"
                other["payment"] = nil
                let conflict = try await client.execute(uri: "/v1/verifications", method: .post, headers: keyed, body: jsonBody(other))
                #expect(conflict.status == .conflict)
                #expect(conflict.errorCode == "idempotency_conflict")
                // No response carried the code (of the latest send, read from the outbox).
                for response in [created, resent, wrong, list, canceled, afterCancel] {
                    #expect(!response.text.contains(code), "a response carried the code")
                }
            }
            let queued = try await herald.pool.query("SELECT count(*)::int8 FROM messages WHERE to_number = '+14155550124'")
            #expect(try queued[0].decode(0, as: Int.self) == 1, "the keyed retry queued nothing more")
        }
    }

    @Test("an undelivered SMS is recorded on the verification (and told to the app); a resend may switch to voice")
    func undeliveredThenVoice() async throws {
        try await TestHerald.with { herald in
            try await ScriptedProvider.run(answer: { _, _, count in .init(status: 200, body: #"{"id":"m\#(count)"}"#) }) { server in
                let provider = try await herald.core.providers.create(ProviderInput(
                    name: "http", type: "http", config: ["url": .string(server.baseURL + "/send"), "id_path": .string("id")]))
                _ = try await herald.core.settings.update(["events_url": .string("http://127.0.0.1:9/events")], actor: "test")
                let verification = try await Self.start(herald).verification
                try await dispatchUntil(herald) { try await herald.message(verification.messageID!)?.status == .sent }
                let receipt = DeliveryReceipt(providerMessageID: "m1", status: .undelivered, providerStatus: "undelivered", errorCode: "30003")
                let change = try await QueueStore(pool: herald.pool).applyReceipt(receipt, providerID: provider.id, messageID: nil,
                                                                                  now: herald.clock.now)
                #expect(change?.status == .undelivered)
                try await herald.core.events.messagesChanged([verification.messageID!])
                #expect(try await herald.core.verifications.verification(id: verification.id).deliveryStatus == "undelivered")
                let events = try await herald.pool.query(
                    "SELECT payload::text FROM event_deliveries WHERE type = 'verification.delivery_failed'")
                #expect(events.count == 1)
                let payload = try events[0].decode(0, as: String.self)
                #expect(payload.contains(verification.id.uuidString.lowercased()))
                #expect(payload.contains("30003"))

                herald.clock.advance(by: .seconds(31))
                guard case .resent(let byVoice) = try await Self.start(herald, channel: "voice") else {
                    Issue.record("expected a resend"); return
                }
                #expect(byVoice.channel == .voice)
                #expect(byVoice.deliveryStatus == nil, "the new code's message has not failed")
                let message = try #require(try await herald.message(byVoice.messageID!))
                #expect(message.channel == .voice)
            }
        }
    }

    @Test("events follow the verification's status and never carry its code")
    func events() async throws {
        try await TestHerald.with { herald in
            _ = try await herald.core.settings.update(["events_url": .string("http://127.0.0.1:9/events")], actor: "test")
            let verification = try await Self.start(herald).verification
            let code = try #require(Self.code(in: try await Self.delivered(herald, verification)))
            _ = try await Self.check(herald, verification.id, Self.wrong(code))
            _ = try await Self.check(herald, verification.id, code)
            let other = try await Self.start(herald, purpose: "registration").verification
            _ = try await herald.core.verifications.cancel(id: other.id)
            let expiring = try await Self.start(herald, to: "+14155550777").verification
            herald.clock.advance(by: .seconds(601))
            #expect(try await herald.core.verifications.expireDue() >= 1)
            let rows = try await herald.pool.query(
                "SELECT type, payload::text FROM event_deliveries WHERE type LIKE 'verification.%' ORDER BY id")
            let types = try rows.map { try $0.decode(0, as: String.self) }
            #expect(types.filter { $0 == "verification.pending" }.count == 3)
            #expect(types.contains("verification.approved"))
            #expect(types.contains("verification.canceled"))
            #expect(types.contains("verification.expired"))
            for row in rows {
                #expect(!(try row.decode(1, as: String.self)).contains(code), "an event carried the code")
            }
            #expect(try await herald.core.verifications.verification(id: expiring.id).status == .expired)
        }
    }

    @Test("20 concurrent requests for one number and purpose make exactly one verification and one message")
    func concurrentCreates() async throws {
        try await TestHerald.with { herald in
            let outcomes = await withTaskGroup(of: String.self) { group in
                for _ in 0..<20 {
                    group.addTask {
                        do {
                            switch try await Self.start(herald) {
                            case .created: return "created"
                            case .resent: return "resent"
                            }
                        } catch let error as HeraldError { return error.code.rawValue } catch { return "\(error)" }
                    }
                }
                return await group.reduce(into: [String]()) { $0.append($1) }
            }
            #expect(outcomes.filter { $0 == "created" }.count == 1)
            // The others find it pending (a resend, too soon) or, having each counted as a new
            // request before it existed, meet the per-number limit (5 an hour).
            #expect(outcomes.filter { $0 == "resend_too_soon" || $0 == "rate_limited" }.count == 19, "\(outcomes)")
            let counts = try await herald.pool.query(
                "SELECT (SELECT count(*) FROM verifications)::int8, (SELECT count(*) FROM messages)::int8")
            #expect(try counts[0].decode(0, as: Int.self) == 1)
            #expect(try counts[0].decode(1, as: Int.self) == 1)
        }
    }

    @Test("concurrent creates for different numbers share statements and commits (group commit), each with its own code message")
    func groupCommit() async throws {
        try await TestHerald.with { herald in
            let created = try await withThrowingTaskGroup(of: Verification.self) { group in
                for n in 0..<60 {
                    group.addTask { try await Self.start(herald, to: "+1415" + String(200 + n) + "1234").verification }
                }
                return try await group.reduce(into: [Verification]()) { $0.append($1) }
            }
            #expect(Set(created.map(\.id)).count == 60)
            let commits = herald.core.verifications.intake.commits.load(ordering: .relaxed)
            #expect(commits < 60, "\(commits) statements for 60 creates")
            let rows = try await herald.pool.query(
                """
                SELECT count(*)::int8 FROM messages m JOIN verifications v ON v.message_id = m.id AND m.verification_id = v.id
                WHERE m.sealed_code IS NOT NULL AND m.code_expires_at = v.expires_at
                """)
            #expect(try rows[0].decode(0, as: Int.self) == 60)
            // Each message carries its own code.
            let first = try #require(created.first)
            let code = try #require(Self.code(in: try await Self.delivered(herald, first)))
            #expect(try await Self.check(herald, first.id, code).valid)
        }
    }

    @Test("an admin's text for a locale Herald ships none for is used; that locale's other texts fall back to English")
    func overrideForANewLocale() async throws {
        try await TestHerald.with { herald in
            _ = try await herald.core.settings.update(
                ["verification": .object(["texts": .object(["sms.login.it": .string("{brand}: il tuo codice è {code}. Non condividerlo.")])])],
                actor: "test")
            let italian = try await Self.start(herald, locale: "it-IT").verification
            #expect(italian.locale == "it")
            #expect(try await Self.delivered(herald, italian).hasPrefix("Herald: il tuo codice è "))
            let reset = try await Self.start(herald, purpose: "password_reset", locale: "it").verification
            #expect(try await Self.delivered(herald, reset).contains("password reset code"))
        }
    }
}

/// The SHA-256 of a text in hex: what an unkeyed hash of a code would look like in a dump.
enum SHA256Hex {
    static func of(_ text: String) -> String {
        SHA256.hash(data: Array(text.utf8)).map { String(format: "%02x", $0) }.joined()
    }
}
