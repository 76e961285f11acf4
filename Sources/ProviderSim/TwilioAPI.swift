import Foundation
import NIOCore
import SMS

/// Twilio's Messages and Calls resources (`/2010-04-01/Accounts/{sid}/Messages.json`,
/// `…/Calls.json`): form-encoded, basic auth, answers and error codes as Twilio gives them.
enum TwilioAPI {
    enum Resource { case messages, calls }

    /// Twilio's longest message body, in characters.
    static let maxBodyCharacters = 1600

    /// `{"code":…,"message":…,"more_info":…,"status":…}`.
    static func error(_ code: Int, _ message: String, status: Int) -> String {
        var out = "{\"code\":\(code),\"message\":"
        JSONText.appendString(message, to: &out)
        out += ",\"more_info\":\"https://www.twilio.com/docs/errors/\(code)\",\"status\":\(status)}"
        return out
    }

    static let unauthorizedBody = error(20003, "Authenticate", status: 401)
    static let errorBody = ByteBuffer(string: error(20500, "Internal Server Error", status: 500))
    static let throttleBody = ByteBuffer(string: error(20429, "Too Many Requests", status: 429))
    static let hangTimeoutBody = ByteBuffer(string: error(20504, "Gateway Timeout", status: 504))

    /// Whether `Authorization: Basic …` names `accountSID` with `authToken`.
    static func isAuthorized(_ authorization: String?, accountSID: String, authToken: String) -> Bool {
        guard let authorization, authorization.count > 6,
              authorization.prefix(6).lowercased() == "basic "
        else { return false }
        let encoded = authorization.dropFirst(6).trimmingCharacters(in: .whitespaces)
        guard let decoded = Data(base64Encoded: encoded), let text = String(data: decoded, encoding: .utf8),
              let colon = text.firstIndex(of: ":")
        else { return false }
        return text[..<colon] == accountSID && text[text.index(after: colon)...] == authToken
    }

    static func verdict(
        _ resource: Resource, accountSID: String, authorization: String?, form: FormFields,
        state: SimulatorState, options: SimulatorOptions
    ) -> Verdict {
        guard isAuthorized(authorization, accountSID: accountSID, authToken: options.authToken) else {
            return .refused(Refusal(status: 401, body: unauthorizedBody, unauthorized: true))
        }
        func invalid(_ code: Int, _ message: String) -> Verdict {
            .refused(Refusal(status: 400, body: error(code, message, status: 400), unauthorized: false))
        }
        let callback = form.nonEmpty("StatusCallback")
        let badCallback = callback.map { !isHTTPURL($0) } ?? false
        switch resource {
        case .messages:
            guard let to = form.nonEmpty("To") else { return invalid(21604, "A 'To' phone number is required.") }
            guard let body = form.nonEmpty("Body") else { return invalid(21602, "Message body is required.") }
            let from = form.nonEmpty("From")
            let serviceSID = form.nonEmpty("MessagingServiceSid")
            guard from != nil || serviceSID != nil else { return invalid(21603, "A 'From' phone number is required.") }
            guard isE164(to) else { return invalid(21211, "Invalid 'To' Phone Number: \(to)") }
            guard body.count <= maxBodyCharacters else {
                return invalid(21617, "The concatenated message body exceeds the 1600 character limit.")
            }
            guard !badCallback else { return invalid(21609, "The StatusCallback URL is not a valid URL.") }
            let segments = MessageText(body).segments
            return .valid(Submission(
                key: SimulatorState.key(to: to, body: body), ids: 1,
                message: { sequence, undelivered in
                    SimulatedMessage(id: state.sid("SM", sequence), api: .twilio, to: to, from: from ?? serviceSID ?? "",
                                     body: body, kind: .sms, receivedAt: WallTime.now().epoch, segments: segments,
                                     receipt: undelivered ? "undelivered" : "delivered")
                },
                accept: { acceptance, faults in
                    let sid = state.sid("SM", acceptance.sequence)
                    let receipt = (faults.receipts ? callback : nil).map {
                        ReceiptJob(due: .now + .milliseconds(faults.receiptDelayMs), url: $0,
                                   payload: .twilioSMS(sid: sid, accountSID: accountSID, from: from, to: to, messagingServiceSID: serviceSID),
                                   undelivered: acceptance.undelivered, intermediate: faults.sentReceipts)
                    }
                    let json = messageJSON(sid: sid, accountSID: accountSID, to: to, from: from, serviceSID: serviceSID,
                                           body: body, segments: segments)
                    return (201, json, receipt)
                },
                errorBody: errorBody, throttleBody: throttleBody, hangTimeoutBody: hangTimeoutBody))

        case .calls:
            guard let to = form.nonEmpty("To") else { return invalid(21201, "No 'To' number is specified") }
            guard let from = form.nonEmpty("From") else { return invalid(21213, "No 'From' number is specified") }
            let instructions = form.nonEmpty("Twiml") ?? form.nonEmpty("Url") ?? form.nonEmpty("ApplicationSid")
            guard let instructions else { return invalid(21205, "Url parameter is required.") }
            guard isE164(to) else { return invalid(21211, "Invalid 'To' Phone Number: \(to)") }
            guard !badCallback else { return invalid(21609, "The StatusCallback URL is not a valid URL.") }
            return .valid(Submission(
                key: SimulatorState.key(to: to, body: instructions), ids: 1,
                message: { sequence, undelivered in
                    SimulatedMessage(id: state.sid("CA", sequence), api: .twilio, to: to, from: from, body: instructions,
                                     kind: .call, receivedAt: WallTime.now().epoch, segments: 1,
                                     receipt: undelivered ? "undelivered" : "delivered")
                },
                accept: { acceptance, faults in
                    let sid = state.sid("CA", acceptance.sequence)
                    let receipt = (faults.receipts ? callback : nil).map {
                        ReceiptJob(due: .now + .milliseconds(faults.receiptDelayMs), url: $0,
                                   payload: .twilioCall(sid: sid, accountSID: accountSID, from: from, to: to),
                                   undelivered: acceptance.undelivered, intermediate: faults.sentReceipts)
                    }
                    return (201, callJSON(sid: sid, accountSID: accountSID, to: to, from: from), receipt)
                },
                errorBody: errorBody, throttleBody: throttleBody, hangTimeoutBody: hangTimeoutBody))
        }
    }

    /// The Message resource as Twilio answers a create, built by hand (no encoder on the hot path).
    static func messageJSON(sid: String, accountSID: String, to: String, from: String?, serviceSID: String?,
                            body: String, segments: Int) -> String {
        let now = WallTime.now().rfc2822
        let uri = "/2010-04-01/Accounts/" + accountSID + "/Messages/" + sid
        var out = ""
        out.reserveCapacity(640 + body.utf8.count)
        out += "{\"account_sid\":"; JSONText.appendString(accountSID, to: &out)
        out += ",\"api_version\":\"2010-04-01\",\"body\":"; JSONText.appendString(body, to: &out)
        out += ",\"date_created\":\"" + now + "\",\"date_sent\":null,\"date_updated\":\"" + now
        out += "\",\"direction\":\"outbound-api\",\"error_code\":null,\"error_message\":null"
        JSONText.appendMember("from", from, to: &out)
        JSONText.appendMember("messaging_service_sid", serviceSID, to: &out)
        out += ",\"num_media\":\"0\",\"num_segments\":\"\(segments)\",\"price\":null,\"price_unit\":\"USD\",\"sid\":\""
        out += sid
        out += from == nil ? "\",\"status\":\"accepted\"" : "\",\"status\":\"queued\""
        out += ",\"subresource_uris\":{\"media\":"; JSONText.appendString(uri + "/Media.json", to: &out)
        out += "},\"to\":"; JSONText.appendString(to, to: &out)
        out += ",\"uri\":"; JSONText.appendString(uri + ".json", to: &out)
        out += "}"
        return out
    }

    /// The Call resource as Twilio answers a create.
    static func callJSON(sid: String, accountSID: String, to: String, from: String) -> String {
        let now = WallTime.now().rfc2822
        let uri = "/2010-04-01/Accounts/" + accountSID + "/Calls/" + sid
        var out = "{\"account_sid\":"
        JSONText.appendString(accountSID, to: &out)
        out += ",\"annotation\":null,\"answered_by\":null,\"api_version\":\"2010-04-01\",\"caller_name\":null"
        out += ",\"date_created\":\"" + now + "\",\"date_updated\":\"" + now + "\",\"direction\":\"outbound-api\""
        out += ",\"duration\":null,\"end_time\":null,\"forwarded_from\":null"
        JSONText.appendMember("from", from, to: &out)
        JSONText.appendMember("from_formatted", from, to: &out)
        out += ",\"group_sid\":null,\"parent_call_sid\":null,\"phone_number_sid\":null,\"price\":null,\"price_unit\":\"USD\""
        out += ",\"queue_time\":\"0\",\"sid\":\"" + sid + "\",\"start_time\":null,\"status\":\"queued\""
        out += ",\"subresource_uris\":{\"notifications\":"; JSONText.appendString(uri + "/Notifications.json", to: &out)
        out += ",\"recordings\":"; JSONText.appendString(uri + "/Recordings.json", to: &out)
        out += "}"
        JSONText.appendMember("to", to, to: &out)
        JSONText.appendMember("to_formatted", to, to: &out)
        out += ",\"trunk_sid\":null,\"uri\":"; JSONText.appendString(uri + ".json", to: &out)
        out += "}"
        return out
    }
}
