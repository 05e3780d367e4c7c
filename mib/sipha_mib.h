/* sipha_mib.h — the C view of SIPHA-MIB's object identifiers.
 *
 * SIPHA_MIB_ARC is the placeholder arc (enterprises.32473, the IANA enterprise number
 * reserved for documentation, RFC 5612) until sipha has its own enterprise number.
 * It is defined here for C and in mib/SIPHA-MIB.txt for SMI; `make lint` checks that
 * both say the same. To move the MIB: change both, rebuild, run `make lint`. */
#ifndef SIPHA_MIB_H
#define SIPHA_MIB_H

#define SIPHA_MIB_ARC 1, 3, 6, 1, 4, 1, 32473, 1
#define SIPHA_MIB_ARC_LEN 8

/* siphaMIB.0 = siphaNotifications, siphaMIB.1 = siphaObjects, siphaMIB.2 = siphaConformance */
#define SIPHA_NOTIFICATIONS SIPHA_MIB_ARC, 0
#define SIPHA_OBJECTS SIPHA_MIB_ARC, 1

/* Tables under siphaObjects; each entry is table.1 */
enum sipha_table_id {
    SIPHA_T_INSTANCE = 1, /* siphaInstanceTable  {siphaInstIndex} */
    SIPHA_T_NIC = 2,      /* siphaNicTable       {siphaInstIndex, siphaNicIndex} */
    SIPHA_T_VIP = 3,      /* siphaVipTable       {siphaInstIndex, siphaVipIndex} */
    SIPHA_T_DN = 4,       /* siphaServiceDnTable {siphaInstIndex, siphaDnIndex} */
    SIPHA_T_CONTACT = 5,  /* siphaContactTable   {siphaInstIndex, siphaContactIndex} */
    SIPHA_T_EVENT = 6,    /* siphaEventTable     {siphaInstIndex, siphaEventIndex} */
};

/* siphaInstanceEntry columns (1 = siphaInstIndex, not-accessible) */
enum sipha_inst_col {
    INST_COL_INDEX = 1,
    INST_COL_NAME = 2,                 /* DisplayString */
    INST_COL_ROLE = 3,                 /* SiphaRole */
    INST_COL_STATUS = 4,               /* SiphaStatus */
    INST_COL_PRIORITY = 5,             /* Unsigned32 */
    INST_COL_EPOCH = 6,                /* Unsigned32 */
    INST_COL_SIP_ADDR_TYPE = 7,        /* InetAddressType */
    INST_COL_SIP_ADDR = 8,             /* InetAddress */
    INST_COL_SIP_PORT = 9,             /* InetPortNumber */
    INST_COL_LISTENER_BOUND = 10,      /* TruthValue */
    INST_COL_SIP_TRAFFIC_STATE = 11,   /* unknown(1) flowing(2) lost(3) notMonitored(4) */
    INST_COL_SIP_MSGS_IN = 12,         /* Counter64 */
    INST_COL_LAST_SIP_MSG_TIME = 13,   /* TimeStamp */
    INST_COL_OOS_TIMEOUT_BASE = 14,    /* Unsigned32 seconds */
    INST_COL_OOS_TIMEOUT_EFF = 15,     /* Unsigned32 seconds */
    INST_COL_BACKOFF_FACTOR = 16,      /* Unsigned32 1|2|4 */
    INST_COL_SWITCHOVERS = 17,         /* Counter32 */
    INST_COL_DOUBLE_SWITCHOVERS = 18,  /* Counter32 */
    INST_COL_LAST_SWITCHOVER_TIME = 19,/* TimeStamp */
    INST_COL_LAST_SWITCHOVER_REASON = 20, /* SiphaSwitchoverReason */
    INST_COL_PEER_NAME = 21,           /* DisplayString */
    INST_COL_PEER_ROLE = 22,           /* SiphaRole */
    INST_COL_PEER_STATUS = 23,         /* SiphaStatus */
    INST_COL_PEER_LINK_STATE = 24,     /* notConfigured(1) up(2) down(3) */
    INST_COL_PEER_LAST_SEEN = 25,      /* TimeStamp */
    INST_COL_ARBITER_STATE = 26,       /* notConfigured(1) reachable(2) unreachable(3) */
    INST_COL_OPT_SIP_PASS_CHECK = 27,  /* TruthValue, read-write */
    INST_COL_OPT_CONTROL_VIP_SCRIPTS = 28, /* TruthValue, read-write */
    INST_COL_OPT_IPTAKEOVER_MON = 29,  /* TruthValue, read-write */
    INST_COL_OPT_TLIB_NIC_MON = 30,    /* TruthValue, read-write */
    INST_COL_OPT_SIP_NIC_MON = 31,     /* TruthValue, read-write */
    INST_COL_ADMIN_COMMAND = 32,       /* none(1) switchover(2) becomePrimary(3) becomeBackup(4), read-write */
    INST_COL_ADMIN_RESULT = 33,        /* none(1) inProgress(2) success(3) failed(4) refused(5) */
    INST_COL_ADMIN_TIME = 34,          /* TimeStamp */
    INST_COL_EVENT_LOG_SIZE = 35,      /* Gauge32 */
    INST_COL_EVENT_LOG_LIMIT = 36,     /* Unsigned32 */
    INST_COL_EVENT_LOG_DROPPED = 37,   /* Counter32 */
    INST_COL_NOTIFS_QUEUED = 38,       /* Gauge32: waiting for the master */
    INST_COL_NOTIFS_DROPPED = 39,      /* Counter32: queue overflow */
    /* 40 withdrawn (siphaInstHaLinkMessage, the SNMP-borne HA link) */
    INST_COL_HA_LINK_IN = 41,          /* Counter64: datagrams accepted from the peer */
    INST_COL_HA_LINK_OUT = 42,         /* Counter64: datagrams sent to the peer */
    INST_COL_HA_LINK_AUTH_FAILURES = 43, /* Counter32: wrong HMAC */
    INST_COL_HA_LINK_BAD = 44,         /* Counter32: every other refused datagram */
    INST_COL_PEER_HEARS_US = 45,       /* TruthValue */
    INST_COL_STATE_DIR_STATUS = 46,    /* ok(1) failed(2) notConfigured(3) */
    INST_COL_SIP_SERVER_KIND = 47,     /* generic(1) kamailio(2) */
    INST_COL_CONTACT_SOURCE_STATE = 48, /* notConfigured(1) up(2) down(3) */
    INST_COL_CONTACT_SOURCE_FAILURES = 49, /* Counter32: refused RPC replies, event-stream losses */
    INST_COL_CONTACTS_WRITTEN = 50,    /* Counter32: backup writes into the local SIP server */
    INST_COL_ARBITER_KIND = 51,        /* none(1) http(2) etcd(3) */
    INST_COL_ARBITER_ENDPOINT = 52,    /* DisplayString: URL, or the etcd member in use */
    INST_COL_ARBITER_LEASE_ID = 53,    /* DisplayString: hex, "" without a lease */
    INST_COL_ARBITER_LEASE_TTL = 54,   /* Unsigned32 seconds */
    INST_COL_ARBITER_LAST_RENEWAL = 55, /* TimeStamp */
    INST_COL_ARBITER_LOCK_HELD = 56,   /* TruthValue */
    INST_COL_ARBITER_HOLDER = 57,      /* DisplayString: the key's value, "" for none */
    INST_COL_ARBITER_FAILURES = 58,    /* Counter32: outages + takes/releases that reached none */
    INST_COL_ARBITER_LOCK_LOSSES = 59, /* Counter32 */
    INST_COL_LAST = 59,
};

enum sipha_nic_col {
    NIC_COL_INDEX = 1,
    NIC_COL_PURPOSE = 2,    /* management(1) sip(2) */
    NIC_COL_IFINDEX = 3,    /* Integer32 (0..2147483647), 0 = not present */
    NIC_COL_NAME = 4,       /* DisplayString */
    NIC_COL_ADDR_TYPE = 5,  /* InetAddressType */
    NIC_COL_ADDR = 6,       /* InetAddress */
    NIC_COL_OPER_STATE = 7, /* unknown(1) up(2) down(3) */
    NIC_COL_LAST_CHANGE = 8,/* TimeStamp */
    NIC_COL_FAILURES = 9,   /* Counter32 */
    NIC_COL_LAST = 9,
};

enum sipha_vip_col {
    VIP_COL_INDEX = 1,
    VIP_COL_ADDR_TYPE = 2,  /* InetAddressType */
    VIP_COL_ADDR = 3,       /* InetAddress */
    VIP_COL_INTERFACE = 4,  /* DisplayString */
    VIP_COL_EXPECTED = 5,   /* present(1) absent(2) */
    VIP_COL_ACTUAL = 6,     /* unknown(1) present(2) absent(3) */
    VIP_COL_STATUS = 7,     /* ok(1) mismatch(2) failed(3) notMonitored(4) */
    VIP_COL_SCRIPT_RUNS = 8,/* Counter32 */
    VIP_COL_LAST_EXIT = 9,  /* Integer32, -1 = never ran, 128+N = killed by signal N */
    VIP_COL_LAST_CHANGE = 10, /* TimeStamp */
    VIP_COL_LAST = 10,
};

enum sipha_dn_col {
    DN_COL_INDEX = 1,
    DN_COL_NAME = 2,        /* DisplayString */
    DN_COL_URI = 3,         /* DisplayString (SIP URI) */
    DN_COL_OOS_CHECK = 4,   /* Unsigned32 seconds */
    DN_COL_OOS_FORCE = 5,   /* Unsigned32 seconds */
    DN_COL_STATE = 6,       /* unknown(1) inService(2) outOfService(3) */
    DN_COL_LAST_RESP_TIME = 7, /* TimeStamp */
    DN_COL_LAST_STATUS = 8, /* Unsigned32 (0..699), 0 = none yet */
    DN_COL_RTT = 9,         /* Unsigned32 microseconds */
    DN_COL_PROBES = 10,     /* Counter32 */
    DN_COL_TIMEOUTS = 11,   /* Counter32 */
    DN_COL_LAST = 11,
};

enum sipha_contact_col {
    CONTACT_COL_INDEX = 1,
    CONTACT_COL_AOR = 2,    /* DisplayString */
    CONTACT_COL_URI = 3,    /* DisplayString */
    CONTACT_COL_EXPIRY = 4, /* Unsigned32 seconds left */
    CONTACT_COL_ORIGIN = 5, /* local(1) synced(2) */
    CONTACT_COL_LAST = 5,
};

enum sipha_event_col {
    EVENT_COL_INDEX = 1,
    EVENT_COL_ID = 2,        /* DisplayString "00-52027" */
    EVENT_COL_CODE = 3,      /* Unsigned32 52027 */
    EVENT_COL_SEVERITY = 4,  /* alarm(1) standard(2) interaction(3) trace(4) debug(5) */
    EVENT_COL_TIME = 5,      /* TimeStamp */
    EVENT_COL_DATE_TIME = 6, /* DateAndTime */
    EVENT_COL_TEXT = 7,      /* DisplayString */
    EVENT_COL_NOTIFICATION = 8, /* OBJECT IDENTIFIER of the notification sent, 0.0 if none */
    EVENT_COL_ALARM_STATE = 9,  /* notAlarm(1) active(2) cleared(3); read-write: only cleared(3) */
    EVENT_COL_LAST = 9,
};

#endif
