import SMS
import Testing

@Suite("Reply keywords")
struct KeywordTests {
    let keywords = KeywordSet()

    @Test("every opt-out word, in any case, as the whole message", arguments: [
        "STOP", "stop", "Stop", " StopAll ", "unsubscribe", "CANCEL", "end", "Quit", "REVOKE", "optout", "Stop.", "STOP!", "ＳＴＯＰ", "\tstop\n",
    ])
    func optOut(message: String) {
        #expect(keywords.classify(message) == .optOut)
    }

    @Test("START and UNSTOP resubscribe; HELP and INFO ask for help")
    func others() {
        #expect(keywords.classify("start") == .optIn)
        #expect(keywords.classify("UNSTOP") == .optIn)
        #expect(keywords.classify("Help?") == .help)
        #expect(keywords.classify("info") == .help)
    }

    @Test("a keyword inside a longer message is not a keyword", arguments: [
        "please stop texting me", "stop it", "don't stop", "STOPP", "S T O P", "", "   ", "stop stop", "ST0P", "!!!",
    ])
    func notKeywords(message: String) {
        #expect(keywords.classify(message) == nil)
    }

    @Test("custom lists from settings apply, and opt-out wins a clash")
    func custom() {
        let custom = KeywordSet(optOut: ["ARRET", "stop"], optIn: ["stop", "GO"], help: ["AIDE"])
        #expect(custom.classify("arret") == .optOut)
        #expect(custom.classify("Stop") == .optOut)
        #expect(custom.classify("go") == .optIn)
        #expect(custom.classify("aide") == .help)
        #expect(custom.classify("help") == nil)
    }
}
