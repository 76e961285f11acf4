import Phone
import Testing

@Suite("Concurrency")
struct ConcurrencyTests {
    enum Outcome: Sendable, Equatable {
        case number(String, PhoneNumberType, String?)
        case error(PhoneNumberError.Reason)

        init(_ input: String, _ region: String?) {
            do {
                let number = try PhoneNumberParser.parse(input, defaultRegion: region)
                self = .number(number.e164, number.type, number.regionCode)
            } catch {
                self = .error(error.reason)
            }
        }
    }

    static let inputs: [(String, String?)] =
        InternationalParsingTests.cases.map { ($0.input, $0.defaultRegion) }
        + NationalParsingTests.cases.map { ($0.input, $0.defaultRegion) }
        + ErrorTests.cases.map { ($0.input, $0.defaultRegion) }

    @Test("many tasks parsing at once get the same results as one task")
    func parallelParsing() async {
        let expected = Self.inputs.map { Outcome($0.0, $0.1) }
        let results = await withTaskGroup(of: [Outcome].self) { group in
            for _ in 0..<32 {
                group.addTask {
                    var outcomes: [Outcome] = []
                    for _ in 0..<5 {
                        outcomes = Self.inputs.map { Outcome($0.0, $0.1) }
                    }
                    return outcomes
                }
            }
            var all: [[Outcome]] = []
            for await outcomes in group { all.append(outcomes) }
            return all
        }
        #expect(results.count == 32)
        for outcomes in results {
            #expect(outcomes == expected)
        }
    }

    @Test("formatting and example lookups are safe in parallel too")
    func parallelLookups() async {
        let regions = PhoneNumberParser.supportedRegions
        let serial = regions.map { PhoneNumberParser.exampleNumber(region: $0, type: .mobile)?.formatted(.international) }
        await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    regions.map { PhoneNumberParser.exampleNumber(region: $0, type: .mobile)?.formatted(.international) }
                        == serial
                }
            }
            for await same in group { #expect(same) }
        }
    }
}
