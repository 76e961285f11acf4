import Herald
import Testing

@Suite("The CLI progress line")
struct ProgressLineTests {
    @Test("bar, percentage, rows, rate and ETA")
    func render() {
        #expect(ProgressLine.render(done: 0, total: 100, rows: 0, elapsed: 0, width: 10) == "[>         ]   0%  0 rows")
        #expect(ProgressLine.render(done: 50, total: 100, rows: 500_000, elapsed: 5, width: 10)
            == "[=====>    ]  50%  500,000 rows  100,000 rows/s  ETA 5 s")
        #expect(ProgressLine.render(done: 100, total: 100, rows: 1_000_000, elapsed: 10, width: 10)
            == "[==========] 100%  1,000,000 rows  100,000 rows/s")
        #expect(ProgressLine.render(done: 5, total: 0, rows: 3, elapsed: 1, width: 4) == "[>   ]   0%  3 rows  3 rows/s")
    }

    @Test("numbers grouped by thousands; durations in s, min and h")
    func parts() {
        #expect(ProgressLine.grouped(0) == "0")
        #expect(ProgressLine.grouped(999) == "999")
        #expect(ProgressLine.grouped(1_000) == "1,000")
        #expect(ProgressLine.grouped(-1_234_567) == "-1,234,567")
        #expect(ProgressLine.duration(0.2) == "1 s")
        #expect(ProgressLine.duration(59) == "59 s")
        #expect(ProgressLine.duration(125) == "2 min 05 s")
        #expect(ProgressLine.duration(3_780) == "1 h 03 min")
    }
}
