/* test_vip_announce.c — the gratuitous ARP and neighbour advertisement packets byte by
 * byte, and the argument checks of vipann_announce (refused before any socket is
 * opened or packet sent). A series on "lo" (not Ethernet: never sends) checks replace
 * and cancel when the process may open a packet socket. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "loop.h"
#include "vip_announce.h"

static const uint8_t mac[6] = { 0x02, 0x11, 0x22, 0x33, 0x44, 0x55 };
static const uint8_t ip4[4] = { 192, 0, 2, 100 };
static const uint8_t ip6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 0x64 };

static void test_garp_request(void **state)
{
    (void)state;
    uint8_t b[64];
    memset(b, 0xaa, sizeof(b));
    assert_int_equal(vipann_build_garp(b, sizeof(b), 1, mac, ip4), VIPANN_ARP_LEN);
    static const uint8_t want[VIPANN_ARP_LEN] = {
        0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01,     /* Ethernet, IPv4, request */
        0x02, 0x11, 0x22, 0x33, 0x44, 0x55, 192, 0, 2, 100,
        0, 0, 0, 0, 0, 0, 192, 0, 2, 100 };
    assert_memory_equal(b, want, sizeof(want));
    assert_int_equal(b[VIPANN_ARP_LEN], 0xaa); /* nothing written past the packet */
}

static void test_garp_reply(void **state)
{
    (void)state;
    uint8_t b[VIPANN_ARP_LEN];
    assert_int_equal(vipann_build_garp(b, sizeof(b), 2, mac, ip4), VIPANN_ARP_LEN);
    assert_int_equal(b[7], 2);
    /* target MAC = sender MAC: only then does Linux count a reply as gratuitous */
    assert_memory_equal(b + 18, mac, 6);
    assert_memory_equal(b + 14, ip4, 4);
    assert_memory_equal(b + 24, ip4, 4);
}

static void test_garp_bad(void **state)
{
    (void)state;
    uint8_t b[VIPANN_ARP_LEN];
    assert_int_equal(vipann_build_garp(b, sizeof(b) - 1, 1, mac, ip4), 0);
    assert_int_equal(vipann_build_garp(b, sizeof(b), 3, mac, ip4), 0);
    assert_int_equal(vipann_build_garp(b, sizeof(b), 0, mac, ip4), 0);
    assert_int_equal(vipann_build_garp(NULL, sizeof(b), 1, mac, ip4), 0);
    assert_int_equal(vipann_build_garp(b, sizeof(b), 1, NULL, ip4), 0);
    assert_int_equal(vipann_build_garp(b, sizeof(b), 1, mac, NULL), 0);
}

static void test_na(void **state)
{
    (void)state;
    uint8_t b[VIPANN_NA_LEN + 4];
    memset(b, 0xaa, sizeof(b));
    assert_int_equal(vipann_build_na(b, sizeof(b), mac, ip6), VIPANN_NA_LEN);
    assert_int_equal(b[0], 136);                 /* neighbour advertisement */
    assert_int_equal(b[1], 0);                   /* code */
    assert_int_equal(b[2] | b[3], 0);            /* checksum: the kernel's */
    assert_int_equal(b[4], 0x20);                /* O=1, S=0, R=0 */
    assert_int_equal(b[5] | b[6] | b[7], 0);
    assert_memory_equal(b + 8, ip6, 16);         /* target = VIP */
    assert_int_equal(b[24], 2);                  /* target link-layer address option */
    assert_int_equal(b[25], 1);                  /* 8 bytes */
    assert_memory_equal(b + 26, mac, 6);
    assert_int_equal(b[VIPANN_NA_LEN], 0xaa);
    assert_int_equal(vipann_build_na(b, VIPANN_NA_LEN - 1, mac, ip6), 0);
    assert_int_equal(vipann_build_na(NULL, sizeof(b), mac, ip6), 0);
    assert_int_equal(vipann_build_na(b, sizeof(b), NULL, ip6), 0);
    assert_int_equal(vipann_build_na(b, sizeof(b), mac, NULL), 0);
}

static void test_refused_arguments(void **state)
{
    (void)state;
    struct loop *lp = loop_new();
    struct vipann *v = vipann_new(lp, NULL, NULL);
    assert_non_null(v);
    struct sipha_addr a4 = { .family = 4, .bytes = { 192, 0, 2, 100 } };
    struct sipha_addr bad = { .family = 5 };
    char err[VIPANN_ERR_MAX];
    assert_int_equal(vipann_announce(v, "eth0", &bad, 3, 100, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "family"));
    assert_int_equal(vipann_announce(v, "eth0", NULL, 3, 100, err, sizeof(err)), -1);
    assert_int_equal(vipann_announce(v, "", &a4, 3, 100, err, sizeof(err)), -1);
    assert_int_equal(vipann_announce(v, NULL, &a4, 3, 100, err, sizeof(err)), -1);
    assert_int_equal(vipann_announce(v, "a-name-that-is-too-long", &a4, 3, 100, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "interface name"));
    assert_int_equal(vipann_announce(v, "eth0", &a4, 0, 100, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "count"));
    assert_int_equal(vipann_announce(v, "eth0", &a4, VIPANN_MAX_COUNT + 1, 100, err, sizeof(err)), -1);
    assert_int_equal(vipann_announce(v, "eth0", &a4, 2, VIPANN_MIN_INTERVAL_MS - 1, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "interval"));
    assert_int_equal(vipann_announce(v, "eth0", &a4, 2, VIPANN_MAX_INTERVAL_MS + 1, err, sizeof(err)), -1);
    assert_int_equal(vipann_announce(v, "eth0", &a4, 0, 100, NULL, 0), -1); /* no err buffer */
    const struct vipann_stats *st = vipann_get_stats(v);
    assert_int_equal(st->sent, 0);
    assert_false(vipann_active(v, &a4));
    assert_false(vipann_cancel(v, &a4));
    assert_false(vipann_cancel(v, NULL));
    assert_false(vipann_active(v, NULL));
    assert_int_equal(vipann_announce(NULL, "eth0", &a4, 1, 100, err, sizeof(err)), -1);
    assert_null(vipann_get_stats(NULL));
    vipann_free(v);
    vipann_free(NULL);
    loop_free(lp);
}

/* "lo" is not Ethernet: a round fails before sending, whatever the privileges. */
static void test_series_replace_cancel(void **state)
{
    (void)state;
    struct loop *lp = loop_new();
    struct vipann *v = vipann_new(lp, NULL, NULL);
    struct sipha_addr a4 = { .family = 4, .bytes = { 127, 0, 0, 99 } };
    char err[VIPANN_ERR_MAX] = "";
    int rc = vipann_announce(v, "lo", &a4, 5, 1000, err, sizeof(err));
    if (rc == -1) {
        /* no CAP_NET_RAW: refused at the socket, nothing scheduled */
        assert_non_null(strstr(err, "socket"));
        assert_false(vipann_active(v, &a4));
    } else {
        assert_int_equal(rc, 1);
        assert_non_null(strstr(err, "not Ethernet"));
        assert_true(vipann_active(v, &a4));
        /* same address again: the series is replaced, not doubled */
        assert_int_equal(vipann_announce(v, "lo", &a4, 5, 1000, err, sizeof(err)), 1);
        assert_true(vipann_cancel(v, &a4));
        assert_false(vipann_active(v, &a4));
        /* a single round leaves nothing scheduled */
        assert_int_equal(vipann_announce(v, "lo", &a4, 1, 0, err, sizeof(err)), 1);
        assert_false(vipann_active(v, &a4));
        /* a series left running is freed with the module */
        assert_int_equal(vipann_announce(v, "lo", &a4, 3, 1000, err, sizeof(err)), 1);
    }
    assert_int_equal(vipann_get_stats(v)->sent, 0);
    vipann_free(v);
    loop_free(lp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_garp_request),
        cmocka_unit_test(test_garp_reply),
        cmocka_unit_test(test_garp_bad),
        cmocka_unit_test(test_na),
        cmocka_unit_test(test_refused_arguments),
        cmocka_unit_test(test_series_replace_cancel),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
