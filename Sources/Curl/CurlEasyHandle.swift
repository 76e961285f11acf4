import CCurl

/// One libcurl easy handle (`CURL *`), freed in `deinit`.
///
/// Confined to the client's thread. Handles are recycled between transfers, keeping the options
/// every transfer shares; the multi handle's connection cache keeps the connections.
final class CurlEasyHandle {
    let raw: UnsafeMutableRawPointer
    /// CURLOPT_ERRORBUFFER: libcurl writes its message for a failed transfer here.
    private let errorBuffer: UnsafeMutablePointer<CChar>

    // Options a transfer set that the next one must clear.
    var hasCredentials = false
    var hasCustomMethod = false
    var isHead = false

    /// Nil when libcurl is out of memory.
    init?() {
        guard let raw = curl_easy_init() else { return nil }
        self.raw = raw
        errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE))
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE))
    }

    deinit {
        curl_easy_cleanup(raw)
        errorBuffer.deallocate()
    }

    /// Drops the pointers into a finished transfer's memory (CURLOPT_HTTPHEADER, CURLOPT_POSTFIELDS,
    /// the callbacks' data); false when libcurl refused, and the handle should not be reused.
    func forgetTransfer() -> Bool {
        herald_curl_easy_setopt_slist(raw, CURLOPT_HTTPHEADER, nil) == CURLE_OK
            && herald_curl_easy_setopt_pointer(raw, CURLOPT_POSTFIELDS, nil) == CURLE_OK
            && herald_curl_easy_setopt_pointer(raw, CURLOPT_WRITEDATA, nil) == CURLE_OK
            && herald_curl_easy_setopt_pointer(raw, CURLOPT_HEADERDATA, nil) == CURLE_OK
            && herald_curl_easy_setopt_pointer(raw, CURLOPT_OPENSOCKETDATA, nil) == CURLE_OK
    }

    /// Empties the error buffer before a transfer.
    func clearErrorMessage() {
        errorBuffer.pointee = 0
    }

    /// libcurl's message for the last failure, if it wrote one.
    var errorMessage: String? {
        errorBuffer.pointee == 0 ? nil : String(cString: errorBuffer)
    }

    // MARK: Options (https://curl.se/libcurl/c/curl_easy_setopt.html)

    /// Points CURLOPT_ERRORBUFFER at this handle's buffer and clears it.
    func setErrorBuffer() throws(CurlOptionError) {
        errorBuffer.pointee = 0
        try check(herald_curl_easy_setopt_pointer(raw, CURLOPT_ERRORBUFFER, errorBuffer))
    }

    /// A `long` option (flags, limits, milliseconds).
    func set(_ option: CURLoption, _ value: Int) throws(CurlOptionError) {
        try check(herald_curl_easy_setopt_long(raw, option, value))
    }

    /// A `curl_off_t` option (the `_LARGE` options).
    func set(_ option: CURLoption, large value: Int) throws(CurlOptionError) {
        try check(herald_curl_easy_setopt_off_t(raw, option, curl_off_t(value)))
    }

    /// A string option; libcurl copies the string.
    func set(_ option: CURLoption, _ value: String) throws(CurlOptionError) {
        try check(herald_curl_easy_setopt_string(raw, option, value))
    }

    /// A pointer option; the memory must outlive the transfer.
    func set(_ option: CURLoption, pointer: UnsafeMutableRawPointer?) throws(CurlOptionError) {
        try check(herald_curl_easy_setopt_pointer(raw, option, pointer))
    }

    /// CURLOPT_HTTPHEADER; the list must outlive the transfer.
    func setHeaderList(_ list: UnsafeMutablePointer<curl_slist>?) throws(CurlOptionError) {
        try check(herald_curl_easy_setopt_slist(raw, CURLOPT_HTTPHEADER, list))
    }

    /// CURLOPT_WRITEFUNCTION; its data is CURLOPT_WRITEDATA.
    func setWriteFunction(_ callback: herald_curl_data_callback) throws(CurlOptionError) {
        try check(herald_curl_easy_setopt_writefunction(raw, callback))
    }

    /// CURLOPT_HEADERFUNCTION; its data is CURLOPT_HEADERDATA.
    func setHeaderFunction(_ callback: herald_curl_data_callback) throws(CurlOptionError) {
        try check(herald_curl_easy_setopt_headerfunction(raw, callback))
    }

    /// CURLOPT_OPENSOCKETFUNCTION; its data is CURLOPT_OPENSOCKETDATA.
    func setOpenSocketFunction(_ callback: herald_curl_opensocket_callback) throws(CurlOptionError) {
        try check(herald_curl_easy_setopt_opensocketfunction(raw, callback))
    }

    // MARK: Information (https://curl.se/libcurl/c/curl_easy_getinfo.html)

    /// A `long` info (CURLINFO_RESPONSE_CODE, CURLINFO_NUM_CONNECTS…); 0 when unavailable.
    func info(_ info: CURLINFO) -> Int {
        var value = 0
        return herald_curl_easy_getinfo_long(raw, info, &value) == CURLE_OK ? value : 0
    }

    private func check(_ code: CURLcode) throws(CurlOptionError) {
        if code != CURLE_OK { throw CurlOptionError(code: code) }
    }
}

/// A `curl_easy_setopt` call failed (out of memory, or an option this libcurl lacks).
struct CurlOptionError: Error {
    let code: CURLcode
}
