/* test_vip_lifetime.c — the RTM_NEWADDR replace request (REPLACE, never CREATE; the
 * address's own prefix length, flags, metric and protocol repeated; the lifetimes,
 * "forever" as the kernel's infinity), and viplft_set/viplft_get's refusals against
 * the real kernel without privileges: a read-only address dump, nothing changed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <errno.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>

#include "vip_lifetime.h"

struct parsed {
    const struct nlattr *tb[IFA_MAX + 1];
};

static int attr_cb(const struct nlattr *a, void *data)
{
    struct parsed *p = data;
    if (mnl_attr_get_type(a) <= IFA_MAX)
        p->tb[mnl_attr_get_type(a)] = a;
    return MNL_CB_OK;
}

static const struct nlmsghdr *build(uint32_t *buf, size_t len, const struct viplft_found *f, uint32_t lft,
                                    struct parsed *p)
{
    size_t n = viplft_build_replace(buf, len, 77, f, lft);
    assert_true(n > 0);
    const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
    assert_int_equal(nlh->nlmsg_len, n);
    memset(p, 0, sizeof(*p));
    assert_int_equal(mnl_attr_parse(nlh, sizeof(struct ifaddrmsg), attr_cb, p), MNL_CB_OK);
    return nlh;
}

static void test_replace_v4(void **state)
{
    (void)state;
    struct viplft_found f = { .ifindex = 7, .family = AF_INET, .prefix_len = 24, .scope = 0,
                              .flags = IFA_F_SECONDARY | IFA_F_PERMANENT,
                              .local = { 10, 9, 9, 100 }, .address = { 10, 9, 9, 100 },
                              .has_metric = 1, .metric = 300 };
    uint32_t buf[128];
    struct parsed p;
    const struct nlmsghdr *nlh = build(buf, sizeof(buf), &f, 6, &p);
    assert_int_equal(nlh->nlmsg_type, RTM_NEWADDR);
    assert_int_equal(nlh->nlmsg_flags, NLM_F_REQUEST | NLM_F_REPLACE | NLM_F_ACK);
    assert_int_equal(nlh->nlmsg_flags & NLM_F_CREATE, 0);
    assert_int_equal(nlh->nlmsg_seq, 77);
    const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
    assert_int_equal(ifa->ifa_family, AF_INET);
    assert_int_equal(ifa->ifa_prefixlen, 24);
    assert_int_equal(ifa->ifa_index, 7);
    assert_non_null(p.tb[IFA_LOCAL]);
    assert_non_null(p.tb[IFA_ADDRESS]);
    assert_memory_equal(mnl_attr_get_payload(p.tb[IFA_LOCAL]), f.local, 4);
    assert_int_equal(mnl_attr_get_payload_len(p.tb[IFA_LOCAL]), 4);
    const struct ifa_cacheinfo *ci = mnl_attr_get_payload(p.tb[IFA_CACHEINFO]);
    assert_int_equal(ci->ifa_valid, 6);
    assert_int_equal(ci->ifa_prefered, 6);
    assert_int_equal(mnl_attr_get_u32(p.tb[IFA_RT_PRIORITY]), 300);
    assert_null(p.tb[IFA_PROTO]);
    /* state flags (secondary, permanent) are the kernel's, not requested */
    assert_int_equal(mnl_attr_get_u32(p.tb[IFA_FLAGS]), 0);
}

static void test_replace_forever(void **state)
{
    (void)state;
    struct viplft_found f = { .ifindex = 3, .family = AF_INET, .prefix_len = 32,
                              .local = { 192, 0, 2, 1 }, .address = { 192, 0, 2, 1 } };
    uint32_t buf[128];
    struct parsed p;
    build(buf, sizeof(buf), &f, VIPLFT_FOREVER, &p);
    const struct ifa_cacheinfo *ci = mnl_attr_get_payload(p.tb[IFA_CACHEINFO]);
    assert_int_equal(ci->ifa_valid, 0xFFFFFFFFu);
    assert_int_equal(ci->ifa_prefered, 0xFFFFFFFFu);
    assert_null(p.tb[IFA_RT_PRIORITY]);
}

static void test_replace_v6_keeps_flags(void **state)
{
    (void)state;
    struct viplft_found f = { .ifindex = 9, .family = AF_INET6, .prefix_len = 64,
                              .flags = IFA_F_NODAD | IFA_F_NOPREFIXROUTE | IFA_F_PERMANENT | IFA_F_TENTATIVE,
                              .local = { 0xfd, [15] = 0x64 }, .address = { 0xfd, [15] = 0x64 },
                              .has_proto = 1, .proto = 4 };
    uint32_t buf[128];
    struct parsed p;
    const struct nlmsghdr *nlh = build(buf, sizeof(buf), &f, 2, &p);
    const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
    assert_int_equal(ifa->ifa_family, AF_INET6);
    assert_int_equal(ifa->ifa_prefixlen, 64);
    assert_null(p.tb[IFA_LOCAL]);  /* IPv6: the address goes in IFA_ADDRESS */
    assert_memory_equal(mnl_attr_get_payload(p.tb[IFA_ADDRESS]), f.local, 16);
    /* nodad and noprefixroute survive the replace; state flags are not sent */
    assert_int_equal(mnl_attr_get_u32(p.tb[IFA_FLAGS]), IFA_F_NODAD | IFA_F_NOPREFIXROUTE);
    assert_int_equal(mnl_attr_get_u8(p.tb[IFA_PROTO]), 4);
    /* a point-to-point address: IFA_LOCAL is ours, IFA_ADDRESS the peer */
    f.has_peer = 1;
    f.address[15] = 0x65;
    build(buf, sizeof(buf), &f, 2, &p);
    assert_memory_equal(mnl_attr_get_payload(p.tb[IFA_LOCAL]), f.local, 16);
    assert_memory_equal(mnl_attr_get_payload(p.tb[IFA_ADDRESS]), f.address, 16);
}

static void test_replace_bad(void **state)
{
    (void)state;
    struct viplft_found f = { .ifindex = 3, .family = AF_INET, .prefix_len = 32 };
    uint32_t buf[128];
    assert_int_equal(viplft_build_replace(buf, 16, 1, &f, 2), 0);
    assert_int_equal(viplft_build_replace(NULL, sizeof(buf), 1, &f, 2), 0);
    f.family = 0;
    assert_int_equal(viplft_build_replace(buf, sizeof(buf), 1, &f, 2), 0);
}

/* Against the kernel, read-only: the look-up refuses before any change is requested. */
static void test_refusals(void **state)
{
    (void)state;
    char err[256];
    struct viplft *v = viplft_open(err, sizeof(err));
    assert_non_null(v);
    struct sipha_addr lo4 = { .family = 4, .bytes = { 127, 0, 0, 1 } };
    struct sipha_addr absent = { .family = 4, .bytes = { 192, 0, 2, 77 } };
    struct sipha_addr bad = { .family = 3 };
    assert_int_equal(viplft_set(v, "lo", &bad, -1, 2, err, sizeof(err)), -EINVAL);
    assert_int_equal(viplft_set(v, "lo", NULL, -1, 2, err, sizeof(err)), -EINVAL);
    assert_int_equal(viplft_set(v, "lo", &lo4, 33, 2, err, sizeof(err)), -EINVAL);
    assert_int_equal(viplft_set(v, "", &lo4, -1, 2, err, sizeof(err)), -EINVAL);
    assert_int_equal(viplft_set(v, "a-name-that-is-too-long", &lo4, -1, 2, err, sizeof(err)), -EINVAL);
    assert_int_equal(viplft_set(v, "lo", &lo4, -1, VIPLFT_MAX_S + 1, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "limit"));
    assert_int_equal(viplft_set(v, "sipha-nonexist", &lo4, -1, 2, err, sizeof(err)), -ENODEV);
    assert_non_null(strstr(err, "does not exist"));
    assert_int_equal(viplft_set(NULL, "lo", &lo4, -1, 2, err, sizeof(err)), -EINVAL);
    /* absent address: -ENOENT, and it is still absent afterwards */
    assert_int_equal(viplft_set(v, "lo", &absent, -1, 2, err, sizeof(err)), -ENOENT);
    assert_non_null(strstr(err, "192.0.2.77 is not on lo"));
    struct viplft_info in;
    assert_int_equal(viplft_get(v, "lo", &absent, &in, err, sizeof(err)), -ENOENT);
    assert_int_equal(viplft_get(v, "lo", &lo4, NULL, err, sizeof(err)), -EINVAL);
    /* loopback's own address, where there is one: wrong prefix length refused */
    if (viplft_get(v, "lo", &lo4, &in, err, sizeof(err)) == 0) {
        assert_true(in.permanent);
        assert_int_equal(viplft_set(v, "lo", &lo4, in.prefix_len == 8 ? 9 : 8, 2, err, sizeof(err)), -ENOENT);
        assert_non_null(strstr(err, "prefix length"));
    }
    viplft_close(v);
    viplft_close(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replace_v4),
        cmocka_unit_test(test_replace_forever),
        cmocka_unit_test(test_replace_v6_keeps_flags),
        cmocka_unit_test(test_replace_bad),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
