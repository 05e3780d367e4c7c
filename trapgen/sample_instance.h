/* sample_instance.h — a realistic instance for sipha-trapgen (and tests), so that a
 * notification about any row carries real values. Documentation addresses only
 * (RFC 5737: 192.0.2.0/24, 198.51.100.0/24; example.com).
 *
 * Odd indexes give "sip-a" (primary), even ones "sip-b" (backup), each naming the
 * other as peer. Rows: NIC 1 = management, NIC 2 = SIP, VIP 1, service DNs 1 and 2,
 * contact 1, and one event (an alarm 00-04200 already cleared). */
#ifndef SIPHA_SAMPLE_INSTANCE_H
#define SIPHA_SAMPLE_INSTANCE_H

#include <stdint.h>

#include "instance.h"
#include "notify_defs.h"
#include "sipha_mib.h"

/* The sample agent pretends to have been up this long: its times (last switchover,
 * last SIP message…) fall inside that hour, so with uptime_base =
 * sample_uptime_base(now) every TimeStamp is non-zero and below sysUpTime. */
#define SAMPLE_UPTIME_MS (3600u * 1000u)

#define SAMPLE_NIC_MGMT 1u
#define SAMPLE_NIC_SIP 2u
#define SAMPLE_VIP 1u
#define SAMPLE_DN 1u
#define SAMPLE_CONTACT 1u

/* The sample: an instance and the engine state it shows (in.ha points at ha). */
struct sample_instance {
    struct sipha_instance in;
    struct ha_state ha;
};

/* Initialises the sample and fills it, with times relative to `now_ms`
 * (CLOCK_MONOTONIC ms). Returns 0, or -1 (index 0, or no memory; the sample must
 * still be released with sample_instance_free). */
int sample_instance_fill_at(struct sample_instance *s, uint32_t index, uint64_t now_ms);
/* The same at the current CLOCK_MONOTONIC time. */
int sample_instance_fill(struct sample_instance *s, uint32_t index);
void sample_instance_free(struct sample_instance *s);

/* uptime_base that goes with a sample filled at `now_ms`. */
uint64_t sample_uptime_base(uint64_t now_ms);

/* The sample row a notification about `table` speaks of: the SIP NIC (the seed's
 * 00-52027/00-52028 are about it), VIP 1, DN 1, contact 1, the first event; 0 for
 * SIPHA_T_INSTANCE or an unknown table. */
uint32_t sample_row_index(const struct sipha_instance *in, enum sipha_table_id table);

/* Puts the sample in the state `def` reports (e.g. the SIP NIC down for
 * siphaNicFailure) and logs its event as the agent does. Returns the event index
 * the notification's siphaEventTable varbinds refer to (for siphaAlarmCleared the
 * cleared alarm, otherwise the new event), or 0 on failure. */
uint32_t sample_instance_notify(struct sample_instance *s, const struct notif_def *def,
                                uint64_t now_ms);

#endif
