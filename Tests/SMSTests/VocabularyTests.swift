import SMS
import Testing

@Suite struct MessageStatusTests {
    typealias Event = MessageStatus.Event

    /// The whole table, written out: every (status, event) pair not listed here must be refused.
    static let allowed: [MessageStatus: [Event: MessageStatus]] = [
        .queued: [.claim: .sending, .cancel: .canceled, .deliveredReceipt: .delivered],
        .sending: [.accepted: .sent, .retry: .queued, .leaseExpired: .queued, .refused: .failed,
                   .deliveredReceipt: .delivered, .undeliveredReceipt: .undelivered, .failedReceipt: .failed],
        .sent: [.deliveredReceipt: .delivered, .undeliveredReceipt: .undelivered, .failedReceipt: .failed],
        .delivered: [.accepted: .delivered],
        .undelivered: [.accepted: .undelivered, .deliveredReceipt: .delivered],
        .failed: [:],
        .canceled: [:],
    ]

    @Test("every status × event pair matches the table", arguments: MessageStatus.allCases)
    func exhaustive(status: MessageStatus) {
        for event in Event.allCases {
            #expect(status.after(event) == Self.allowed[status]?[event], "\(status) after \(event)")
        }
    }

    @Test("a delivered message is never downgraded by a late receipt")
    func deliveredStays() {
        #expect(MessageStatus.delivered.after(.undeliveredReceipt) == nil)
        #expect(MessageStatus.delivered.after(.failedReceipt) == nil)
        #expect(MessageStatus.delivered.after(.retry) == nil)
        #expect(MessageStatus.delivered.after(.accepted) == .delivered)
    }

    @Test("a canceled message never becomes sent, sending or delivered")
    func canceledStays() {
        for event in Event.allCases { #expect(MessageStatus.canceled.after(event) == nil, "\(event)") }
    }

    @Test("final statuses accept only receipts that keep or improve them")
    func finalStatuses() {
        for status in MessageStatus.allCases where status.isFinal {
            for event in Event.allCases {
                guard let next = status.after(event) else { continue }
                #expect(next.isFinal, "\(status) after \(event) left the final states")
            }
        }
    }

    @Test("sources(of:) lists exactly the statuses an event may start from")
    func sources() {
        #expect(MessageStatus.sources(of: .leaseExpired) == [.sending])
        #expect(MessageStatus.sources(of: .claim) == [.queued])
        #expect(Set(MessageStatus.sources(of: .accepted)) == [.sending, .delivered, .undelivered])
        #expect(Set(MessageStatus.sources(of: .deliveredReceipt)) == [.queued, .sending, .sent, .undelivered])
        #expect(Set(MessageStatus.sources(of: .undeliveredReceipt)) == [.sending, .sent])
    }

    @Test("kinds order the queue: transactional before marketing")
    func priority() {
        #expect(MessageKind.transactional.priority < MessageKind.marketing.priority)
    }

    @Test("an unknown stored value fails loudly, naming type and value")
    func unknownValue() throws {
        #expect(try UnknownValue.parse("sms", as: MessageChannel.self) == .sms)
        #expect(throws: UnknownValue(type: "MessageStatus", value: "exploded")) {
            try UnknownValue.parse("exploded", as: MessageStatus.self)
        }
        #expect(throws: UnknownValue.self) { try UnknownValue.parse("", as: MessageKind.self) }
    }
}

@Suite struct ConstantTimeTests {
    @Test("constant-time comparison agrees with == on every pair of short strings")
    func agreesWithEquality() {
        let samples: [[UInt8]] = [[], [0], [1], [0, 0], [0, 1], [1, 0], [1, 2, 3], [1, 2, 4], [255, 255], [1, 2]]
        for a in samples {
            for b in samples { #expect(ConstantTime.equals(a, b) == (a == b), "\(a) vs \(b)") }
        }
        #expect(ConstantTime.equals("token", "token"))
        #expect(!ConstantTime.equals("token", "tokeN"))
    }
}

@Suite struct DurationMathTests {
    @Test("whole milliseconds round toward zero; fractional ones keep the fraction")
    func milliseconds() {
        #expect(Duration.seconds(2).wholeMilliseconds == 2000)
        #expect(Duration.microseconds(1500).wholeMilliseconds == 1)
        #expect(Duration.microseconds(1500).fractionalMilliseconds == 1.5)
        #expect(Duration.milliseconds(-3).wholeMilliseconds == -3)
        #expect(Duration.zero.wholeMilliseconds == 0)
    }
}
