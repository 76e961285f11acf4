import Foundation
@testable import Providers
import Testing
import TestSupport
#if canImport(FoundationXML)
import FoundationXML
#endif

/// The XML escaper TwiML `<Say>` and Plivo `<Speak>` share. Message text is whatever a template
/// and its data made of it, so every Unicode scalar must leave the document well-formed and be
/// spoken as it was written. Comparisons are on scalars: `String`'s `==` treats canonically
/// equivalent text as equal and would hide exactly the differences these tests are about.
@Suite struct XMLEscapingTests {
    static func scalars(_ text: String) -> [UInt32] { text.unicodeScalars.map(\.value) }

    /// XML 1.0 §2.2 `Char`, written as the production reads, independent of the escaper's switch.
    static func isXMLChar(_ value: UInt32) -> Bool {
        value == 0x9 || value == 0xA || value == 0xD || (0x20...0xD7FF).contains(value)
            || (0xE000...0xFFFD).contains(value) || (0x10000...0x10FFFF).contains(value)
    }

    /// What a scalar must become on its own.
    static func expectedEscape(_ scalar: Unicode.Scalar) -> String {
        switch scalar {
        case "&": "&amp;"
        case "<": "&lt;"
        case ">": "&gt;"
        case "\"": "&quot;"
        case "'": "&apos;"
        default: isXMLChar(scalar.value) ? String(scalar) : " "
        }
    }

    /// The text an XML parser must hand back for `text`: forbidden scalars spoken as spaces.
    static func expectedText(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.map { isXMLChar($0.value) ? $0 : " " }))
    }

    static let allScalars: String = {
        String(String.UnicodeScalarView((UInt32(0)...0x10FFFF).compactMap(Unicode.Scalar.init)))
    }()

    @Test("each markup scalar becomes its entity")
    func markupScalars() {
        #expect(AdapterSupport.xmlEscaped("&") == "&amp;")
        #expect(AdapterSupport.xmlEscaped("<") == "&lt;")
        #expect(AdapterSupport.xmlEscaped(">") == "&gt;")
        #expect(AdapterSupport.xmlEscaped("\"") == "&quot;")
        #expect(AdapterSupport.xmlEscaped("'") == "&apos;")
        #expect(Self.scalars(AdapterSupport.xmlEscaped(#"Tom & "Jerry" <b>'s</b> ]]> <!-- &amp;"#))
            == Self.scalars("Tom &amp; &quot;Jerry&quot; &lt;b&gt;&apos;s&lt;/b&gt; ]]&gt; &lt;!-- &amp;amp;"))
    }

    @Test("a markup scalar that combining marks fold into another grapheme cluster is still escaped")
    func markupWithCombiningMarks() {
        // `<` + U+0338 is one Character (canonically `≮`), equal to no markup character, yet an
        // XML parser sees its first scalar as the start of a tag.
        #expect("<\u{0338}".count == 1)
        #expect(Character("<\u{0338}") != "<")
        let cases: [(String, String)] = [
            ("<\u{0338}", "&lt;\u{0338}"),
            (">\u{0338}", "&gt;\u{0338}"),
            ("&\u{0301}", "&amp;\u{0301}"),
            ("\"\u{0301}\u{0308}", "&quot;\u{0301}\u{0308}"),
            ("'\u{20DD}", "&apos;\u{20DD}"),
            ("a<\u{0338}b>\u{0338}c", "a&lt;\u{0338}b&gt;\u{0338}c"),
            ("<\u{200D}script>", "&lt;\u{200D}script&gt;"),
            ("<\u{FE0F}", "&lt;\u{FE0F}"),
            ("\u{1F600}<\u{0338}", "\u{1F600}&lt;\u{0338}"),
        ]
        for (text, escaped) in cases {
            #expect(Self.scalars(AdapterSupport.xmlEscaped(text)) == Self.scalars(escaped), "\(Self.scalars(text))")
        }
    }

    @Test("every scalar XML 1.0 forbids becomes a space; tab, line feed and carriage return stay")
    func forbiddenScalars() {
        let forbidden = (UInt32(0)..<0x20).filter { ![0x9, 0xA, 0xD].contains($0) } + [0xFFFE, 0xFFFF]
        #expect(forbidden.count == 31)
        for value in forbidden {
            let scalar = Unicode.Scalar(value)!
            #expect(Self.scalars(AdapterSupport.xmlEscaped("a\(scalar)b")) == Self.scalars("a b"), "U+\(String(value, radix: 16))")
            // Also when the scalar rides in a grapheme cluster with what precedes it.
            #expect(Self.scalars(AdapterSupport.xmlEscaped("\(scalar)\u{0301}")) == Self.scalars(" \u{0301}"), "U+\(String(value, radix: 16))")
        }
        #expect(Self.scalars(AdapterSupport.xmlEscaped("a\tb\nc\rd\r\ne")) == Self.scalars("a\tb\nc\rd\r\ne"))
    }

    @Test("every Unicode scalar becomes itself, its entity or a space")
    func everyScalar() async throws {
        // Seconds of CPU in a debug build: off the cooperative pool, so the tests beside it keep running.
        let (escaped, expected) = try await offPool {
            var expected: [UInt32] = []
            for scalar in Self.allScalars.unicodeScalars { expected += Self.scalars(Self.expectedEscape(scalar)) }
            return (Self.scalars(AdapterSupport.xmlEscaped(Self.allScalars)), expected)
        }
        #expect(escaped == expected)
    }

    @Test("emoji, ZWJ sequences, flags, skin tones and combining text pass unchanged")
    func textUnchanged() {
        let texts = [
            "👩‍👩‍👧‍👦", "🏳️‍🌈", "👍🏽", "🇩🇪🇯🇵", "🧑🏿‍🚀", "❤️", "e\u{0301}", "é", "Ångström", "Код 1234",
            "שלום עולם", "مرحبا", "你好，世界", "한국어", "ห้องสมุด", "\u{200B}\u{2060}", "\u{FEFF}", "\u{FFFD}",
            "\u{E000}\u{10FFFF}", "\u{7F}\u{85}\u{9F}", "Your code is 123456.",
        ]
        for text in texts {
            #expect(Self.scalars(AdapterSupport.xmlEscaped(text)) == Self.scalars(text), "\(text)")
        }
    }

    // MARK: The documents parse

    /// Texts that broke or bent the documents when escaping went by `Character`.
    static let hostile = [
        "<\u{0338}/Say><Play>https://evil.example/x.mp3</Play><Say>",
        "<\u{0338}/Speak><Hangup/><Speak>",
        "&\u{0301}lt; &\u{0301}#60; \"\u{0301} '\u{0301}",
        "bell\u{7} nul\u{0} esc\u{1B} vt\u{B} ff\u{C} us\u{1F} \u{FFFE}\u{FFFF}",
        "]]> <!-- --> <?xml?> <![CDATA[x]]>",
        "👩‍👩‍👧‍👦 🏳️‍🌈 e\u{0301} Код",
        "Ihr Code: 1 2 3 <4> & \"5\" 's'",
    ]

    @Test("TwiML and Plivo XML are well-formed and speak exactly the text")
    func documentsParse() throws {
        for text in Self.hostile {
            let twiml = try #require(ParsedXML(TwilioAdapter.twiml(text: text, locale: "de-DE")), "\(Self.scalars(text))")
            #expect(twiml.elements == ["Response", "Say"])
            #expect(twiml.attributes["Say"] == ["language": "de-DE"])
            #expect(Self.scalars(twiml.text["Say", default: ""]) == Self.scalars(Self.expectedText(text)))

            let plivo = try #require(ParsedXML(PlivoAdapter.answerXML(text: text, locale: "de-DE")), "\(Self.scalars(text))")
            #expect(plivo.elements == ["Response", "Speak"])
            #expect(plivo.attributes["Speak"] == ["language": "de-DE"])
            #expect(Self.scalars(plivo.text["Speak", default: ""]) == Self.scalars(Self.expectedText(text)))
        }
    }

    @Test("every Unicode scalar survives TwiML and Plivo XML")
    func everyScalarParses() async throws {
        // A parser turns a carriage return into a line feed (XML 1.0 §2.11), so it is left out here;
        // `forbiddenScalars` shows the escaper keeps it. Seconds of CPU in a debug build: off the cooperative pool.
        let (text, twiml, plivo) = try await offPool {
            let text = Self.allScalars.replacingOccurrences(of: "\r", with: "")
            return (text, ParsedXML(TwilioAdapter.twiml(text: text, locale: nil)),
                    ParsedXML(PlivoAdapter.answerXML(text: text, locale: nil)))
        }
        #expect(!text.unicodeScalars.contains("\r"))
        let expected = Self.scalars(Self.expectedText(text))
        let twimlDocument = try #require(twiml)
        #expect(twimlDocument.elements == ["Response", "Say"])
        #expect(Self.scalars(twimlDocument.text["Say", default: ""]) == expected)
        let plivoDocument = try #require(plivo)
        #expect(plivoDocument.elements == ["Response", "Speak"])
        #expect(Self.scalars(plivoDocument.text["Speak", default: ""]) == expected)
    }
}

/// A document as Foundation's `XMLParser` reads it: the elements in order, each one's
/// attributes and text. Nil when the parser finds the document not well-formed.
struct ParsedXML {
    var elements: [String] = []
    var attributes: [String: [String: String]] = [:]
    var text: [String: String] = [:]

    init?(_ xml: String) {
        let collector = Collector()
        let parser = XMLParser(data: Data(xml.utf8))
        parser.delegate = collector
        guard parser.parse(), collector.failed == false else { return nil }
        elements = collector.elements
        attributes = collector.attributes
        text = collector.text
    }

    private final class Collector: NSObject, XMLParserDelegate {
        var elements: [String] = []
        var attributes: [String: [String: String]] = [:]
        var text: [String: String] = [:]
        var open: [String] = []
        var failed = false

        func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?,
                    qualifiedName qName: String?, attributes attributeDict: [String: String] = [:]) {
            elements.append(elementName)
            attributes[elementName] = attributeDict
            open.append(elementName)
        }

        func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName qName: String?) {
            open.removeLast()
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) {
            guard let current = open.last else { return }
            text[current, default: ""] += string
        }

        func parser(_ parser: XMLParser, parseErrorOccurred parseError: any Error) {
            failed = true
        }
    }
}
