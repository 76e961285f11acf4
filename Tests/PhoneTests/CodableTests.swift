import Foundation
import Phone
import Testing

@Suite("Codable")
struct CodableTests {
    struct Message: Codable, Equatable {
        let to: PhoneNumber
        let type: PhoneNumberType
    }

    @Test("a number encodes as its E.164 string and decodes back")
    func roundTrip() throws {
        let number = try PhoneNumberParser.parse("+49 1511 2345678")
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let data = try encoder.encode(Message(to: number, type: number.type))
        #expect(String(decoding: data, as: UTF8.self) == #"{"to":"+4915112345678","type":"mobile"}"#)
        let decoded = try JSONDecoder().decode(Message.self, from: data)
        #expect(decoded.to == number)
        #expect(decoded.to.type == .mobile)
    }

    @Test("decoding validates, and the error does not echo the number", arguments: [
        #"{"to":"+1 200 555 0100","type":"mobile"}"#,
        #"{"to":"015112345678","type":"mobile"}"#,
        #"{"to":"call me","type":"mobile"}"#,
    ])
    func invalid(_ json: String) {
        do {
            _ = try JSONDecoder().decode(Message.self, from: Data(json.utf8))
            Issue.record("decoded an invalid number")
        } catch let DecodingError.dataCorrupted(context) {
            #expect(!context.debugDescription.contains { $0.isNumber })
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }
}
