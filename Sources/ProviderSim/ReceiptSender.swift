import Curl
import Logging
import Providers

/// A delivery receipt (or call status) waiting to be posted.
struct ReceiptJob: Sendable {
    enum Payload: Sendable {
        case twilioSMS(sid: String, accountSID: String, from: String?, to: String, messagingServiceSID: String?)
        case twilioCall(sid: String, accountSID: String, from: String, to: String)
        /// One receipt per part, as Vonage sends them.
        case vonage(messageIDs: [String], apiKey: String, from: String, msisdn: String, clientRef: String?)
    }

    var due: ContinuousClock.Instant
    var url: String
    var payload: Payload
    var undelivered: Bool
    /// Post the intermediate status first.
    var intermediate: Bool
}

/// Posts receipts after their delay, signed as the provider signs them, through the `Curl`
/// client. A failed post is retried a few times with a growing pause, then counted as failed.
final class ReceiptSender: Sendable {
    private let jobs: AsyncStream<ReceiptJob>
    private let continuation: AsyncStream<ReceiptJob>.Continuation
    private let state: SimulatorState
    private let options: SimulatorOptions
    private let logger: Logger
    /// Posts in flight at most; the queue waits beyond it.
    private static let maxConcurrentPosts = 512

    init(state: SimulatorState, options: SimulatorOptions, logger: Logger) {
        (jobs, continuation) = AsyncStream.makeStream(of: ReceiptJob.self, bufferingPolicy: .unbounded)
        self.state = state
        self.options = options
        self.logger = logger
    }

    func enqueue(_ job: ReceiptJob) {
        continuation.yield(job)
    }

    func finish() {
        continuation.finish()
    }

    /// Sends receipts until the stream finishes or the task is cancelled. Jobs arrive in order
    /// of acceptance; with one delay for all, that is also the order they fall due.
    func run(client: HTTPClient) async {
        await withTaskGroup(of: Void.self) { group in
            var running = 0
            for await job in jobs {
                if job.due > .now {
                    do { try await Task.sleep(until: job.due, clock: .continuous) } catch { break }
                }
                if running >= Self.maxConcurrentPosts {
                    await group.next()
                    running -= 1
                }
                group.addTask { await self.deliver(job, client: client) }
                running += 1
            }
            group.cancelAll()
        }
    }

    private func deliver(_ job: ReceiptJob, client: HTTPClient) async {
        switch job.payload {
        case .twilioSMS(let sid, let accountSID, let from, let to, let serviceSID):
            func form(_ status: String) -> [(String, String)] {
                var pairs = [("AccountSid", accountSID), ("ApiVersion", "2010-04-01"), ("MessageSid", sid),
                             ("MessageStatus", status), ("SmsSid", sid), ("SmsStatus", status), ("To", to)]
                if let from { pairs.append(("From", from)) }
                if let serviceSID { pairs.append(("MessagingServiceSid", serviceSID)) }
                if status == "undelivered" { pairs.append(("ErrorCode", "30003")) }
                return pairs
            }
            if job.intermediate { await postTwilio(form("sent"), to: job.url, client: client) }
            await postTwilio(form(job.undelivered ? "undelivered" : "delivered"), to: job.url, client: client)

        case .twilioCall(let sid, let accountSID, let from, let to):
            func form(_ status: String, sequence: Int) -> [(String, String)] {
                let completed = status == "completed"
                return [("AccountSid", accountSID), ("ApiVersion", "2010-04-01"), ("CallSid", sid), ("CallStatus", status),
                        ("CallbackSource", "call-progress-events"), ("Direction", "outbound-api"), ("From", from),
                        ("SequenceNumber", String(sequence)), ("Timestamp", WallTime.now().rfc2822), ("To", to)]
                    + (status == "ringing" ? [] : [("CallDuration", completed ? "12" : "0"), ("Duration", completed ? "1" : "0")])
            }
            if job.intermediate { await postTwilio(form("ringing", sequence: 0), to: job.url, client: client) }
            await postTwilio(form(job.undelivered ? "no-answer" : "completed", sequence: job.intermediate ? 1 : 0),
                             to: job.url, client: client)

        case .vonage(let messageIDs, let apiKey, let from, let msisdn, let clientRef):
            func form(_ messageID: String, status: String, errorCode: String) -> [(String, String)] {
                let now = WallTime.now()
                var nonce = ""
                Hex.append(UInt64.random(in: .min ... .max), to: &nonce)
                var pairs = [("msisdn", msisdn), ("to", from), ("network-code", "23410"), ("messageId", messageID),
                             ("price", "0.00500000"), ("status", status), ("scts", now.scts), ("err-code", errorCode),
                             ("api-key", apiKey), ("message-timestamp", now.vonageTimestamp),
                             ("timestamp", String(now.unixSeconds)), ("nonce", nonce)]
                if let clientRef { pairs.append(("client-ref", clientRef)) }
                pairs.append(("sig", VonageSignature.signature(
                    parameters: pairs, secret: options.signatureSecret, method: options.signatureMethod)))
                return pairs
            }
            for messageID in messageIDs {
                if job.intermediate { await post(form(messageID, status: "accepted", errorCode: "0"), headers: [:], to: job.url, client: client) }
                let final = job.undelivered ? form(messageID, status: "failed", errorCode: "2") : form(messageID, status: "delivered", errorCode: "0")
                await post(final, headers: [:], to: job.url, client: client)
            }
        }
    }

    private func postTwilio(_ form: [(String, String)], to url: String, client: HTTPClient) async {
        let signature = TwilioSignature.signature(url: url, parameters: form, authToken: options.authToken)
        await post(form, headers: ["X-Twilio-Signature": signature, "User-Agent": "TwilioProxy/1.1"], to: url, client: client)
    }

    private func post(_ form: [(String, String)], headers extra: HTTPHeaders, to url: String, client: HTTPClient) async {
        var headers: HTTPHeaders = ["Content-Type": "application/x-www-form-urlencoded"]
        for (name, value) in extra { headers.add(name: name, value: value) }
        let request = HTTPRequest(method: .POST, url: url, headers: headers, body: Array(FormEncoding.encode(form).utf8),
                                  timeout: .seconds(10))
        var delay = options.receiptRetryDelay
        for attempt in 0...options.receiptRetries {
            if attempt > 0 {
                do { try await Task.sleep(for: delay) } catch { return }
                delay *= 2
            }
            do {
                let response = try await client.send(request)
                if (200..<300).contains(response.status) {
                    state.countReceipt(sent: true)
                    return
                }
                logger.debug("receipt refused", metadata: ["receipt.status": "\(response.status)", "receipt.attempt": "\(attempt + 1)"])
            } catch let error as HTTPClientError where error.code == .cancelled || error.code == .shutdown {
                return
            } catch {
                if Task.isCancelled { return }
                logger.debug("receipt not delivered", metadata: ["receipt.error": "\(error)", "receipt.attempt": "\(attempt + 1)"])
            }
        }
        state.countReceipt(sent: false)
        logger.notice("receipt given up", metadata: ["receipt.attempts": "\(options.receiptRetries + 1)"])
    }
}
