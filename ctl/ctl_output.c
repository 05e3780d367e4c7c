/* ctl_output.c — see ctl_output.h. */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "ctl_names.h"
#include "ctl_output.h"

#define NO_INSTANCE "no SIPHA-MIB instance (is a sipha-agent registered with this snmpd?)"

const struct ctl_inst *ctl_single_primary(const struct ctl_node *nodes, size_t n, size_t *count)
{
    const struct ctl_inst *found = NULL;
    *count = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < nodes[i].ninst; k++)
            if (nodes[i].inst[k].role == HA_ROLE_PRIMARY) {
                found = &nodes[i].inst[k];
                ++*count;
            }
    return *count == 1 ? found : NULL;
}

/* ---- text ------------------------------------------------------------------- */

/* Agent-supplied text on a terminal: control characters become '?'. */
static void put_safe(FILE *f, const char *s)
{
    for (; *s; s++)
        fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, f);
}

static void text_peer(FILE *f, const struct ctl_inst *in)
{
    fprintf(f, "  %-12s ", "peer");
    if (!in->peer_name[0] && in->peer_link == HA_LINK_NOT_CONFIGURED) {
        fprintf(f, "none configured\n");
        return;
    }
    put_safe(f, in->peer_name[0] ? in->peer_name : "?");
    fprintf(f, ": %s, %s; link %s", ctl_role_name(in->peer_role), ctl_status_name(in->peer_status),
            ctl_link_name(in->peer_link));
    if (in->peer_link == HA_LINK_UP && in->peer_hears_us == 2)
        fprintf(f, ", does not hear us");
    fputc('\n', f);
}

static void text_inst(FILE *f, const struct ctl_node *node, const struct ctl_inst *in)
{
    put_safe(f, in->name[0] ? in->name : "?");
    fprintf(f, "  (instance %u at ", (unsigned)in->index);
    put_safe(f, node->target->peer);
    fprintf(f, ")\n");
    fprintf(f, "  %-12s %s\n", "role", ctl_role_name(in->role));
    fprintf(f, "  %-12s %s\n", "status", ctl_status_name(in->status));
    fprintf(f, "  %-12s %u, epoch %u\n", "priority", (unsigned)in->priority, (unsigned)in->epoch);
    text_peer(f, in);
    if (in->nvips == 0)
        fprintf(f, "  %-12s none\n", "VIP");
    for (size_t i = 0; i < in->nvips; i++) {
        const struct ctl_vip *v = &in->vips[i];
        fprintf(f, "  %-12s ", "VIP");
        put_safe(f, v->address[0] ? v->address : "?");
        fprintf(f, " on ");
        put_safe(f, v->interface);
        fprintf(f, ": %s (expected %s), %s\n", ctl_vip_actual_name(v->actual),
                ctl_vip_expected_name(v->expected), ctl_vip_status_name(v->status));
    }
    fprintf(f, "  %-12s ", "switchover");
    if (in->switchovers == 0)
        fprintf(f, "never\n");
    else
        fprintf(f, "last %s, reason %s (%u in all)\n",
                in->last_switchover_time[0] ? in->last_switchover_time : "at an unknown time",
                ctl_reason_name(in->last_reason), (unsigned)in->switchovers);
    if (in->admin_result && in->admin_result != HA_RESULT_NONE)
        fprintf(f, "  %-12s %s\n", "admin result", ctl_admin_result_name(in->admin_result));
    if (in->nalarms == 0)
        fprintf(f, "  %-12s none\n", "alarms");
    for (size_t i = 0; i < in->nalarms; i++) {
        const struct ctl_alarm *a = &in->alarms[i];
        fprintf(f, "  %-12s ", "alarm");
        put_safe(f, a->id[0] ? a->id : "?");
        fprintf(f, " %s %s: ", a->time[0] ? a->time : "(time unknown)",
                a->notification ? a->notification : "");
        put_safe(f, a->text);
        fputc('\n', f);
    }
}

void ctl_print_text(FILE *f, const struct ctl_node *nodes, size_t n)
{
    bool first = true;
    for (size_t i = 0; i < n; i++) {
        const struct ctl_node *node = &nodes[i];
        if (!node->ok || node->ninst == 0) {
            if (!first)
                fputc('\n', f);
            first = false;
            put_safe(f, node->target->peer);
            fprintf(f, "  %s: ", node->ok ? "no instance" : node->unreachable ? "unreachable" : "error");
            put_safe(f, node->ok ? NO_INSTANCE : node->error);
            fputc('\n', f);
            continue;
        }
        for (size_t k = 0; k < node->ninst; k++) {
            if (!first)
                fputc('\n', f);
            first = false;
            text_inst(f, node, &node->inst[k]);
        }
    }
}

/* ---- JSON ------------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when it is not one. */
static size_t utf8_len(const unsigned char *s)
{
    size_t n;
    uint32_t min, c;
    if (s[0] < 0x80)
        return 1;
    if ((s[0] & 0xe0) == 0xc0) { n = 2; min = 0x80; c = s[0] & 0x1fu; }
    else if ((s[0] & 0xf0) == 0xe0) { n = 3; min = 0x800; c = s[0] & 0x0fu; }
    else if ((s[0] & 0xf8) == 0xf0) { n = 4; min = 0x10000; c = s[0] & 0x07u; }
    else return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        c = c << 6 | (s[i] & 0x3fu);
    }
    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
        return 0;
    return n;
}

/* A JSON string: escapes quotes, backslashes and control characters; bytes that
 * are not UTF-8 become U+FFFD, so the output is always valid JSON. */
static void json_str(FILE *f, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    fputc('"', f);
    while (*p) {
        size_t n = utf8_len(p);
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p == '\n')
            fputs("\\n", f);
        else if (*p == '\t')
            fputs("\\t", f);
        else if (*p < 0x20 || *p == 0x7f)
            fprintf(f, "\\u%04x", *p);
        else if (n == 0)
            fputs("\\ufffd", f);
        else
            fwrite(p, 1, n, f);
        p += n ? n : 1;
    }
    fputc('"', f);
}

static void json_str_or_null(FILE *f, const char *s)
{
    if (s && *s)
        json_str(f, s);
    else
        fputs("null", f);
}

static void json_truth(FILE *f, int v)
{
    fputs(v == 1 ? "true" : v == 2 ? "false" : "null", f);
}

static void json_vips(FILE *f, const struct ctl_inst *in)
{
    fputs("\"vips\": [", f);
    for (size_t i = 0; i < in->nvips; i++) {
        const struct ctl_vip *v = &in->vips[i];
        fprintf(f, "%s{\"index\": %u, \"address\": ", i ? ", " : "", (unsigned)v->index);
        json_str_or_null(f, v->address);
        fputs(", \"interface\": ", f);
        json_str(f, v->interface);
        fprintf(f, ", \"expected\": \"%s\", \"actual\": \"%s\", \"status\": \"%s\"}",
                ctl_vip_expected_name(v->expected), ctl_vip_actual_name(v->actual),
                ctl_vip_status_name(v->status));
    }
    fputs("]", f);
}

static void json_alarms(FILE *f, const struct ctl_inst *in)
{
    fputs("\"alarms\": [", f);
    for (size_t i = 0; i < in->nalarms; i++) {
        const struct ctl_alarm *a = &in->alarms[i];
        fprintf(f, "%s{\"event\": %u, \"id\": ", i ? ", " : "", (unsigned)a->index);
        json_str(f, a->id);
        fprintf(f, ", \"severity\": \"%s\", \"time\": ", ctl_severity_name(a->severity));
        json_str_or_null(f, a->time);
        fputs(", \"notification\": ", f);
        json_str_or_null(f, a->notification);
        fputs(", \"text\": ", f);
        json_str(f, a->text);
        fputs("}", f);
    }
    fputs("]", f);
}

static void json_inst(FILE *f, const struct ctl_node *node, const struct ctl_inst *in)
{
    fputs("{\"target\": ", f);
    json_str(f, node->target->peer);
    fprintf(f, ", \"reachable\": true, \"instance\": %u, \"name\": ", (unsigned)in->index);
    json_str(f, in->name);
    fprintf(f, ", \"role\": \"%s\", \"status\": \"%s\", \"priority\": %u, \"epoch\": %u",
            ctl_role_name(in->role), ctl_status_name(in->status), (unsigned)in->priority,
            (unsigned)in->epoch);
    fputs(", \"peer\": {\"name\": ", f);
    json_str_or_null(f, in->peer_name);
    fprintf(f, ", \"role\": \"%s\", \"status\": \"%s\", \"link\": \"%s\", \"hears_us\": ",
            ctl_role_name(in->peer_role), ctl_status_name(in->peer_status),
            ctl_link_name(in->peer_link));
    json_truth(f, in->peer_hears_us);
    fputs("}, ", f);
    json_vips(f, in);
    fprintf(f, ", \"switchovers\": %u, \"last_switchover\": ", (unsigned)in->switchovers);
    if (in->switchovers == 0) {
        fputs("null", f);
    } else {
        fprintf(f, "{\"reason\": \"%s\", \"time\": ", ctl_reason_name(in->last_reason));
        json_str_or_null(f, in->last_switchover_time);
        fputs("}", f);
    }
    fprintf(f, ", \"admin_result\": \"%s\", ", ctl_admin_result_name(in->admin_result));
    json_alarms(f, in);
    fputs("}", f);
}

void ctl_print_json(FILE *f, const struct ctl_node *nodes, size_t n)
{
    bool first = true;
    fputs("{\"nodes\": [", f);
    for (size_t i = 0; i < n; i++) {
        const struct ctl_node *node = &nodes[i];
        if (!node->ok || node->ninst == 0) {
            fputs(first ? "\n  " : ",\n  ", f);
            first = false;
            fputs("{\"target\": ", f);
            json_str(f, node->target->peer);
            fprintf(f, ", \"reachable\": %s, \"error\": ", node->unreachable ? "false" : "true");
            json_str(f, node->ok ? NO_INSTANCE : node->error);
            fputs("}", f);
            continue;
        }
        for (size_t k = 0; k < node->ninst; k++) {
            fputs(first ? "\n  " : ",\n  ", f);
            first = false;
            json_inst(f, node, &node->inst[k]);
        }
    }
    size_t count;
    const struct ctl_inst *p = ctl_single_primary(nodes, n, &count);
    fputs("\n], \"primary\": ", f);
    json_str_or_null(f, p ? p->name : NULL);
    fputs("}\n", f);
}
