/* xml_lazy.c — the libxml2 functions sipha uses, forwarded to libxml2.so.2 while a
 * configuration load holds it open (see xml_lazy.h). */
#include <dlfcn.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <libxml/xmlmemory.h>
#include <libxml/parser.h>
#include <libxml/relaxng.h>
#include <libxml/tree.h>

#include "xml_lazy.h"

#ifndef XML_LAZY_SONAME
#define XML_LAZY_SONAME "libxml2.so.2"
#endif

#if defined(LIBXML_THREAD_ALLOC_ENABLED) && defined(LIBXML_THREAD_ENABLED)
#error "libxml2 with per-thread allocators: xmlFree is __xmlFree(), not handled here"
#endif

/* Each forwarded function: its pointer, typed after the header's declaration. */
#define XML_LAZY_FUNCTIONS(X)                                                             \
    X(xmlInitParser) X(xmlCleanupParser) X(xmlNewParserCtxt) X(xmlFreeParserCtxt)        \
    X(xmlStopParser) X(xmlCtxtReadFile) X(xmlCtxtReadMemory) X(xmlFreeDoc)                \
    X(xmlDocGetRootElement) X(xmlGetLineNo) X(xmlGetNoNsProp) X(xmlIsBlankNode)           \
    X(xmlRelaxNGNewDocParserCtxt) X(xmlRelaxNGSetParserStructuredErrors)                  \
    X(xmlRelaxNGParse) X(xmlRelaxNGFreeParserCtxt) X(xmlRelaxNGNewValidCtxt)              \
    X(xmlRelaxNGSetValidStructuredErrors) X(xmlRelaxNGValidateDoc)                        \
    X(xmlRelaxNGFreeValidCtxt) X(xmlRelaxNGFree)

#define XML_LAZY_FIELD(name) __typeof__(name) *name;

static struct {
    void *lib;               /* non-NULL while open */
    unsigned opens;          /* xml_lazy_open calls not yet closed */
    bool foreign;            /* libxml2 was in the process before: not ours to clean up */
    xmlFreeFunc *free_hook;  /* libxml2's own xmlFree variable */
    char error[256];
    struct {
        XML_LAZY_FUNCTIONS(XML_LAZY_FIELD)
    } fn;
} g;

static void xml_lazy_free(void *mem);

/* The header's xmlFree: callers free libxml2's strings through it. It follows
 * libxml2's own hook, whatever allocator that names. */
xmlFreeFunc xmlFree = xml_lazy_free;

static void xml_lazy_free(void *mem)
{
    if (mem && g.lib)
        (*g.free_hook)(mem);
    /* Closed: nothing libxml2 allocated can be left (see xml_lazy.h). */
}

/* dlsym's object pointer to a function pointer: allowed by POSIX. */
#define XML_LAZY_RESOLVE(name)                                                \
    if (!missing && !(g.fn.name = (__typeof__(g.fn.name))dlsym(lib, #name))) \
        missing = #name;

int xml_lazy_open(void)
{
    if (g.opens > 0) {
        g.opens++;
        return 0;
    }
    /* Already mapped by someone else (Net-SNMP does not link libxml2, but a future
     * library might): then its global state is shared and must survive our close. */
    void *before = dlopen(XML_LAZY_SONAME, RTLD_NOW | RTLD_NOLOAD);
    g.foreign = before != NULL;
    if (before)
        dlclose(before);
    void *lib = dlopen(XML_LAZY_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        const char *why = dlerror();
        snprintf(g.error, sizeof g.error, "libxml2 could not be loaded: %s",
                 why ? why : XML_LAZY_SONAME);
        return -1;
    }
    const char *missing = NULL;
    XML_LAZY_FUNCTIONS(XML_LAZY_RESOLVE)
    if (!missing && !(g.free_hook = dlsym(lib, "xmlFree")))
        missing = "xmlFree";
    if (missing) {
        snprintf(g.error, sizeof g.error, "libxml2 could not be loaded: %s has no %s",
                 XML_LAZY_SONAME, missing);
        dlclose(lib);
        return -1;
    }
    g.error[0] = '\0';
    g.lib = lib;
    g.opens = 1;
    return 0;
}

void xml_lazy_close(void)
{
    if (g.opens == 0 || --g.opens > 0)
        return;
    /* Every document and context is freed by now; this frees the rest (dictionaries,
     * the last error, RelaxNG's type library, the thread key) so nothing points into
     * the library once it is gone. */
    if (!g.foreign)
        g.fn.xmlCleanupParser();
    dlclose(g.lib);
    g.lib = NULL;
    g.free_hook = NULL;
}

const char *xml_lazy_error(void)
{
    return g.error[0] ? g.error : NULL;
}

/* --- forwarded functions: only meaningful while open --- */

void xmlInitParser(void)
{
    if (g.lib)
        g.fn.xmlInitParser();
}

/* xml_lazy_close already cleans up; a caller's own call (the unit tests make one at
 * exit) has nothing left to do unless it comes while a load holds libxml2. */
void xmlCleanupParser(void)
{
    if (g.lib && !g.foreign)
        g.fn.xmlCleanupParser();
}

xmlParserCtxtPtr xmlNewParserCtxt(void)
{
    return g.lib ? g.fn.xmlNewParserCtxt() : NULL;
}

void xmlFreeParserCtxt(xmlParserCtxtPtr ctxt)
{
    if (g.lib && ctxt)
        g.fn.xmlFreeParserCtxt(ctxt);
}

void xmlStopParser(xmlParserCtxtPtr ctxt)
{
    if (g.lib)
        g.fn.xmlStopParser(ctxt);
}

xmlDocPtr xmlCtxtReadFile(xmlParserCtxtPtr ctxt, const char *filename, const char *encoding,
                          int options)
{
    return g.lib ? g.fn.xmlCtxtReadFile(ctxt, filename, encoding, options) : NULL;
}

xmlDocPtr xmlCtxtReadMemory(xmlParserCtxtPtr ctxt, const char *buffer, int size,
                            const char *URL, const char *encoding, int options)
{
    return g.lib ? g.fn.xmlCtxtReadMemory(ctxt, buffer, size, URL, encoding, options) : NULL;
}

void xmlFreeDoc(xmlDocPtr cur)
{
    if (g.lib && cur)
        g.fn.xmlFreeDoc(cur);
}

xmlNodePtr xmlDocGetRootElement(const xmlDoc *doc)
{
    return g.lib ? g.fn.xmlDocGetRootElement(doc) : NULL;
}

long xmlGetLineNo(const xmlNode *node)
{
    return g.lib ? g.fn.xmlGetLineNo(node) : -1;
}

xmlChar *xmlGetNoNsProp(const xmlNode *node, const xmlChar *name)
{
    return g.lib ? g.fn.xmlGetNoNsProp(node, name) : NULL;
}

int xmlIsBlankNode(const xmlNode *node)
{
    return g.lib ? g.fn.xmlIsBlankNode(node) : 0;
}

xmlRelaxNGParserCtxtPtr xmlRelaxNGNewDocParserCtxt(xmlDocPtr doc)
{
    return g.lib ? g.fn.xmlRelaxNGNewDocParserCtxt(doc) : NULL;
}

void xmlRelaxNGSetParserStructuredErrors(xmlRelaxNGParserCtxtPtr ctxt,
                                         xmlStructuredErrorFunc serror, void *ctx)
{
    if (g.lib)
        g.fn.xmlRelaxNGSetParserStructuredErrors(ctxt, serror, ctx);
}

xmlRelaxNGPtr xmlRelaxNGParse(xmlRelaxNGParserCtxtPtr ctxt)
{
    return g.lib ? g.fn.xmlRelaxNGParse(ctxt) : NULL;
}

void xmlRelaxNGFreeParserCtxt(xmlRelaxNGParserCtxtPtr ctxt)
{
    if (g.lib && ctxt)
        g.fn.xmlRelaxNGFreeParserCtxt(ctxt);
}

xmlRelaxNGValidCtxtPtr xmlRelaxNGNewValidCtxt(xmlRelaxNGPtr schema)
{
    return g.lib ? g.fn.xmlRelaxNGNewValidCtxt(schema) : NULL;
}

void xmlRelaxNGSetValidStructuredErrors(xmlRelaxNGValidCtxtPtr ctxt,
                                        xmlStructuredErrorFunc serror, void *ctx)
{
    if (g.lib)
        g.fn.xmlRelaxNGSetValidStructuredErrors(ctxt, serror, ctx);
}

int xmlRelaxNGValidateDoc(xmlRelaxNGValidCtxtPtr ctxt, xmlDocPtr doc)
{
    return g.lib ? g.fn.xmlRelaxNGValidateDoc(ctxt, doc) : -1;
}

void xmlRelaxNGFreeValidCtxt(xmlRelaxNGValidCtxtPtr ctxt)
{
    if (g.lib && ctxt)
        g.fn.xmlRelaxNGFreeValidCtxt(ctxt);
}

void xmlRelaxNGFree(xmlRelaxNGPtr schema)
{
    if (g.lib && schema)
        g.fn.xmlRelaxNGFree(schema);
}
