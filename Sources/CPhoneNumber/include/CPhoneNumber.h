// CPhoneNumber — a small C API over Google's libphonenumber (C++).
//
// Swift imports this header without C++ interoperability: everything here is
// plain C (fixed-size buffers, enums, no C++ types). The implementation in
// shim.cpp catches every C++ exception, so none can unwind into the caller.
//
// Thread safety: every function may be called from any thread at the same
// time. They only use `PhoneNumberUtil::GetInstance()`, a leaky singleton
// created under `pthread_once`, and its const methods, whose only shared
// mutable state (the regular-expression cache) is guarded by a mutex.
//
// Strings passed in must be UTF-8; strings written out are NUL-terminated
// ASCII. Region codes are ISO 3166-1 alpha-2 in upper case ("DE"); "001" is
// libphonenumber's code for non-geographic numbers (+800, +882, …).

#ifndef HERALD_CPHONENUMBER_H
#define HERALD_CPHONENUMBER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__has_attribute)
#if __has_attribute(enum_extensibility)
#define HERALD_PHONE_OPEN_ENUM __attribute__((enum_extensibility(open)))
#endif
#endif
#ifndef HERALD_PHONE_OPEN_ENUM
#define HERALD_PHONE_OPEN_ENUM
#endif

#ifdef __cplusplus
extern "C" {
#endif

/// The longest input, in bytes, that `herald_phone_parse` accepts; anything
/// longer returns `HERALD_PHONE_STATUS_INVALID_ARGUMENT` without being parsed.
/// (libphonenumber itself stops at 250 bytes.)
#define HERALD_PHONE_MAX_INPUT_BYTES 256

/// Capacity of the E.164 and national-number buffers. E.164 allows at most
/// 15 digits; libphonenumber parses national numbers of up to 17 digits.
#define HERALD_PHONE_NUMBER_CAPACITY 32

/// Capacity of a region-code buffer: "DE", "001", plus the terminating NUL.
#define HERALD_PHONE_REGION_CAPACITY 4

/// Outcome of `herald_phone_parse`. The first six mirror libphonenumber's
/// `PhoneNumberUtil::ErrorType`.
typedef enum HERALD_PHONE_OPEN_ENUM herald_phone_status {
    /// Parsed; `herald_phone_info.is_valid` says whether the number is valid.
    HERALD_PHONE_STATUS_OK = 0,
    /// A '+' (or international prefix) followed by an unknown calling code,
    /// or a national number with no usable default region.
    HERALD_PHONE_STATUS_INVALID_COUNTRY_CODE = 1,
    /// No phone number could be found in the input.
    HERALD_PHONE_STATUS_NOT_A_NUMBER = 2,
    /// An international prefix (e.g. "00") with too few digits after it.
    HERALD_PHONE_STATUS_TOO_SHORT_AFTER_IDD = 3,
    /// Too few digits for any national number.
    HERALD_PHONE_STATUS_TOO_SHORT_NSN = 4,
    /// Too many digits for any national number (more than 17).
    HERALD_PHONE_STATUS_TOO_LONG_NSN = 5,
    /// NULL pointer, input over HERALD_PHONE_MAX_INPUT_BYTES, embedded NUL,
    /// or input that is not valid UTF-8. Nothing was parsed.
    HERALD_PHONE_STATUS_INVALID_ARGUMENT = 6,
    /// A C++ exception (e.g. std::bad_alloc) was caught inside the shim.
    HERALD_PHONE_STATUS_INTERNAL_ERROR = 7,
} herald_phone_status;

/// Mirrors `PhoneNumberUtil::PhoneNumberType`, in the same order.
typedef enum HERALD_PHONE_OPEN_ENUM herald_phone_type {
    HERALD_PHONE_TYPE_FIXED_LINE = 0,
    HERALD_PHONE_TYPE_MOBILE = 1,
    HERALD_PHONE_TYPE_FIXED_LINE_OR_MOBILE = 2,
    HERALD_PHONE_TYPE_TOLL_FREE = 3,
    HERALD_PHONE_TYPE_PREMIUM_RATE = 4,
    HERALD_PHONE_TYPE_SHARED_COST = 5,
    HERALD_PHONE_TYPE_VOIP = 6,
    HERALD_PHONE_TYPE_PERSONAL_NUMBER = 7,
    HERALD_PHONE_TYPE_PAGER = 8,
    HERALD_PHONE_TYPE_UAN = 9,
    HERALD_PHONE_TYPE_VOICEMAIL = 10,
    HERALD_PHONE_TYPE_UNKNOWN = 11,
} herald_phone_type;

/// Mirrors `PhoneNumberUtil::ValidationResult` (IsPossibleNumberWithReason),
/// in the same order.
typedef enum HERALD_PHONE_OPEN_ENUM herald_phone_possibility {
    HERALD_PHONE_POSSIBILITY_IS_POSSIBLE = 0,
    HERALD_PHONE_POSSIBILITY_IS_POSSIBLE_LOCAL_ONLY = 1,
    HERALD_PHONE_POSSIBILITY_INVALID_COUNTRY_CODE = 2,
    HERALD_PHONE_POSSIBILITY_TOO_SHORT = 3,
    HERALD_PHONE_POSSIBILITY_INVALID_LENGTH = 4,
    HERALD_PHONE_POSSIBILITY_TOO_LONG = 5,
} herald_phone_possibility;

/// Mirrors `PhoneNumberUtil::PhoneNumberFormat`, in the same order.
typedef enum HERALD_PHONE_OPEN_ENUM herald_phone_format_style {
    HERALD_PHONE_FORMAT_STYLE_E164 = 0,
    HERALD_PHONE_FORMAT_STYLE_INTERNATIONAL = 1,
    HERALD_PHONE_FORMAT_STYLE_NATIONAL = 2,
    HERALD_PHONE_FORMAT_STYLE_RFC3966 = 3,
} herald_phone_format_style;

/// Everything Herald needs to know about one parsed number.
typedef struct herald_phone_info {
    /// Country calling code, e.g. 49.
    int32_t country_code;
    /// `GetNumberType`; UNKNOWN for an invalid number.
    herald_phone_type type;
    /// `IsPossibleNumberWithReason`.
    herald_phone_possibility possibility;
    /// `IsValidNumber`.
    bool is_valid;
    /// The input carried an extension ("ext. 12", "#12", ";ext=12").
    bool has_extension;
    /// E.164 form, e.g. "+4915112345678" (without any extension).
    char e164[HERALD_PHONE_NUMBER_CAPACITY];
    /// National significant number, e.g. "15112345678" (keeps Italian
    /// leading zeros, drops national prefixes such as DE's "0").
    char national_number[HERALD_PHONE_NUMBER_CAPACITY];
    /// `GetRegionCodeForNumber`: "DE", "001" for non-geographic numbers,
    /// "" when the number matches no region (invalid numbers).
    char region_code[HERALD_PHONE_REGION_CAPACITY];
} herald_phone_info;

/// One region code, e.g. "DE" or "001", NUL-terminated.
typedef struct herald_phone_region_code {
    char code[HERALD_PHONE_REGION_CAPACITY];
} herald_phone_region_code;

/// Parses `input` (`input_length` bytes of UTF-8, need not be NUL-terminated)
/// with libphonenumber's `Parse`, then fills `out` with validity, possibility,
/// type and canonical forms. `default_region` (e.g. "US") is used for numbers
/// written without a '+'; pass NULL when there is none.
///
/// `out` is zeroed first and filled only when the result is
/// HERALD_PHONE_STATUS_OK. OK means "parsed", not "valid": check
/// `out->is_valid`.
herald_phone_status herald_phone_parse(const char *input,
                                       size_t input_length,
                                       const char *default_region,
                                       herald_phone_info *out);

/// Formats an E.164 number ("+4915112345678") in `style` into `buffer`
/// (NUL-terminated, truncated to `capacity`). Returns the length the full
/// result needs, excluding the NUL — call again with a larger buffer when it
/// is >= `capacity` — or 0 when `e164` cannot be parsed.
size_t herald_phone_format(const char *e164,
                           herald_phone_format_style style,
                           char *buffer,
                           size_t capacity);

/// The country calling code of a region (49 for "DE"), or 0 when libphonenumber
/// has no metadata for it. Case-sensitive: "de", "ZZ" and "001" give 0.
int32_t herald_phone_country_code_for_region(const char *region_code);

/// Writes up to `capacity` region codes sharing `country_code` into `out`,
/// main region first (1 → "US", "AG", …; 800 → "001"). Returns how many there
/// are in total, which may exceed `capacity`; 0 for an unknown code.
size_t herald_phone_region_codes_for_country_code(int32_t country_code,
                                                  herald_phone_region_code *out,
                                                  size_t capacity);

/// Writes up to `capacity` supported region codes, sorted, into `out`.
/// Returns how many there are in total, which may exceed `capacity`.
size_t herald_phone_supported_regions(herald_phone_region_code *out,
                                      size_t capacity);

/// Fills `out` (as `herald_phone_parse` would) with libphonenumber's example
/// number of `type` for `region_code`. Returns false — leaving `out` zeroed —
/// when the region is unknown or has no example of that type. For
/// FIXED_LINE_OR_MOBILE libphonenumber returns its fixed-line example.
bool herald_phone_example_number(const char *region_code,
                                 herald_phone_type type,
                                 herald_phone_info *out);

/// Like `herald_phone_example_number`, for a non-geographic calling code
/// (800, 808, 870, 878, 881, 882, 883, 888, 979).
bool herald_phone_example_number_for_non_geographic_code(int32_t country_code,
                                                         herald_phone_info *out);

#ifdef __cplusplus
}
#endif

#endif  // HERALD_CPHONENUMBER_H
