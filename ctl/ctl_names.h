/* ctl_names.h — labels of the SIPHA-MIB enumerations sipha-ctl prints. Role, status
 * and switchover reason are the engine's (engine/ha_types.h); the others are the
 * MIB's labels of the engine's and the model's enums, kept here for the one tool
 * that prints them. A value outside the enumeration reads "unknown". */
#ifndef SIPHA_CTL_NAMES_H
#define SIPHA_CTL_NAMES_H

const char *ctl_role_name(int role);
const char *ctl_status_name(int status);
const char *ctl_reason_name(int reason);
const char *ctl_link_name(int link);             /* siphaInstPeerLinkState */
const char *ctl_admin_result_name(int result);   /* siphaInstAdminResult */
const char *ctl_vip_expected_name(int expected); /* siphaVipExpected */
const char *ctl_vip_actual_name(int actual);     /* siphaVipActual */
const char *ctl_vip_status_name(int status);     /* siphaVipStatus */
const char *ctl_severity_name(int severity);     /* siphaEventSeverity */

#endif
