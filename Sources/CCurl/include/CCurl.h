// Typed, non-variadic wrappers around libcurl for Swift.
//
// `curl_easy_setopt`, `curl_easy_getinfo` and `curl_multi_setopt` are variadic, which Swift
// cannot call. Each wrapper below fixes the type of the variadic argument; pick the one
// that matches the option's documented type (see the option's page in the libcurl manual).
#ifndef HERALD_CCURL_H
#define HERALD_CCURL_H

#include <curl/curl.h>

/// Calls `curl_global_init(CURL_GLOBAL_ALL)` exactly once per process (thread-safe) and
/// returns its result on every call.
CURLcode herald_curl_global_init_once(void);

/// The signature of CURLOPT_WRITEFUNCTION and CURLOPT_HEADERFUNCTION callbacks.
typedef size_t (*herald_curl_data_callback)(char *data, size_t size, size_t nmemb, void *userdata);

/// Names the calling thread (shown by `top -H`, gdb, perf); at most 15 bytes are kept.
void herald_set_thread_name(const char *name);

// MARK: curl_easy_setopt

/// For options that take a `long` (flags, sizes, timeouts in ms).
CURLcode herald_curl_easy_setopt_long(CURL *handle, CURLoption option, long value);
/// For options that take a `curl_off_t` (the `_LARGE` options).
CURLcode herald_curl_easy_setopt_off_t(CURL *handle, CURLoption option, curl_off_t value);
/// For options that take a `char *`; libcurl copies the string (except CURLOPT_POSTFIELDS).
CURLcode herald_curl_easy_setopt_string(CURL *handle, CURLoption option, const char *value);
/// For options that take an opaque pointer (CURLOPT_WRITEDATA, CURLOPT_POSTFIELDS, CURLOPT_ERRORBUFFER…).
CURLcode herald_curl_easy_setopt_pointer(CURL *handle, CURLoption option, void *value);
/// For CURLOPT_HTTPHEADER and friends; the list must outlive the transfer.
CURLcode herald_curl_easy_setopt_slist(CURL *handle, CURLoption option, struct curl_slist *value);
/// CURLOPT_WRITEFUNCTION.
CURLcode herald_curl_easy_setopt_writefunction(CURL *handle, herald_curl_data_callback callback);
/// CURLOPT_HEADERFUNCTION.
CURLcode herald_curl_easy_setopt_headerfunction(CURL *handle, herald_curl_data_callback callback);

/// The signature of a CURLOPT_OPENSOCKETFUNCTION callback (`curl_opensocket_callback`): it gets
/// the address libcurl is about to connect to and returns a new socket, or CURL_SOCKET_BAD to
/// refuse that address (libcurl then tries the next one, or fails with CURLE_COULDNT_CONNECT).
typedef curl_socket_t (*herald_curl_opensocket_callback)(void *userdata, curlsocktype purpose, struct curl_sockaddr *address);
/// CURLOPT_OPENSOCKETFUNCTION; its data is CURLOPT_OPENSOCKETDATA. NULL restores libcurl's own.
CURLcode herald_curl_easy_setopt_opensocketfunction(CURL *handle, herald_curl_opensocket_callback callback);

// MARK: curl_easy_getinfo

/// For CURLINFO_LONG infos (CURLINFO_RESPONSE_CODE, CURLINFO_NUM_CONNECTS…).
CURLcode herald_curl_easy_getinfo_long(CURL *handle, CURLINFO info, long *value);
/// For CURLINFO_STRING infos; the string belongs to the handle.
CURLcode herald_curl_easy_getinfo_string(CURL *handle, CURLINFO info, const char **value);
/// For CURLINFO_OFF_T infos (CURLINFO_SIZE_DOWNLOAD_T…).
CURLcode herald_curl_easy_getinfo_off_t(CURL *handle, CURLINFO info, curl_off_t *value);

// MARK: curl_multi_setopt

/// For multi options that take a `long` (CURLMOPT_MAX_HOST_CONNECTIONS, CURLMOPT_MAXCONNECTS…).
CURLMcode herald_curl_multi_setopt_long(CURLM *handle, CURLMoption option, long value);
/// For multi options that take an opaque pointer (CURLMOPT_SOCKETDATA, CURLMOPT_TIMERDATA).
CURLMcode herald_curl_multi_setopt_pointer(CURLM *handle, CURLMoption option, void *value);

/// The signature of a CURLMOPT_SOCKETFUNCTION callback (`curl_socket_callback`).
typedef int (*herald_curl_socket_callback)(CURL *easy, curl_socket_t socket, int what, void *userdata, void *socketdata);
/// The signature of a CURLMOPT_TIMERFUNCTION callback (`curl_multi_timer_callback`).
typedef int (*herald_curl_timer_callback)(CURLM *multi, long timeout_ms, void *userdata);

/// CURLMOPT_SOCKETFUNCTION.
CURLMcode herald_curl_multi_setopt_socketfunction(CURLM *handle, herald_curl_socket_callback callback);
/// CURLMOPT_TIMERFUNCTION.
CURLMcode herald_curl_multi_setopt_timerfunction(CURLM *handle, herald_curl_timer_callback callback);

#endif
