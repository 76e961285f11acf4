import Foundation

/// One line of a command-line progress bar: `[=========>          ]  45%  451,000 rows  98,120 rows/s  ETA 6 s`.
/// Pure, so that the CLI's bar is tested without a terminal.
public enum ProgressLine {
    /// `done` of `total` units of work (bytes read of the file) after `elapsed` seconds, with `rows` counted so far.
    public static func render(done: Int, total: Int, rows: Int, elapsed: Double, width: Int = 30) -> String {
        let fraction = total > 0 ? min(1, max(0, Double(done) / Double(total))) : 0
        let filled = Int((fraction * Double(width)).rounded(.down))
        let bar = String(repeating: "=", count: filled) + (filled < width ? ">" : "") + String(repeating: " ", count: max(0, width - filled - 1))
        let rate = elapsed > 0 ? Double(rows) / elapsed : 0
        var line = "[\(bar)] \(String(format: "%3d", Int((fraction * 100).rounded(.down))))%  \(grouped(rows)) rows"
        if elapsed >= 0.5 { line += "  \(grouped(Int(rate.rounded()))) rows/s" }
        if fraction > 0.01, fraction < 1, elapsed >= 0.5 {
            line += "  ETA \(duration(elapsed / fraction - elapsed))"
        }
        return line
    }

    /// 1234567 → `1,234,567`.
    public static func grouped(_ value: Int) -> String {
        let digits = String(value.magnitude)
        var result = ""
        for (index, digit) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { result += "," }
            result.append(digit)
        }
        return (value < 0 ? "-" : "") + result
    }

    /// Seconds as `7 s`, `2 min 05 s` or `1 h 03 min`.
    public static func duration(_ seconds: Double) -> String {
        let total = Int(seconds.rounded(.up))
        if total < 60 { return "\(total) s" }
        if total < 3600 { return "\(total / 60) min \(String(format: "%02d", total % 60)) s" }
        return "\(total / 3600) h \(String(format: "%02d", total % 3600 / 60)) min"
    }
}
