import Foundation

/// Text-format timestamps without `DateFormatter` (which is slow and locale-sensitive).
/// Connections set `DateStyle = ISO`; offsets other than UTC are still understood.
enum PostgresDateTime {
    private static let microsPerDay: Int64 = 86_400_000_000

    // Howard Hinnant's civil-calendar algorithms (proleptic Gregorian, year 0 = 1 BC).
    static func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    static func civilFromDays(_ days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// `YYYY-MM-DD HH:MM:SS.ffffff+00` (with ` BC` before year 1).
    static func writeTimestamp(_ date: Date, into buffer: inout PostgresEncodingBuffer) {
        let seconds = date.timeIntervalSince1970
        guard seconds.isFinite, abs(seconds) < 9.0e12 else {
            buffer.fail(reason: "the Date is outside PostgreSQL's timestamp range")
            return
        }
        let micros = Int64((seconds * 1_000_000).rounded())
        var days = micros / microsPerDay
        var timeOfDay = micros % microsPerDay
        if timeOfDay < 0 {
            timeOfDay += microsPerDay
            days -= 1
        }
        let civil = civilFromDays(days)
        let bc = civil.year <= 0
        let year = bc ? 1 - civil.year : civil.year
        write(year, width: 4, into: &buffer)
        buffer.write(byte: UInt8(ascii: "-"))
        write(civil.month, width: 2, into: &buffer)
        buffer.write(byte: UInt8(ascii: "-"))
        write(civil.day, width: 2, into: &buffer)
        buffer.write(byte: UInt8(ascii: " "))
        let totalSeconds = timeOfDay / 1_000_000
        write(totalSeconds / 3600, width: 2, into: &buffer)
        buffer.write(byte: UInt8(ascii: ":"))
        write(totalSeconds / 60 % 60, width: 2, into: &buffer)
        buffer.write(byte: UInt8(ascii: ":"))
        write(totalSeconds % 60, width: 2, into: &buffer)
        let fraction = timeOfDay % 1_000_000
        if fraction != 0 {
            buffer.write(byte: UInt8(ascii: "."))
            write(fraction, width: 6, into: &buffer)
        }
        buffer.write("+00")
        if bc { buffer.write(" BC") }
    }

    private static func write(_ value: Int64, width: Int, into buffer: inout PostgresEncodingBuffer) {
        var digits = 1
        var probe = value
        while probe >= 10 {
            probe /= 10
            digits += 1
        }
        for _ in digits..<max(width, digits) { buffer.write(byte: UInt8(ascii: "0")) }
        buffer.write(integer: value)
    }

    /// Parses ISO output of `timestamptz`, `timestamp` (taken as UTC) and `date` (UTC midnight).
    static func parse(_ bytes: UnsafeRawBufferPointer) throws -> Date {
        let failure = PostgresDecodingFailure("the text is not an ISO timestamp or date")
        if bytes.elementsEqual("infinity".utf8) { return .distantFuture }
        if bytes.elementsEqual("-infinity".utf8) { return .distantPast }
        var index = 0
        let count = bytes.count

        func number(minDigits: Int, maxDigits: Int) throws -> Int64 {
            var value: Int64 = 0
            var digits = 0
            while index < count, digits < maxDigits, bytes[index] &- UInt8(ascii: "0") < 10 {
                value = value * 10 + Int64(bytes[index] &- UInt8(ascii: "0"))
                index += 1
                digits += 1
            }
            guard digits >= minDigits else { throw failure }
            return value
        }
        func expect(_ byte: UInt8) throws {
            guard index < count, bytes[index] == byte else { throw failure }
            index += 1
        }

        var year = try number(minDigits: 4, maxDigits: 7)
        try expect(UInt8(ascii: "-"))
        let month = try number(minDigits: 2, maxDigits: 2)
        try expect(UInt8(ascii: "-"))
        let day = try number(minDigits: 2, maxDigits: 2)
        guard (1...12).contains(month), (1...31).contains(day) else { throw failure }
        var micros: Int64 = 0
        var offsetSeconds: Int64 = 0
        if index < count, bytes[index] == UInt8(ascii: " ") || bytes[index] == UInt8(ascii: "T"),
           index + 1 < count, bytes[index + 1] &- UInt8(ascii: "0") < 10 {
            index += 1
            let hour = try number(minDigits: 2, maxDigits: 2)
            try expect(UInt8(ascii: ":"))
            let minute = try number(minDigits: 2, maxDigits: 2)
            try expect(UInt8(ascii: ":"))
            let second = try number(minDigits: 2, maxDigits: 2)
            micros = ((hour * 60 + minute) * 60 + second) * 1_000_000
            if index < count, bytes[index] == UInt8(ascii: ".") {
                index += 1
                var scale: Int64 = 100_000
                var digits = 0
                while index < count, bytes[index] &- UInt8(ascii: "0") < 10 {
                    if digits < 6 { micros += Int64(bytes[index] &- UInt8(ascii: "0")) * scale }
                    scale /= 10
                    digits += 1
                    index += 1
                }
                guard digits > 0 else { throw failure }
            }
            if index < count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                let sign: Int64 = bytes[index] == UInt8(ascii: "-") ? -1 : 1
                index += 1
                var offset = try number(minDigits: 2, maxDigits: 2) * 3600
                if index < count, bytes[index] == UInt8(ascii: ":") {
                    index += 1
                    offset += try number(minDigits: 2, maxDigits: 2) * 60
                    if index < count, bytes[index] == UInt8(ascii: ":") {
                        index += 1
                        offset += try number(minDigits: 2, maxDigits: 2)
                    }
                }
                offsetSeconds = sign * offset
            }
        }
        if index < count {
            guard bytes[index...].elementsEqual(" BC".utf8) else { throw failure }
            year = 1 - year
            index = count
        }
        let days = daysFromCivil(year: year, month: month, day: day)
        let total = days * microsPerDay + micros - offsetSeconds * 1_000_000
        return Date(timeIntervalSince1970: Double(total) / 1_000_000)
    }
}
