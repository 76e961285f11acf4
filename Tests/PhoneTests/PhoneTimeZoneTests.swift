import Phone
import Testing

@Suite("Time zones of phone numbers (libphonenumber's prefix map)")
struct PhoneTimeZoneTests {
    @Test("the longest prefix wins; single-zone countries name their zone; multi-zone countries name all")
    func lookups() {
        #expect(PhoneTimeZones.zones(forE164: "+4915112345678") == ["Europe/Berlin"])
        #expect(PhoneTimeZones.zones(forE164: "+819012345678") == ["Asia/Tokyo"])
        #expect(PhoneTimeZones.zone(forE164: "+12125550100") == "America/New_York")
        #expect(PhoneTimeZones.zone(forE164: "+14155550100") == "America/Los_Angeles")
        #expect(PhoneTimeZones.zone(forE164: "+61412345678") == "Australia/Sydney")
        #expect(PhoneTimeZones.zones(forE164: "+12083201234") == ["America/Boise", "America/Los_Angeles"], "Idaho's 208 spans two zones")
        #expect(PhoneTimeZones.zone(forE164: "+12083201234") == nil)
        #expect(PhoneTimeZones.zones(forE164: "+61812345678").count > 1, "a range the map leaves at the country level")
        #expect(PhoneTimeZones.zones(forE164: "4915112345678") == [], "not E.164")
        #expect(PhoneTimeZones.zones(forE164: "+") == [])
        #expect(!PhoneTimeZones.dataVersion.isEmpty)
    }

    @Test("every zone the map names is one this system knows")
    func knownZones() {
        var unknown = Set<String>()
        for prefix in ["1", "44", "49", "7", "33", "81", "86", "91", "55", "61", "27", "234", "971"] {
            for zone in PhoneTimeZones.zones(forE164: "+" + prefix) where TimeZone(identifier: zone) == nil { unknown.insert(zone) }
        }
        #expect(unknown.isEmpty, "\(unknown)")
    }
}

import Foundation
