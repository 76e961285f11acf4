@testable import ProviderSim
import Testing

@Suite("Hand-written encoders")
struct TextFormatTests {
    @Test("times format as Twilio, RFC 3339 and Vonage write them")
    func times() {
        let time = WallTime(epoch: 1_692_853_305.25)  // 2023-08-24 05:01:45.250 UTC, a Thursday
        #expect(time.rfc2822 == "Thu, 24 Aug 2023 05:01:45 +0000")
        #expect(time.rfc3339 == "2023-08-24T05:01:45.250Z")
        #expect(time.vonageTimestamp == "2023-08-24 05:01:45")
        #expect(time.scts == "2308240501")
        #expect(WallTime(epoch: 951_782_400).rfc3339 == "2000-02-29T00:00:00.000Z")
        #expect(WallTime(epoch: 0).rfc2822 == "Thu, 01 Jan 1970 00:00:00 +0000")
    }

    @Test("JSON strings escape quotes, backslashes and control characters, and keep the rest")
    func jsonStrings() {
        var out = ""
        JSONText.appendString("a\"b\\c\nd\u{1}é😀", to: &out)
        #expect(out == #""a\"b\\c\nd\u0001é😀""#)
    }

    @Test("form bodies decode + and %XX, and keep a malformed escape as it is")
    func forms() {
        let form = FormFields("To=%2B14155550100&Body=Hello+w%C3%B6rld&Empty=&Flag&Bad=%ZZ&To=second")
        #expect(form["To"] == "+14155550100")
        #expect(form["Body"] == "Hello wörld")
        #expect(form["Empty"] == "")
        #expect(form.nonEmpty("Empty") == nil)
        #expect(form["Flag"] == "")
        #expect(form["Bad"] == "%ZZ")
        #expect(form["Missing"] == nil)
    }

    @Test("E.164 is a plus, a non-zero digit and at most 15 digits")
    func e164() {
        #expect(isE164("+14155550100"))
        #expect(isE164("+447700900000"))
        #expect(!isE164("14155550100"))
        #expect(!isE164("+04155550100"))
        #expect(!isE164("+1415555010012345"))
        #expect(!isE164("+1 415 555"))
    }

    @Test("ids from different sequence numbers differ and have the documented shape")
    func ids() {
        var options = SimulatorOptions()
        options.seed = 1
        let state = SimulatorState(options: options)
        let sids = Set((0..<1000).map { state.sid("SM", UInt64($0)) })
        #expect(sids.count == 1000)
        #expect(sids.allSatisfy { $0.wholeMatch(of: /SM[0-9a-f]{32}/) != nil })
        #expect(state.vonageID(5).wholeMatch(of: /[0-9A-F]{16}/) != nil)
    }
}
