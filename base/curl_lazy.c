/* curl_lazy.c — the libcurl functions sipha uses, forwarded to libcurl.so.4 loaded on
 * the first call (see curl_lazy.h). */
#define CURL_DISABLE_TYPECHECK /* curl_easy_setopt & co. as plain functions, not macros */

#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

#include <curl/curl.h>

#include "curl_lazy.h"

#ifndef CURL_LAZY_SONAME
#define CURL_LAZY_SONAME "libcurl.so.4"
#endif

/* curl_url_get takes a const handle since libcurl 8.1 (same ABI). */
#if LIBCURL_VERSION_NUM >= 0x080100
#define CURL_LAZY_URL_GET_CONST const
#else
#define CURL_LAZY_URL_GET_CONST
#endif

/* The function-pointer argument of a *_setopt, whatever its real type: it is passed
 * on as read, and libcurl reads it back as the type the option names. */
typedef void (*curl_lazy_fn)(void);

static struct {
    pthread_once_t once;
    void *lib;                /* non-NULL once every symbol below is resolved */
    bool implicit_init;       /* the loader's curl_global_init, not yet claimed */
    unsigned long inits;      /* curl_global_init calls not yet cleaned up */
    char error[256];          /* why libcurl is unusable ("" while it is not known) */

    CURLcode (*global_init)(long);
    void (*global_cleanup)(void);
    CURL *(*easy_init)(void);
    CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
    CURLcode (*easy_perform)(CURL *);
    CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
    CURLcode (*easy_pause)(CURL *, int);
    void (*easy_cleanup)(CURL *);
    const char *(*easy_strerror)(CURLcode);
    void (*free)(void *);
    struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
    void (*slist_free_all)(struct curl_slist *);
    CURLM *(*multi_init)(void);
    CURLMcode (*multi_setopt)(CURLM *, CURLMoption, ...);
    CURLMcode (*multi_add_handle)(CURLM *, CURL *);
    CURLMcode (*multi_remove_handle)(CURLM *, CURL *);
    CURLMcode (*multi_socket_action)(CURLM *, curl_socket_t, int, int *);
    CURLMsg *(*multi_info_read)(CURLM *, int *);
    CURLMcode (*multi_cleanup)(CURLM *);
    CURLU *(*url)(void);
    CURLUcode (*url_set)(CURLU *, CURLUPart, const char *, unsigned int);
    CURLUcode (*url_get)(CURL_LAZY_URL_GET_CONST CURLU *, CURLUPart, char **, unsigned int);
    void (*url_cleanup)(CURLU *);
    const char *(*url_strerror)(CURLUcode);
} g = { .once = PTHREAD_ONCE_INIT };

/* dlsym's object pointer to a function pointer: allowed by POSIX. */
#define RESOLVE(lib, field, name, missing)                                  \
    do {                                                                    \
        if (!(missing) && !(g.field = (__typeof__(g.field))dlsym(lib, name))) \
            (missing) = (name);                                             \
    } while (0)

static void load_once(void)
{
    void *lib = dlopen(CURL_LAZY_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        const char *why = dlerror();
        snprintf(g.error, sizeof g.error, "libcurl could not be loaded: %s",
                 why ? why : CURL_LAZY_SONAME);
        return;
    }
    const char *missing = NULL;
    RESOLVE(lib, global_init, "curl_global_init", missing);
    RESOLVE(lib, global_cleanup, "curl_global_cleanup", missing);
    RESOLVE(lib, easy_init, "curl_easy_init", missing);
    RESOLVE(lib, easy_setopt, "curl_easy_setopt", missing);
    RESOLVE(lib, easy_perform, "curl_easy_perform", missing);
    RESOLVE(lib, easy_getinfo, "curl_easy_getinfo", missing);
    RESOLVE(lib, easy_pause, "curl_easy_pause", missing);
    RESOLVE(lib, easy_cleanup, "curl_easy_cleanup", missing);
    RESOLVE(lib, easy_strerror, "curl_easy_strerror", missing);
    RESOLVE(lib, free, "curl_free", missing);
    RESOLVE(lib, slist_append, "curl_slist_append", missing);
    RESOLVE(lib, slist_free_all, "curl_slist_free_all", missing);
    RESOLVE(lib, multi_init, "curl_multi_init", missing);
    RESOLVE(lib, multi_setopt, "curl_multi_setopt", missing);
    RESOLVE(lib, multi_add_handle, "curl_multi_add_handle", missing);
    RESOLVE(lib, multi_remove_handle, "curl_multi_remove_handle", missing);
    RESOLVE(lib, multi_socket_action, "curl_multi_socket_action", missing);
    RESOLVE(lib, multi_info_read, "curl_multi_info_read", missing);
    RESOLVE(lib, multi_cleanup, "curl_multi_cleanup", missing);
    RESOLVE(lib, url, "curl_url", missing);
    RESOLVE(lib, url_set, "curl_url_set", missing);
    RESOLVE(lib, url_get, "curl_url_get", missing);
    RESOLVE(lib, url_cleanup, "curl_url_cleanup", missing);
    RESOLVE(lib, url_strerror, "curl_url_strerror", missing);
    if (missing) {
        snprintf(g.error, sizeof g.error, "libcurl could not be loaded: %s has no %s",
                 CURL_LAZY_SONAME, missing);
        dlclose(lib);
        return;
    }
    /* Before any handle exists, as libcurl asks; sipha is single-threaded. */
    CURLcode rc = g.global_init(CURL_GLOBAL_DEFAULT);
    if (rc != CURLE_OK) {
        snprintf(g.error, sizeof g.error, "libcurl could not be loaded: curl_global_init: %s",
                 g.easy_strerror(rc));
        dlclose(lib);
        return;
    }
    g.implicit_init = true;
    g.inits = 1;
    g.lib = lib;
}

static bool ready(void)
{
    pthread_once(&g.once, load_once);
    return g.lib != NULL;
}

int curl_lazy_load(void)
{
    return ready() ? 0 : -1;
}

const char *curl_lazy_error(void)
{
    return g.error[0] ? g.error : NULL;
}

/* Only reached when libcurl is unusable, so error is set. */
static const char *lazy_strerror(void)
{
    return g.error[0] ? g.error : "libcurl could not be loaded";
}

/* --- global --- */

CURLcode curl_global_init(long flags)
{
    if (!ready())
        return CURLE_FAILED_INIT;
    if (g.implicit_init) {
        g.implicit_init = false; /* the loader's call, made with CURL_GLOBAL_DEFAULT */
        return CURLE_OK;
    }
    CURLcode rc = g.global_init(flags);
    if (rc == CURLE_OK)
        g.inits++;
    return rc;
}

void curl_global_cleanup(void)
{
    /* Never loads libcurl: without it there is nothing to clean up. */
    if (!g.lib || g.inits == 0)
        return;
    g.inits--;
    g.implicit_init = false;
    g.global_cleanup();
}

void curl_free(void *p)
{
    if (p && ready())
        g.free(p);
}

/* --- header lists --- */

struct curl_slist *curl_slist_append(struct curl_slist *list, const char *string)
{
    return ready() ? g.slist_append(list, string) : NULL;
}

/* A list can only exist once libcurl is loaded. */
void curl_slist_free_all(struct curl_slist *list)
{
    if (list && ready())
        g.slist_free_all(list);
}

/* --- easy --- */

CURL *curl_easy_init(void)
{
    return ready() ? g.easy_init() : NULL;
}

CURLcode curl_easy_setopt(CURL *curl, CURLoption option, ...)
{
    if (!ready())
        return CURLE_FAILED_INIT;
    va_list ap;
    va_start(ap, option);
    CURLcode rc;
    if (option < CURLOPTTYPE_OBJECTPOINT)
        rc = g.easy_setopt(curl, option, va_arg(ap, long));
    else if (option < CURLOPTTYPE_FUNCTIONPOINT)
        rc = g.easy_setopt(curl, option, va_arg(ap, void *));
    else if (option < CURLOPTTYPE_OFF_T)
        rc = g.easy_setopt(curl, option, va_arg(ap, curl_lazy_fn));
#ifdef CURLOPTTYPE_BLOB
    else if (option < CURLOPTTYPE_BLOB)
        rc = g.easy_setopt(curl, option, va_arg(ap, curl_off_t));
    else
        rc = g.easy_setopt(curl, option, va_arg(ap, struct curl_blob *));
#else
    else
        rc = g.easy_setopt(curl, option, va_arg(ap, curl_off_t));
#endif
    va_end(ap);
    return rc;
}

CURLcode curl_easy_perform(CURL *curl)
{
    return ready() ? g.easy_perform(curl) : CURLE_FAILED_INIT;
}

/* Every CURLINFO_* takes a pointer to where the answer goes. */
CURLcode curl_easy_getinfo(CURL *curl, CURLINFO info, ...)
{
    if (!ready())
        return CURLE_FAILED_INIT;
    va_list ap;
    va_start(ap, info);
    void *out = va_arg(ap, void *);
    va_end(ap);
    return g.easy_getinfo(curl, info, out);
}

CURLcode curl_easy_pause(CURL *curl, int bitmask)
{
    return ready() ? g.easy_pause(curl, bitmask) : CURLE_FAILED_INIT;
}

void curl_easy_cleanup(CURL *curl)
{
    if (curl && ready())
        g.easy_cleanup(curl);
}

const char *curl_easy_strerror(CURLcode code)
{
    return ready() ? g.easy_strerror(code) : lazy_strerror();
}

/* --- multi --- */

CURLM *curl_multi_init(void)
{
    return ready() ? g.multi_init() : NULL;
}

/* CURLMOPT_* are numbered in the same type ranges as CURLOPT_*. */
CURLMcode curl_multi_setopt(CURLM *multi_handle, CURLMoption option, ...)
{
    if (!ready())
        return CURLM_BAD_HANDLE;
    va_list ap;
    va_start(ap, option);
    CURLMcode rc;
    if (option < CURLOPTTYPE_OBJECTPOINT)
        rc = g.multi_setopt(multi_handle, option, va_arg(ap, long));
    else if (option < CURLOPTTYPE_FUNCTIONPOINT)
        rc = g.multi_setopt(multi_handle, option, va_arg(ap, void *));
    else if (option < CURLOPTTYPE_OFF_T)
        rc = g.multi_setopt(multi_handle, option, va_arg(ap, curl_lazy_fn));
    else
        rc = g.multi_setopt(multi_handle, option, va_arg(ap, curl_off_t));
    va_end(ap);
    return rc;
}

CURLMcode curl_multi_add_handle(CURLM *multi_handle, CURL *curl_handle)
{
    return ready() ? g.multi_add_handle(multi_handle, curl_handle) : CURLM_BAD_HANDLE;
}

CURLMcode curl_multi_remove_handle(CURLM *multi_handle, CURL *curl_handle)
{
    return ready() ? g.multi_remove_handle(multi_handle, curl_handle) : CURLM_BAD_HANDLE;
}

CURLMcode curl_multi_socket_action(CURLM *multi_handle, curl_socket_t s, int ev_bitmask,
                                   int *running_handles)
{
    if (!ready())
        return CURLM_BAD_HANDLE;
    return g.multi_socket_action(multi_handle, s, ev_bitmask, running_handles);
}

CURLMsg *curl_multi_info_read(CURLM *multi_handle, int *msgs_in_queue)
{
    if (ready())
        return g.multi_info_read(multi_handle, msgs_in_queue);
    if (msgs_in_queue)
        *msgs_in_queue = 0;
    return NULL;
}

CURLMcode curl_multi_cleanup(CURLM *multi_handle)
{
    if (!multi_handle)
        return CURLM_BAD_HANDLE;
    return ready() ? g.multi_cleanup(multi_handle) : CURLM_BAD_HANDLE;
}

/* --- URL API --- */

CURLU *curl_url(void)
{
    return ready() ? g.url() : NULL;
}

CURLUcode curl_url_set(CURLU *handle, CURLUPart what, const char *part, unsigned int flags)
{
    return ready() ? g.url_set(handle, what, part, flags) : CURLUE_BAD_HANDLE;
}

CURLUcode curl_url_get(CURL_LAZY_URL_GET_CONST CURLU *handle, CURLUPart what, char **part,
                       unsigned int flags)
{
    if (ready())
        return g.url_get(handle, what, part, flags);
    if (part)
        *part = NULL;
    return CURLUE_BAD_HANDLE;
}

void curl_url_cleanup(CURLU *handle)
{
    if (handle && ready())
        g.url_cleanup(handle);
}

const char *curl_url_strerror(CURLUcode code)
{
    return ready() ? g.url_strerror(code) : lazy_strerror();
}
