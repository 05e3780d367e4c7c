/* The words the logs use: option flags by their configuration names, the causes of
 * serviceUnavailable, and why a status changed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "describe.h"
#include "ha_engine.h"

static void options_in_words(void **state)
{
    (void)state;
    char buf[256];
    assert_string_equal(describe_options(buf, sizeof(buf), 0),
                        "sip-pass-check off, control-vip-scripts off, sip-iptakeover-monitoring off, "
                        "tlib-nic-monitoring off, sip-nic-monitoring off");
    assert_string_equal(describe_options(buf, sizeof(buf), HA_OPT_SIP_PASS_CHECK | HA_OPT_SIP_NIC_MONITORING),
                        "sip-pass-check on, control-vip-scripts off, sip-iptakeover-monitoring off, "
                        "tlib-nic-monitoring off, sip-nic-monitoring on");
    assert_string_equal(describe_options(buf, sizeof(buf), HA_OPT_ALL),
                        "sip-pass-check on, control-vip-scripts on, sip-iptakeover-monitoring on, "
                        "tlib-nic-monitoring on, sip-nic-monitoring on");
    /* bits no option has are shown, not dropped */
    assert_string_equal(describe_options(buf, sizeof(buf), HA_OPT_CONTROL_VIP_SCRIPTS | 0x40u),
                        "sip-pass-check off, control-vip-scripts on, sip-iptakeover-monitoring off, "
                        "tlib-nic-monitoring off, sip-nic-monitoring off, other bits 0x40");
}

static void options_cut_when_short(void **state)
{
    (void)state;
    char small[20];
    memset(small, 'x', sizeof(small));
    const char *s = describe_options(small, sizeof(small), HA_OPT_ALL);
    assert_ptr_equal(s, small);
    assert_int_equal(strlen(small), sizeof(small) - 1); /* cut, terminated */
    assert_int_equal(strncmp(small, "sip-pass-check on, ", sizeof(small) - 1), 0);
    char one[1] = { 'x' };
    assert_string_equal(describe_options(one, sizeof(one), HA_OPT_ALL), "");
}

static void causes_in_words(void **state)
{
    (void)state;
    char buf[128];
    assert_string_equal(describe_causes(buf, sizeof(buf), 0), "");
    assert_string_equal(describe_causes(buf, sizeof(buf), HA_CAUSE_SIP_NIC_DOWN), "SIP NIC down");
    assert_string_equal(describe_causes(buf, sizeof(buf), HA_CAUSE_TRAFFIC_LOST | HA_CAUSE_VIP_FAILED |
                                                              HA_CAUSE_SIP_NIC_DOWN),
                        "SIP traffic lost and VIP failed and SIP NIC down");
    assert_string_equal(describe_causes(buf, sizeof(buf), 0x100u), "cause bits 0x100");
}

static void status_reasons(void **state)
{
    (void)state;
    char buf[128];
    assert_string_equal(describe_status_reason(buf, sizeof(buf), HA_STATUS_INITIALIZING,
                                               HA_STATUS_RUNNING, 0, 0),
                        "role decided");
    assert_string_equal(describe_status_reason(buf, sizeof(buf), HA_STATUS_RUNNING,
                                               HA_STATUS_SERVICE_UNAVAILABLE,
                                               HA_CAUSE_SIP_NIC_DOWN, 0),
                        "SIP NIC down");
    assert_string_equal(describe_status_reason(buf, sizeof(buf), HA_STATUS_INITIALIZING,
                                               HA_STATUS_SERVICE_UNAVAILABLE,
                                               HA_CAUSE_TRAFFIC_LOST | HA_CAUSE_SIP_NIC_DOWN, 0),
                        "SIP traffic lost and SIP NIC down");
    /* back to running: what cleared */
    assert_string_equal(describe_status_reason(buf, sizeof(buf), HA_STATUS_SERVICE_UNAVAILABLE,
                                               HA_STATUS_RUNNING, 0, HA_CAUSE_VIP_FAILED),
                        "cleared: VIP failed");
    assert_string_equal(describe_status_reason(buf, sizeof(buf), HA_STATUS_SERVICE_UNAVAILABLE,
                                               HA_STATUS_RUNNING, 0, 0),
                        "no fault left");
    assert_string_equal(describe_status_reason(buf, sizeof(buf), HA_STATUS_RUNNING,
                                               HA_STATUS_STOPPED, 0, 0),
                        "graceful stop");
    assert_string_equal(describe_status_reason(buf, sizeof(buf), HA_STATUS_UNKNOWN,
                                               HA_STATUS_INITIALIZING, 0, 0),
                        "role not decided yet");
    /* serviceUnavailable whose cause cleared again within the same step */
    assert_string_equal(describe_status_reason(buf, sizeof(buf), HA_STATUS_RUNNING,
                                               HA_STATUS_SERVICE_UNAVAILABLE, 0, 0),
                        "a fault that has cleared since");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(options_in_words),
        cmocka_unit_test(options_cut_when_short),
        cmocka_unit_test(causes_in_words),
        cmocka_unit_test(status_reasons),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
