// C shim over libphonenumber; see include/CPhoneNumber.h for the contract.
//
// Every exported function catches all C++ exceptions: libphonenumber does not
// throw by design, but std::string and std::list allocate and can throw
// std::bad_alloc, and an exception unwinding into Swift is undefined behaviour.

#include "CPhoneNumber.h"

#include <phonenumbers/phonenumber.pb.h>
#include <phonenumbers/phonenumberutil.h>

#include <cstring>
#include <list>
#include <set>
#include <string>

using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberUtil;

namespace {

// libphonenumber's "unknown region" code, used when there is no default.
constexpr const char kUnknownRegion[] = "ZZ";

const PhoneNumberUtil &util() {
    // Created once under pthread_once by libphonenumber; never destroyed.
    return *PhoneNumberUtil::GetInstance();
}

// Copies `value` and a NUL into `buffer`; false (and an empty buffer) when it
// does not fit, so a caller never sees a silently truncated number.
bool copy_out(const std::string &value, char *buffer, size_t capacity) {
    if (value.size() >= capacity) {
        buffer[0] = '\0';
        return false;
    }
    std::memcpy(buffer, value.data(), value.size());
    buffer[value.size()] = '\0';
    return true;
}

// Strict UTF-8 check (no overlongs, no surrogates, nothing above U+10FFFF).
// libphonenumber assumes valid UTF-8; Swift strings always are, but this is a
// C API and other callers may pass arbitrary bytes.
bool is_valid_utf8(const unsigned char *bytes, size_t length) {
    size_t i = 0;
    while (i < length) {
        const unsigned char lead = bytes[i];
        size_t extra;
        unsigned char min_next = 0x80, max_next = 0xBF;
        if (lead < 0x80) {
            i += 1;
            continue;
        } else if (lead >= 0xC2 && lead <= 0xDF) {
            extra = 1;
        } else if (lead >= 0xE0 && lead <= 0xEF) {
            extra = 2;
            if (lead == 0xE0) min_next = 0xA0;  // overlong
            if (lead == 0xED) max_next = 0x9F;  // surrogates
        } else if (lead >= 0xF0 && lead <= 0xF4) {
            extra = 3;
            if (lead == 0xF0) min_next = 0x90;  // overlong
            if (lead == 0xF4) max_next = 0x8F;  // above U+10FFFF
        } else {
            return false;
        }
        if (length - i <= extra) return false;
        if (bytes[i + 1] < min_next || bytes[i + 1] > max_next) return false;
        for (size_t k = 2; k <= extra; ++k) {
            if (bytes[i + k] < 0x80 || bytes[i + k] > 0xBF) return false;
        }
        i += extra + 1;
    }
    return true;
}

// A region code as libphonenumber expects it: 2 or 3 printable ASCII
// characters. Anything else is rejected before it reaches the library.
bool is_plausible_region(const char *region_code) {
    if (region_code == nullptr) return false;
    const size_t length = std::strlen(region_code);
    if (length < 2 || length > 3) return false;
    for (size_t i = 0; i < length; ++i) {
        const char c = region_code[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) return false;
    }
    return true;
}

bool is_known_type(herald_phone_type type) {
    const int value = static_cast<int>(type);
    return value >= HERALD_PHONE_TYPE_FIXED_LINE && value < HERALD_PHONE_TYPE_UNKNOWN;
}

// Fills `out` from a parsed number. False only if a buffer is too small,
// which the capacities in the header rule out.
bool fill_info(const PhoneNumber &number, herald_phone_info *out,
               PhoneNumberUtil::PhoneNumberType known_type = PhoneNumberUtil::UNKNOWN) {
    const PhoneNumberUtil &phone_util = util();
    std::string e164, national_number, region;
    phone_util.Format(number, PhoneNumberUtil::E164, &e164);
    phone_util.GetNationalSignificantNumber(number, &national_number);
    phone_util.GetRegionCodeForNumber(number, &region);
    if (region == kUnknownRegion) region.clear();

    out->country_code = number.country_code();
    out->type = static_cast<herald_phone_type>(
        known_type != PhoneNumberUtil::UNKNOWN ? known_type : phone_util.GetNumberType(number));
    out->possibility = static_cast<herald_phone_possibility>(
        phone_util.IsPossibleNumberWithReason(number));
    // IsValidNumber(n) is GetNumberType(n) != UNKNOWN (both find the region, then match the
    // national number against the region's type patterns); asking twice doubled the cost of a
    // parse, which contact imports pay per row. PhoneTests check the two agree on every example.
    out->is_valid = out->type != HERALD_PHONE_TYPE_UNKNOWN;
    out->has_extension = number.has_extension() && !number.extension().empty();
    return copy_out(e164, out->e164, sizeof out->e164) &&
           copy_out(national_number, out->national_number, sizeof out->national_number) &&
           copy_out(region, out->region_code, sizeof out->region_code);
}

size_t write_regions(const std::list<std::string> &regions,
                     herald_phone_region_code *out,
                     size_t capacity) {
    size_t index = 0;
    for (const std::string &region : regions) {
        if (region.size() >= HERALD_PHONE_REGION_CAPACITY) continue;  // never happens
        if (out != nullptr && index < capacity) {
            copy_out(region, out[index].code, sizeof out[index].code);
        }
        ++index;
    }
    return index;
}

// Canonical E.164 ("+", then 7 to 15 digits, and no 0 after the country code) is built
// directly rather than through Parse, whose extraction and normalisation regexes cost more than
// the rest of a parse; contact imports pay it per row. Country codes are prefix-free, so the first
// assigned code by length is the number's. Only a number found valid this way is kept: anything
// else (a national prefix Parse would strip, an unassigned code) takes Parse's path, so the result
// is always Parse's. PhoneTests parse every example number in every format through both paths.
bool parse_canonical_e164(const char *input, size_t length, PhoneNumber *number,
                          PhoneNumberUtil::PhoneNumberType *type) {
    if (length < 8 || length > 16 || input[0] != '+' || input[1] < '1' || input[1] > '9') return false;
    for (size_t i = 1; i < length; ++i) {
        if (input[i] < '0' || input[i] > '9') return false;
    }
    const PhoneNumberUtil &phone_util = util();
    int country_code = 0;
    for (size_t digits = 1; digits <= 3; ++digits) {
        country_code = country_code * 10 + (input[digits] - '0');
        std::string region;
        phone_util.GetRegionCodeForCountryCode(country_code, &region);
        if (region == kUnknownRegion) continue;
        const char *national = input + 1 + digits;
        const size_t national_length = length - 1 - digits;
        if (national_length == 0 || national[0] == '0') return false;
        uint64_t value = 0;
        for (size_t i = 0; i < national_length; ++i) value = value * 10 + static_cast<uint64_t>(national[i] - '0');
        number->set_country_code(country_code);
        number->set_national_number(value);
        *type = phone_util.GetNumberType(*number);
        return *type != PhoneNumberUtil::UNKNOWN;
    }
    return false;
}

}  // namespace

extern "C" {

herald_phone_status herald_phone_parse(const char *input,
                                       size_t input_length,
                                       const char *default_region,
                                       herald_phone_info *out) {
    if (out == nullptr) return HERALD_PHONE_STATUS_INVALID_ARGUMENT;
    std::memset(out, 0, sizeof *out);
    if (input == nullptr && input_length > 0) return HERALD_PHONE_STATUS_INVALID_ARGUMENT;
    if (input_length > HERALD_PHONE_MAX_INPUT_BYTES) return HERALD_PHONE_STATUS_INVALID_ARGUMENT;
    if (input_length > 0) {
        if (std::memchr(input, '\0', input_length) != nullptr) {
            return HERALD_PHONE_STATUS_INVALID_ARGUMENT;
        }
        if (!is_valid_utf8(reinterpret_cast<const unsigned char *>(input), input_length)) {
            return HERALD_PHONE_STATUS_INVALID_ARGUMENT;
        }
    }
    if (default_region != nullptr && !is_plausible_region(default_region)) {
        return HERALD_PHONE_STATUS_INVALID_ARGUMENT;
    }
    try {
        const std::string text = input_length > 0 ? std::string(input, input_length) : std::string();
        const std::string region = default_region != nullptr ? default_region : kUnknownRegion;
        PhoneNumber number;
        PhoneNumberUtil::PhoneNumberType type = PhoneNumberUtil::UNKNOWN;
        if (parse_canonical_e164(input, input_length, &number, &type)) {
            if (!fill_info(number, out, type)) {
                std::memset(out, 0, sizeof *out);
                return HERALD_PHONE_STATUS_INTERNAL_ERROR;
            }
            return HERALD_PHONE_STATUS_OK;
        }
        number.Clear();
        const PhoneNumberUtil::ErrorType error = util().Parse(text, region, &number);
        switch (error) {
            case PhoneNumberUtil::NO_PARSING_ERROR:
                break;
            case PhoneNumberUtil::INVALID_COUNTRY_CODE_ERROR:
                return HERALD_PHONE_STATUS_INVALID_COUNTRY_CODE;
            case PhoneNumberUtil::NOT_A_NUMBER:
                return HERALD_PHONE_STATUS_NOT_A_NUMBER;
            case PhoneNumberUtil::TOO_SHORT_AFTER_IDD:
                return HERALD_PHONE_STATUS_TOO_SHORT_AFTER_IDD;
            case PhoneNumberUtil::TOO_SHORT_NSN:
                return HERALD_PHONE_STATUS_TOO_SHORT_NSN;
            case PhoneNumberUtil::TOO_LONG_NSN:
                return HERALD_PHONE_STATUS_TOO_LONG_NSN;
            default:
                return HERALD_PHONE_STATUS_NOT_A_NUMBER;
        }
        if (!fill_info(number, out)) {
            std::memset(out, 0, sizeof *out);
            return HERALD_PHONE_STATUS_INTERNAL_ERROR;
        }
        return HERALD_PHONE_STATUS_OK;
    } catch (...) {
        std::memset(out, 0, sizeof *out);
        return HERALD_PHONE_STATUS_INTERNAL_ERROR;
    }
}

size_t herald_phone_format(const char *e164,
                           herald_phone_format_style style,
                           char *buffer,
                           size_t capacity) {
    if (buffer != nullptr && capacity > 0) buffer[0] = '\0';
    if (e164 == nullptr || std::strlen(e164) > HERALD_PHONE_MAX_INPUT_BYTES) return 0;
    const int style_value = static_cast<int>(style);
    if (style_value < HERALD_PHONE_FORMAT_STYLE_E164 || style_value > HERALD_PHONE_FORMAT_STYLE_RFC3966) {
        return 0;
    }
    try {
        PhoneNumber number;
        if (util().Parse(e164, kUnknownRegion, &number) != PhoneNumberUtil::NO_PARSING_ERROR) return 0;
        std::string formatted;
        util().Format(number, static_cast<PhoneNumberUtil::PhoneNumberFormat>(style), &formatted);
        if (formatted.empty()) return 0;
        if (buffer != nullptr && capacity > 0) {
            const size_t length = formatted.size() < capacity ? formatted.size() : capacity - 1;
            std::memcpy(buffer, formatted.data(), length);
            buffer[length] = '\0';
        }
        return formatted.size();
    } catch (...) {
        if (buffer != nullptr && capacity > 0) buffer[0] = '\0';
        return 0;
    }
}

int32_t herald_phone_country_code_for_region(const char *region_code) {
    if (!is_plausible_region(region_code)) return 0;
    try {
        // Returns 0 for unknown regions, "ZZ" and "001".
        return util().GetCountryCodeForRegion(region_code);
    } catch (...) {
        return 0;
    }
}

size_t herald_phone_region_codes_for_country_code(int32_t country_code,
                                                  herald_phone_region_code *out,
                                                  size_t capacity) {
    if (country_code <= 0 || country_code > 999) return 0;
    try {
        std::list<std::string> regions;
        util().GetRegionCodesForCountryCallingCode(country_code, &regions);
        return write_regions(regions, out, capacity);
    } catch (...) {
        return 0;
    }
}

size_t herald_phone_supported_regions(herald_phone_region_code *out, size_t capacity) {
    try {
        std::set<std::string> regions;  // sorted
        util().GetSupportedRegions(&regions);
        return write_regions(std::list<std::string>(regions.begin(), regions.end()), out, capacity);
    } catch (...) {
        return 0;
    }
}

bool herald_phone_example_number(const char *region_code,
                                 herald_phone_type type,
                                 herald_phone_info *out) {
    if (out == nullptr) return false;
    std::memset(out, 0, sizeof *out);
    if (!is_plausible_region(region_code) || !is_known_type(type)) return false;
    try {
        PhoneNumber number;
        if (!util().GetExampleNumberForType(
                region_code, static_cast<PhoneNumberUtil::PhoneNumberType>(type), &number)) {
            return false;
        }
        if (!fill_info(number, out)) {
            std::memset(out, 0, sizeof *out);
            return false;
        }
        return true;
    } catch (...) {
        std::memset(out, 0, sizeof *out);
        return false;
    }
}

bool herald_phone_example_number_for_non_geographic_code(int32_t country_code,
                                                         herald_phone_info *out) {
    if (out == nullptr) return false;
    std::memset(out, 0, sizeof *out);
    if (country_code <= 0 || country_code > 999) return false;
    try {
        PhoneNumber number;
        if (!util().GetExampleNumberForNonGeoEntity(country_code, &number)) return false;
        if (!fill_info(number, out)) {
            std::memset(out, 0, sizeof *out);
            return false;
        }
        return true;
    } catch (...) {
        std::memset(out, 0, sizeof *out);
        return false;
    }
}

}  // extern "C"
