/* xml_lazy.h — libxml2 mapped only while a configuration is being loaded.
 *
 * sipha is not linked with libxml2: agent/xml_lazy.c defines the libxml2 functions
 * the configuration loader calls (same names and prototypes as the libxml2 headers,
 * which callers keep including), and the xmlFree hook, each forwarding to the real
 * one in libxml2.so.2. The loader brackets each load with xml_lazy_open and
 * xml_lazy_close: open loads libxml2 (dlopen + dlsym), the matching close frees
 * libxml2's global state (xmlCleanupParser) and unloads it, and with it ICU, liblzma
 * and zlib, so an idle agent maps none of them. Nothing else in the process may use
 * libxml2 (Net-SNMP does not); if something had already loaded it, close leaves its
 * global state alone.
 *
 * Every libxml2 object (document, parser and RelaxNG contexts, strings) must be freed
 * before the close. Outside an open, the functions fail cleanly (NULL, -1) and
 * xmlCleanupParser does nothing. */
#ifndef SIPHA_XML_LAZY_H
#define SIPHA_XML_LAZY_H

/* Loads libxml2 for one configuration load (nests). Returns 0, or -1 with the reason
 * in xml_lazy_error(). */
int xml_lazy_open(void);

/* Ends the matching xml_lazy_open; the last one unloads libxml2. */
void xml_lazy_close(void);

/* "libxml2 could not be loaded: <reason>" after a failed open, else NULL. */
const char *xml_lazy_error(void);

#endif
