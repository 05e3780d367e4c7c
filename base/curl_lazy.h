/* curl_lazy.h — libcurl loaded on first use.
 *
 * sipha is not linked with libcurl: base/curl_lazy.c defines the part of the libcurl
 * API sipha calls (same names and prototypes as <curl/curl.h>, which callers keep
 * including) and forwards each call to the real function, looked up once with
 * dlopen("libcurl.so.4") + dlsym on the first call that needs one. An agent with no
 * arbiter and a local configuration never maps libcurl and the TLS, LDAP, SSH,
 * Kerberos... libraries it pulls in.
 *
 * Loading also runs curl_global_init(CURL_GLOBAL_DEFAULT) once; the first explicit
 * curl_global_init stands for that one, and curl_global_cleanup does nothing while
 * libcurl has not been loaded. The library stays loaded until the process ends.
 *
 * When libcurl cannot be loaded every call fails cleanly: curl_easy_init,
 * curl_multi_init and curl_url return NULL, the others an error code (nothing else
 * can exist), curl_global_init CURLE_FAILED_INIT, and the *_strerror functions the
 * reason, also given by curl_lazy_error(). */
#ifndef SIPHA_CURL_LAZY_H
#define SIPHA_CURL_LAZY_H

/* Loads libcurl now unless already done. Returns 0 when it is usable, -1 when it is
 * not (curl_lazy_error() says why). */
int curl_lazy_load(void);

/* "libcurl could not be loaded: <reason>" after a failed load; NULL while libcurl is
 * usable or has not been tried. */
const char *curl_lazy_error(void);

#endif
