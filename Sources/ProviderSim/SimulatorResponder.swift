import Hummingbird
import Logging
import NIOCore

/// The request context: only the connection, so a hung request can tell when its client left.
struct SimulatorContext: InitializableFromSource {
    let channel: any Channel
    init(source: ApplicationRequestContextSource) { channel = source.channel }
}

/// Routes by hand: five endpoints do not need a router, and the hot path stays short.
struct SimulatorResponder: HTTPResponder {
    typealias Context = SimulatorContext

    let state: SimulatorState
    let receipts: ReceiptSender
    let options: SimulatorOptions
    let logger: Logger

    static let accountsPrefix = "/2010-04-01/Accounts/"
    static let maxBodyBytes = 1 << 20

    func respond(to request: Request, context: Context) async throws -> Response {
        let path = request.uri.path
        if path.hasPrefix(Self.accountsPrefix) {
            let rest = path.utf8.dropFirst(Self.accountsPrefix.utf8.count)
            guard let slash = rest.firstIndex(of: UInt8(ascii: "/")) else { return Self.twilioNotFound(path) }
            let accountSID = String(Substring(rest[..<slash]))
            let resource: TwilioAPI.Resource
            switch Substring(rest[rest.index(after: slash)...]) {
            case "Messages.json": resource = .messages
            case "Calls.json": resource = .calls
            default: return Self.twilioNotFound(path)
            }
            guard request.method == .post else { return Self.methodNotAllowed }
            var request = request
            guard let body = try? await request.collectBody(upTo: Self.maxBodyBytes) else { return Self.tooLarge }
            let form = body.withUnsafeReadableBytes { FormFields(bytes: $0) }
            let verdict = TwilioAPI.verdict(resource, accountSID: accountSID, authorization: request.headers[.authorization],
                                            form: form, state: state, options: options)
            return try await conclude(verdict, context: context)
        }
        switch path {
        case "/sms/json":
            guard request.method == .post else { return Self.methodNotAllowed }
            var request = request
            guard let body = try? await request.collectBody(upTo: Self.maxBodyBytes) else { return Self.tooLarge }
            let form = VonageAPI.parameters(body: body, contentType: request.headers[.contentType])
            return try await conclude(VonageAPI.verdict(form, state: state, options: options), context: context)
        case "/sim/messages":
            switch request.method {
            case .get: return Self.json(200, SimEndpoints.messages(state.messages, query: request.uri.queryParameters))
            case .delete:
                state.reset()
                return Response(status: .noContent)
            default: return Self.methodNotAllowed
            }
        case "/sim/stats":
            guard request.method == .get else { return Self.methodNotAllowed }
            return Self.json(200, SimEndpoints.statistics(state.statistics))
        case "/sim/config":
            switch request.method {
            case .get: return Self.json(200, SimEndpoints.config(state.faults))
            case .post, .patch:
                var request = request
                guard let body = try? await request.collectBody(upTo: Self.maxBodyBytes) else { return Self.tooLarge }
                switch SimEndpoints.updatedFaults(state.faults, body: body) {
                case .success(let faults):
                    state.setFaults(faults)
                    logger.info("faults changed", metadata: ["sim.config": "\(SimEndpoints.config(faults))"])
                    return Self.json(200, SimEndpoints.config(faults))
                case .failure(let error):
                    return Self.json(400, SimEndpoints.error("validation_failed", error.message, field: error.field))
                }
            default: return Self.methodNotAllowed
            }
        case "/", "/healthz":
            guard request.method == .get || request.method == .head else { return Self.methodNotAllowed }
            return Self.json(200, "{\"status\":\"ok\",\"service\":\"herald provider-sim\"}")
        default:
            return Self.json(404, SimEndpoints.error("not_found", "No such endpoint.", field: nil))
        }
    }

    private func conclude(_ verdict: Verdict, context: Context) async throws -> Response {
        switch verdict {
        case .refused(let refusal):
            if refusal.unauthorized { state.countUnauthorized() } else { state.countInvalid() }
            var response = Self.json(refusal.status, refusal.body)
            if refusal.status == 401 { response.headers[.wwwAuthenticate] = "Basic realm=\"Twilio API\"" }
            return response
        case .valid(let submission):
            let (outcome, faults) = state.decide(
                key: submission.key, ids: submission.ids, now: WallTime.monotonicNanoseconds(), makeMessage: submission.message)
            if case .hang = outcome {
                state.hangingChanged(by: 1)
                await HungRequest.hold(channel: context.channel, timeout: options.hangTimeout)
                state.hangingChanged(by: -1)
                return Response(status: .gatewayTimeout, headers: Self.jsonHeaders,
                                body: .init(byteBuffer: submission.hangTimeoutBody))
            }
            if faults.latencyMs > 0 { try await Task.sleep(for: .milliseconds(faults.latencyMs)) }
            switch outcome {
            case .error:
                return Response(status: .internalServerError, headers: Self.jsonHeaders,
                                body: .init(byteBuffer: submission.errorBody))
            case .throttle:
                return Response(status: .tooManyRequests, headers: Self.throttleHeaders,
                                body: .init(byteBuffer: submission.throttleBody))
            case .accept(let acceptance):
                let (status, body, receipt) = submission.accept(acceptance, faults)
                if let receipt { receipts.enqueue(receipt) }
                return Self.json(status, body)
            case .hang:
                preconditionFailure("handled above")
            }
        }
    }

    static let jsonHeaders: HTTPFields = [.contentType: "application/json; charset=utf-8"]
    static let throttleHeaders: HTTPFields = [.contentType: "application/json; charset=utf-8", .retryAfter: "1"]

    static func json(_ status: Int, _ body: String) -> Response {
        Response(status: .init(code: status), headers: jsonHeaders, body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    static let methodNotAllowed = json(405, SimEndpoints.error("method_not_allowed", "This method is not allowed here.", field: nil))
    static let tooLarge = json(413, SimEndpoints.error("payload_too_large", "The body is larger than 1 MiB.", field: nil))

    static func twilioNotFound(_ path: String) -> Response {
        json(404, TwilioAPI.error(20404, "The requested resource \(path) was not found", status: 404))
    }
}
