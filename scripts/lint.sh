#!/usr/bin/env bash
# lint.sh — checks mib/SIPHA-MIB.txt, and that the C views of it agree with it:
#   0. (first, as it needs neither the MIBs nor Net-SNMP) every #include "..." of
#      base/ engine/ monitors/ halink/ mib/ agent/ trapgen/ goes down the layering of
#      the Makefile's INC_* lines, no headers include each other in a circle, and
#      docs/architecture.dot shows the layer edges of the tree: scripts/include_graph.py.
#   1. (neither does this) every shell script of the repository (the tracked *.sh files
#      and the tracked files that start with a sh or bash #! line) passes shellcheck
#      at its default severity, with the settings of .shellcheckrc;
#   2. smilint at full strictness prints nothing;
#   3. Net-SNMP loads the module without a message;
#   4. SIPHA_MIB_ARC of mib/sipha_mib.h is the OID of siphaMIB (per snmptranslate);
#   5. a small C program, compiled here against mib/sipha_mib.h, mib/notify_defs.c
#      and engine/ha_types.c, loads the MIB with Net-SNMP's parser and compares every
#      notification (sub-id, descriptor, OBJECTS in varbind order, event id), every
#      column of the sipha_mib.h enums (number, descriptor, type, access, enum labels)
#      and the labels of the shared enumerations.
# Run from the repository root (`make lint`, after `make mibs`). Prints nothing and
# exits 0 when all is well; otherwise prints what differs and exits 1.
set -uo pipefail

IETF=build/ietf-mibs
MIB=mib/SIPHA-MIB.txt
HDR=mib/sipha_mib.h

fail() { printf 'lint: %s\n' "$*" >&2; exit 1; }

# 0. Includes against the layering (prints each offending include or circle).
command -v python3 >/dev/null || fail "python3 not found (see \`make deps\`)"
python3 scripts/include_graph.py check ||
  fail "includes go against the layering (Makefile INC_* lines, ARCHITECTURE.md)"

# 1. Shell scripts (shellcheck prints each finding). The files git tracks; outside a git
#    work tree, those of the tree less .git and build*/.
command -v shellcheck >/dev/null || fail "shellcheck not found (see \`make deps\`)"
tree_files() {
  if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git ls-files -z
  else
    find . \( -name .git -o -path './build*' \) -prune -o -type f -print0 | sed -z 's|^\./||'
  fi
}
shell_scripts=()
while IFS= read -r -d '' f; do
  [ -f "$f" ] || continue
  case $f in
    *.sh) shell_scripts+=("$f") ;;
    *) if head -n 1 "$f" | grep -Eq '^#![[:space:]]*/([a-z]+/)*(env[[:space:]]+)?(ba)?sh([[:space:]]|$)'; then
         shell_scripts+=("$f")
       fi ;;
  esac
done < <(tree_files)
[ ${#shell_scripts[@]} -gt 0 ] || fail "no shell scripts found"
shellcheck "${shell_scripts[@]}" >&2 || fail "shellcheck reports problems in the shell scripts"

{ [ -f "$MIB" ] && [ -f "$HDR" ]; } || fail "run from the repository root ($MIB, $HDR)"
{ [ -f "$IETF/SNMPv2-SMI.txt" ] && [ -f "$IETF/INET-ADDRESS-MIB.txt" ]; } ||
  fail "$IETF has no IETF base MIBs: run \`make mibs\` first"
for tool in smilint snmptranslate "${CC:-cc}"; do
  command -v "$tool" >/dev/null || fail "$tool not found (see \`make deps\`)"
done

work=$(mktemp -d) || fail "mktemp failed"
trap 'rm -rf "$work"' EXIT

# Our environment only: no user MIB settings may change what is loaded, and the
# Net-SNMP tools keep their state (which they announce creating) in our temp dir.
unset MIBS MIBDIRS MIBFILES SNMPCONFPATH
export SNMP_PERSISTENT_DIR="$work/snmp"
mkdir -p "$SNMP_PERSISTENT_DIR/cert_indexes"

# 2. smilint. SMIPATH, not -p: preloading the IETF files makes libsmi report their
#    own ASN.1 quirks, which are not ours to fix.
out=$(SMIPATH="$IETF" smilint -m -s -l 6 -i namelength-32 "$MIB" 2>&1)
[ -z "$out" ] || { printf '%s\n' "$out" >&2; fail "smilint reports problems in $MIB"; }

# 3. Net-SNMP: alone (nothing else may be printed), and as the NMS tools load it on
#    top of their default modules (nothing may concern SIPHA-MIB).
out=$(snmptranslate -M "$IETF:mib" -m SIPHA-MIB -Tp 2>&1 >/dev/null)
[ -z "$out" ] || { printf '%s\n' "$out" >&2; fail "Net-SNMP cannot load $MIB cleanly"; }
out=$(snmptranslate -M "+$IETF:mib" -m +SIPHA-MIB -Tp 2>&1 >/dev/null | grep -i 'sipha')
[ -z "$out" ] || { printf '%s\n' "$out" >&2; fail "Net-SNMP reports problems in $MIB"; }

# 4. The placeholder arc, defined once on each side.
arc=$(sed -n 's/^#define SIPHA_MIB_ARC[[:space:]]\{1,\}\([0-9, ]*\)$/\1/p' "$HDR" | tr -d ' ' | tr ',' '.')
[ -n "$arc" ] || fail "no numeric '#define SIPHA_MIB_ARC' in $HDR"
oid=$(snmptranslate -M "$IETF:mib" -m SIPHA-MIB -On SIPHA-MIB::siphaMIB 2>&1)
[ "$oid" = ".$arc" ] || fail "SIPHA_MIB_ARC in $HDR is .$arc but siphaMIB in $MIB is $oid"

# 5. The C tables against the MIB.

# Column enums of sipha_mib.h as "table<TAB>number<TAB>NAME<TAB>comment" lines.
awk '
function trim(s) { sub(/^[ \t]+/, "", s); sub(/[ \t]+$/, "", s); return s }
function flush() { if (name != "") printf "%s\t%s\t%s\t%s\n", tbl, val, name, trim(cmt); name = ""; cmt = "" }
/^enum sipha_[a-z]+_col[ \t]*\{/ { tbl = $2; sub(/^sipha_/, "", tbl); sub(/_col$/, "", tbl); inenum = 1; cont = 0; next }
!inenum { next }
/^[ \t]*\};/ { flush(); inenum = 0; next }
cont { line = trim($0); if (sub(/\*\/.*$/, "", line)) cont = 0; cmt = cmt " " line; next }
/^[ \t]*[A-Z][A-Z0-9_]*[ \t]*=[ \t]*[0-9]+[ \t]*,/ {
    flush(); line = trim($0)
    name = line; sub(/[ \t]*=.*/, "", name)
    val = line; sub(/^[^=]*=[ \t]*/, "", val); sub(/[ \t]*,.*/, "", val)
    cmt = ""
    if (index(line, "/*")) { cmt = substr(line, index(line, "/*") + 2); cont = !sub(/\*\/.*$/, "", cmt) }
    next
}
' "$HDR" > "$work/columns.tsv" || fail "cannot read the column enums of $HDR"
[ -s "$work/columns.tsv" ] || fail "no column enums found in $HDR"

cat > "$work/mibcheck.c" <<'EOF'
/* mibcheck.c — generated by scripts/lint.sh: compares the C tables with SIPHA-MIB. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>

#include "ha_engine.h"
#include "instance.h"
#include "notify_defs.h"
#include "sipha_mib.h"

static int errors;

#define ERR(...) do { fprintf(stderr, "lint: " __VA_ARGS__); fputc('\n', stderr); errors++; } while (0)

struct table_info {
    const char *key;        /* enum sipha_<key>_col */
    unsigned id;            /* enum sipha_table_id */
    const char *table;      /* table descriptor */
    const char *prefix;     /* column descriptor prefix */
};

static const struct table_info tables[] = {
    { "inst", SIPHA_T_INSTANCE, "siphaInstanceTable", "siphaInst" },
    { "nic", SIPHA_T_NIC, "siphaNicTable", "siphaNic" },
    { "vip", SIPHA_T_VIP, "siphaVipTable", "siphaVip" },
    { "dn", SIPHA_T_DN, "siphaServiceDnTable", "siphaDn" },
    { "contact", SIPHA_T_CONTACT, "siphaContactTable", "siphaContact" },
    { "event", SIPHA_T_EVENT, "siphaEventTable", "siphaEvent" },
};
#define NTABLES (sizeof tables / sizeof tables[0])

static struct tree *child(struct tree *parent, u_long subid)
{
    for (struct tree *t = parent ? parent->child_list : NULL; t; t = t->next_peer)
        if (t->subid == subid)
            return t;
    return NULL;
}

static struct tree *node_at(const oid *o, size_t n)
{
    struct tree *t = NULL;
    for (struct tree *p = get_tree_head(); p; p = p->next_peer)
        if (p->subid == o[0])
            t = p;
    for (size_t i = 1; t && i < n; i++)
        t = child(t, o[i]);
    return t;
}

/* The node at a literal OID, e.g. NODE(SIPHA_OBJECTS, 1). */
#define NODE(...) node_at((const oid[]){ __VA_ARGS__ }, sizeof((const oid[]){ __VA_ARGS__ }) / sizeof(oid))

static struct tree *entry_node(unsigned table)
{
    return NODE(SIPHA_OBJECTS, table, 1);
}

static struct tree *column_node(unsigned table, unsigned col)
{
    return child(entry_node(table), col);
}

/* The C name, less its TABLE_COL_ prefix and an OPT_ marker, must appear in order
 * (letters as a subsequence, same first letter) in the descriptor after its prefix:
 * INST_COL_LAST_RESP_TIME fits siphaDnLastResponseTime, not siphaDnState. */
static int name_fits(const char *cname, const char *desc, const char *prefix)
{
    const char *c = strstr(cname, "_COL_");
    if (!c || strncmp(desc, prefix, strlen(prefix)) != 0)
        return 0;
    c += 5;
    if (strncmp(c, "OPT_", 4) == 0)
        c += 4;
    const char *d = desc + strlen(prefix);
    if (tolower((unsigned char)*c) != tolower((unsigned char)*d))
        return 0;
    for (; *c; c++) {
        if (*c == '_')
            continue;
        while (*d && tolower((unsigned char)*d) != tolower((unsigned char)*c))
            d++;
        if (!*d)
            return 0;
        d++;
    }
    return 1;
}

struct enum_item { char label[64]; int value; };

/* "none(1) switchover(2) ..." -> items (duplicates dropped); returns the count. */
static size_t parse_enums(const char *s, struct enum_item *items, size_t max)
{
    size_t n = 0;
    for (const char *p = s; *p; p++) {
        if (!isalpha((unsigned char)*p) || (p > s && isalnum((unsigned char)p[-1])))
            continue;
        const char *q = p;
        while (isalnum((unsigned char)*q))
            q++;
        int v, used = 0;
        if (*q != '(' || sscanf(q, "(%d)%n", &v, &used) != 1 || used == 0 || q - p >= 64)
            continue;
        char label[64];
        memcpy(label, p, (size_t)(q - p));
        label[q - p] = '\0';
        int dup = 0;
        for (size_t i = 0; i < n; i++)
            dup |= strcmp(items[i].label, label) == 0 && items[i].value == v;
        if (!dup && n < max) {
            snprintf(items[n].label, sizeof items[n].label, "%s", label);
            items[n++].value = v;
        }
        p = q;
    }
    return n;
}

static size_t count_enums(const struct enum_list *e)
{
    size_t n = 0;
    for (; e; e = e->next)
        n++;
    return n;
}

static const char *enum_label(const struct enum_list *e, int v)
{
    for (; e; e = e->next)
        if (e->value == v)
            return e->label;
    return NULL;
}

static const char *tc_name(const struct tree *t)
{
    const char *n = t->tc_index >= 0 ? get_tc_descriptor(t->tc_index) : NULL;
    return n ? n : "";
}

static void check_enums(const char *cname, const struct tree *t, const char *cmt)
{
    struct enum_item items[32];
    size_t n = parse_enums(cmt, items, 32);
    if (t->type != TYPE_INTEGER || !t->enums) {
        ERR("%s: %s is not an enumeration but the header lists %s", cname, t->label, cmt);
        return;
    }
    if (count_enums(t->enums) != n)
        ERR("%s: %s has %zu enumerations, the header %zu", cname, t->label, count_enums(t->enums), n);
    for (size_t i = 0; i < n; i++) {
        const char *l = enum_label(t->enums, items[i].value);
        if (!l || strcmp(l, items[i].label) != 0)
            ERR("%s: %s value %d is %s in the MIB, %s(%d) in the header", cname, t->label,
                items[i].value, l ? l : "missing", items[i].label, items[i].value);
    }
}

/* First word of the comment: the SMI type the header documents. */
static void check_type(const char *cname, const struct tree *t, const char *cmt)
{
    struct enum_item items[2];
    if (parse_enums(cmt, items, 2) >= 2) {
        check_enums(cname, t, cmt);
        return;
    }
    char word[64] = "";
    sscanf(cmt, "%63[A-Za-z0-9]", word);
    static const struct { const char *word; int type; const char *tc; } map[] = {
        { "DisplayString", TYPE_OCTETSTR, "DisplayString" },
        { "OCTET", TYPE_OCTETSTR, "" },
        { "TruthValue", TYPE_INTEGER, "TruthValue" },
        { "TimeStamp", TYPE_TIMETICKS, "TimeStamp" },
        { "DateAndTime", TYPE_OCTETSTR, "DateAndTime" },
        { "InetAddressType", TYPE_INTEGER, "InetAddressType" },
        { "InetAddress", TYPE_OCTETSTR, "InetAddress" },
        { "InetPortNumber", TYPE_UNSIGNED32, "InetPortNumber" },
        { "SiphaRole", TYPE_INTEGER, "SiphaRole" },
        { "SiphaStatus", TYPE_INTEGER, "SiphaStatus" },
        { "SiphaSwitchoverReason", TYPE_INTEGER, "SiphaSwitchoverReason" },
        { "Unsigned32", TYPE_UNSIGNED32, "" },
        { "Integer32", TYPE_INTEGER32, "" },
        { "Gauge32", TYPE_GAUGE, "" },
        { "Counter32", TYPE_COUNTER, "" },
        { "Counter64", TYPE_COUNTER64, "" },
        { "OBJECT", TYPE_OBJID, "" },
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        if (strcmp(word, map[i].word) != 0)
            continue;
        if (t->type != map[i].type || strcmp(tc_name(t), map[i].tc) != 0)
            ERR("%s: %s has type %d/%s in the MIB, the header says %s", cname, t->label,
                t->type, tc_name(t)[0] ? tc_name(t) : "-", map[i].word);
        return;
    }
    ERR("%s: cannot tell the type from the header comment \"%s\"", cname, cmt);
}

static void check_index(const struct table_info *ti, const char *cname, const struct tree *t)
{
    if (t->access != MIB_ACCESS_NOACCESS)
        ERR("%s: index column %s must be not-accessible", cname, t->label);
    if (t->type != TYPE_UNSIGNED32)
        ERR("%s: index column %s must be an Unsigned32", cname, t->label);
    const struct index_list *ix = t->parent->indexes;
    if (!ix || strcmp(ix->ilabel, "siphaInstIndex") != 0)
        ERR("%s: INDEX of %s must start with siphaInstIndex", cname, ti->table);
    else if (ti->id == SIPHA_T_INSTANCE ? ix->next != NULL
             : (!ix->next || strcmp(ix->next->ilabel, t->label) != 0 || ix->next->next))
        ERR("%s: INDEX of %s must be { siphaInstIndex%s%s }", cname, ti->table,
            ti->id == SIPHA_T_INSTANCE ? "" : ", ", ti->id == SIPHA_T_INSTANCE ? "" : t->label);
}

static void check_last(const struct table_info *ti, const char *cname, unsigned last,
                       const unsigned char *seen)
{
    unsigned maxsub = 0;
    for (struct tree *c = entry_node(ti->id)->child_list; c; c = c->next_peer) {
        if (c->subid > maxsub)
            maxsub = (unsigned)c->subid;
        if (c->subid > 255 || !seen[c->subid])
            ERR("%s column %s (%lu) has no constant in %s", ti->table, c->label, c->subid, "sipha_mib.h");
    }
    if (maxsub != last)
        ERR("%s = %u but the last column of %s is %u", cname, last, ti->table, maxsub);
}

static void check_column(const struct table_info *ti, const char *cname, unsigned col,
                         const char *cmt, unsigned char *seen)
{
    struct tree *t = column_node(ti->id, col);
    if (!t) {
        ERR("%s: %s has no column %u", cname, ti->table, col);
        return;
    }
    if (col <= 255)
        seen[col] = 1;
    if (!name_fits(cname, t->label, ti->prefix))
        ERR("%s: column %u of %s is %s, which does not fit the name", cname, col, ti->table, t->label);
    if (col == 1) {
        check_index(ti, cname, t);
        return;
    }
    int rw = strstr(cmt, "read-write") != NULL;
    if (t->access != (rw ? MIB_ACCESS_READWRITE : MIB_ACCESS_READONLY))
        ERR("%s: %s must be %s", cname, t->label, rw ? "read-write" : "read-only");
    check_type(cname, t, cmt);
}

/* Lines of columns.tsv: table key, number, C name, comment. */
static void check_columns(FILE *in)
{
    char line[1024];
    unsigned char seen[NTABLES][256];
    memset(seen, 0, sizeof seen);
    while (fgets(line, sizeof line, in)) {
        line[strcspn(line, "\n")] = '\0';
        char *key = strtok(line, "\t"), *num = strtok(NULL, "\t"), *cname = strtok(NULL, "\t");
        char *cmt = strtok(NULL, "");
        if (!key || !num || !cname)
            continue;
        size_t ti;
        for (ti = 0; ti < NTABLES && strcmp(tables[ti].key, key) != 0; ti++)
            ;
        if (ti == NTABLES) {
            ERR("enum sipha_%s_col: unknown table", key);
            continue;
        }
        struct tree *table = NODE(SIPHA_OBJECTS, tables[ti].id);
        if (!table || strcmp(table->label, tables[ti].table) != 0 || !entry_node(tables[ti].id)) {
            ERR("siphaObjects.%u should be %s with an entry .1", tables[ti].id, tables[ti].table);
            continue;
        }
        unsigned col = (unsigned)strtoul(num, NULL, 10);
        size_t len = strlen(cname);
        if (len > 9 && strcmp(cname + len - 9, "_COL_LAST") == 0)
            check_last(&tables[ti], cname, col, seen[ti]);
        else
            check_column(&tables[ti], cname, col, cmt ? cmt : "", seen[ti]);
    }
}

static void check_notification(const struct notif_def *d, unsigned id)
{
    struct tree *n = NODE(SIPHA_NOTIFICATIONS, id);
    if (!n || n->type != TYPE_NOTIFTYPE) {
        ERR("%s: no NOTIFICATION-TYPE siphaNotifications.%u in the MIB", d->name, id);
        return;
    }
    if (strcmp(n->label, d->name) != 0)
        ERR("siphaNotifications.%u is %s in the MIB, %s in notify_defs.c", id, n->label, d->name);
    const struct varbind_list *v = n->varbinds;
    for (size_t i = 0; i < d->nvarbinds; i++, v = v ? v->next : NULL) {
        struct tree *col = column_node(d->varbinds[i].table, d->varbinds[i].column);
        const char *want = col ? col->label : "(no such column)";
        if (!v || strcmp(v->vblabel, want) != 0)
            ERR("%s: OBJECTS #%zu is %s in the MIB, %s in notify_defs.c", d->name, i + 1,
                v ? v->vblabel : "missing", want);
    }
    for (; v; v = v->next)
        ERR("%s: OBJECTS has %s, which notify_defs.c does not send", d->name, v->vblabel);
    if (!n->description || !strstr(n->description, d->event_id))
        ERR("%s: its DESCRIPTION does not name log event %s", d->name, d->event_id);
}

static void check_notifications(void)
{
    unsigned count = 0;
    for (unsigned id = 1; id <= HA_NOTIF_COUNT; id++) {
        const struct notif_def *d = notif_def_get((enum ha_notif)id);
        if (!d || d->id != (enum ha_notif)id) {
            ERR("notify_defs.c: entry %u is out of place", id);
            continue;
        }
        check_notification(d, id);
    }
    struct tree *base = NODE(SIPHA_NOTIFICATIONS);
    for (struct tree *t = base ? base->child_list : NULL; t; t = t->next_peer, count++)
        if (t->subid < 1 || t->subid > HA_NOTIF_COUNT)
            ERR("%s (siphaNotifications.%lu) is not in notify_defs.c", t->label, t->subid);
    if (count != HA_NOTIF_COUNT)
        ERR("the MIB has %u notifications, notify_defs.c %d", count, HA_NOTIF_COUNT);
}

/* The shared enumerations print the MIB's labels (ha_types.c). */
static void check_names(unsigned col, int first, int last, const char *(*name)(int))
{
    struct tree *t = column_node(SIPHA_T_INSTANCE, col);
    if (!t)
        return; /* reported by the column checks */
    if (count_enums(t->enums) != (size_t)(last - first + 1))
        ERR("%s: %s has %zu values, ha_types.h %d", tc_name(t), t->label, count_enums(t->enums),
            last - first + 1);
    for (int v = first; v <= last; v++) {
        const char *l = enum_label(t->enums, v);
        if (!l || strcmp(l, name(v)) != 0)
            ERR("%s value %d is %s in the MIB, %s in ha_types.c", tc_name(t), v, l ? l : "missing", name(v));
    }
}

/* The engine's row and state enums, and the model's (mib/instance.h), are the MIB's
 * values, shown without a table: each value against the MIB's label (one copy of
 * each enum, here checked). */
struct enum_value {
    unsigned table, col;
    int value;
    const char *label;
};
static const struct enum_value enum_values[] = {
    { SIPHA_T_INSTANCE, INST_COL_SIP_TRAFFIC_STATE, HA_TRAFFIC_UNKNOWN, "unknown" },
    { SIPHA_T_INSTANCE, INST_COL_SIP_TRAFFIC_STATE, HA_TRAFFIC_FLOWING, "flowing" },
    { SIPHA_T_INSTANCE, INST_COL_SIP_TRAFFIC_STATE, HA_TRAFFIC_LOST, "lost" },
    { SIPHA_T_INSTANCE, INST_COL_SIP_TRAFFIC_STATE, HA_TRAFFIC_NOT_MONITORED, "notMonitored" },
    { SIPHA_T_INSTANCE, INST_COL_PEER_LINK_STATE, HA_LINK_NOT_CONFIGURED, "notConfigured" },
    { SIPHA_T_INSTANCE, INST_COL_PEER_LINK_STATE, HA_LINK_UP, "up" },
    { SIPHA_T_INSTANCE, INST_COL_PEER_LINK_STATE, HA_LINK_DOWN, "down" },
    { SIPHA_T_INSTANCE, INST_COL_ARBITER_STATE, HA_LINK_NOT_CONFIGURED, "notConfigured" },
    { SIPHA_T_INSTANCE, INST_COL_ARBITER_STATE, HA_LINK_UP, "reachable" },
    { SIPHA_T_INSTANCE, INST_COL_ARBITER_STATE, HA_LINK_DOWN, "unreachable" },
    { SIPHA_T_INSTANCE, INST_COL_STATE_DIR_STATUS, STATE_DIR_OK, "ok" },
    { SIPHA_T_INSTANCE, INST_COL_STATE_DIR_STATUS, STATE_DIR_FAILED, "failed" },
    { SIPHA_T_INSTANCE, INST_COL_STATE_DIR_STATUS, STATE_DIR_NOT_CONFIGURED, "notConfigured" },
    { SIPHA_T_INSTANCE, INST_COL_SIP_SERVER_KIND, SIP_SERVER_MIB_GENERIC, "generic" },
    { SIPHA_T_INSTANCE, INST_COL_SIP_SERVER_KIND, SIP_SERVER_MIB_KAMAILIO, "kamailio" },
    { SIPHA_T_INSTANCE, INST_COL_CONTACT_SOURCE_STATE, CONTACT_SOURCE_NOT_CONFIGURED, "notConfigured" },
    { SIPHA_T_INSTANCE, INST_COL_CONTACT_SOURCE_STATE, CONTACT_SOURCE_UP, "up" },
    { SIPHA_T_INSTANCE, INST_COL_CONTACT_SOURCE_STATE, CONTACT_SOURCE_DOWN, "down" },
    { SIPHA_T_NIC, NIC_COL_PURPOSE, HA_NIC_MANAGEMENT, "management" },
    { SIPHA_T_NIC, NIC_COL_PURPOSE, HA_NIC_SIP, "sip" },
    { SIPHA_T_NIC, NIC_COL_OPER_STATE, HA_OPER_UNKNOWN, "unknown" },
    { SIPHA_T_NIC, NIC_COL_OPER_STATE, HA_OPER_UP, "up" },
    { SIPHA_T_NIC, NIC_COL_OPER_STATE, HA_OPER_DOWN, "down" },
    { SIPHA_T_VIP, VIP_COL_EXPECTED, HA_VIP_EXPECT_PRESENT, "present" },
    { SIPHA_T_VIP, VIP_COL_EXPECTED, HA_VIP_EXPECT_ABSENT, "absent" },
    { SIPHA_T_VIP, VIP_COL_ACTUAL, HA_VIP_UNKNOWN, "unknown" },
    { SIPHA_T_VIP, VIP_COL_ACTUAL, HA_VIP_PRESENT, "present" },
    { SIPHA_T_VIP, VIP_COL_ACTUAL, HA_VIP_ABSENT, "absent" },
    { SIPHA_T_VIP, VIP_COL_STATUS, HA_VIP_OK, "ok" },
    { SIPHA_T_VIP, VIP_COL_STATUS, HA_VIP_MISMATCH, "mismatch" },
    { SIPHA_T_VIP, VIP_COL_STATUS, HA_VIP_FAILED, "failed" },
    { SIPHA_T_VIP, VIP_COL_STATUS, HA_VIP_NOT_MONITORED, "notMonitored" },
    { SIPHA_T_DN, DN_COL_STATE, HA_DN_UNKNOWN, "unknown" },
    { SIPHA_T_DN, DN_COL_STATE, HA_DN_IN_SERVICE, "inService" },
    { SIPHA_T_DN, DN_COL_STATE, HA_DN_OUT_OF_SERVICE, "outOfService" },
    { SIPHA_T_CONTACT, CONTACT_COL_ORIGIN, CONTACT_LOCAL, "local" },
    { SIPHA_T_CONTACT, CONTACT_COL_ORIGIN, CONTACT_SYNCED, "synced" },
};

static void check_enum_values(void)
{
    for (size_t i = 0; i < sizeof enum_values / sizeof enum_values[0]; i++) {
        const struct enum_value *e = &enum_values[i];
        struct tree *t = column_node(e->table, e->col);
        if (!t)
            continue; /* reported by the column checks */
        const char *l = enum_label(t->enums, e->value);
        if (!l || strcmp(l, e->label) != 0)
            ERR("%s value %d is %s in the MIB, %s in the C enum", t->label, e->value,
                l ? l : "missing", e->label);
    }
}

static const char *role_name(int v) { return ha_role_name((enum ha_role)v); }
static const char *status_name(int v) { return ha_status_name((enum ha_status)v); }
static const char *reason_name(int v) { return ha_reason_name((enum ha_reason)v); }

int main(int argc, char **argv)
{
    if (argc != 3)
        return 2;
    setenv("MIBDIRS", argv[1], 1);
    setenv("MIBS", "SIPHA-MIB", 1);
    snmp_set_save_descriptions(1);
    netsnmp_init_mib();
    static const oid arc[] = { SIPHA_MIB_ARC };
    struct tree *mod = node_at(arc, OID_LENGTH(arc));
    if (OID_LENGTH(arc) != SIPHA_MIB_ARC_LEN)
        ERR("SIPHA_MIB_ARC_LEN is %d but SIPHA_MIB_ARC has %zu sub-identifiers", SIPHA_MIB_ARC_LEN,
            OID_LENGTH(arc));
    if (!mod || strcmp(mod->label, "siphaMIB") != 0) {
        ERR("siphaMIB is not at SIPHA_MIB_ARC");
        return 1;
    }
    FILE *cols = fopen(argv[2], "r");
    if (!cols) {
        ERR("cannot open %s", argv[2]);
        return 1;
    }
    check_columns(cols);
    fclose(cols);
    check_notifications();
    check_names(INST_COL_ROLE, HA_ROLE_UNKNOWN, HA_ROLE_BACKUP, role_name);
    check_names(INST_COL_STATUS, HA_STATUS_UNKNOWN, HA_STATUS_SERVICE_UNAVAILABLE, status_name);
    check_names(INST_COL_LAST_SWITCHOVER_REASON, HA_REASON_NONE, HA_REASON_SHUTDOWN, reason_name);
    check_enum_values();
    shutdown_mib();
    return errors ? 1 : 0;
}
EOF

cc_out=$("${CC:-cc}" -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Imib -Imonitors -Ihalink -Iengine -Ibase \
         -o "$work/mibcheck" "$work/mibcheck.c" mib/notify_defs.c engine/ha_types.c \
         -lnetsnmp 2>&1) || { printf '%s\n' "$cc_out" >&2; fail "cannot build the MIB checker"; }
"$work/mibcheck" "$IETF:mib" "$work/columns.tsv" || fail "the C tables and $MIB differ"
exit 0
