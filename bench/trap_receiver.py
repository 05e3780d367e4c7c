#!/usr/bin/env python3
"""trap_receiver.py — a timestamping SNMPv2c trap receiver for the benchmarks.

    trap_receiver.py LOGFILE ADDR:PORT [ADDR:PORT...]

Every datagram is stamped with time.time() the moment recvfrom returns, decoded just
far enough to find snmpTrapOID.0 and the instance index (the last sub-identifier of
the first SIPHA-MIB varbind), and logged as one line, flushed at once:

    EPOCH_SECONDS LOCAL_PORT TRAP_OID INSTANCE

(INSTANCE is 0 when none is found; TRAP_OID is "?" for a datagram it cannot read).
snmptrapd's own time stamps have a resolution of one second, too coarse here.
"""
import select
import socket
import sys
import time

SNMP_TRAP_OID = "1.3.6.1.6.3.1.1.4.1.0"
SIPHA_OBJECTS = "1.3.6.1.4.1.32473.1.1."


def tlv(buf, pos):
    """(tag, value start, value end) of the BER element at pos."""
    tag = buf[pos]
    length = buf[pos + 1]
    pos += 2
    if length & 0x80:
        n = length & 0x7F
        length = int.from_bytes(buf[pos:pos + n], "big")
        pos += n
    if pos + length > len(buf):
        raise ValueError("truncated")
    return tag, pos, pos + length


def children(buf, start, end):
    while start < end:
        tag, vs, ve = tlv(buf, start)
        yield tag, vs, ve
        start = ve


def oid_text(raw):
    first = raw[0]
    parts = [str(min(first // 40, 2)), str(first - 40 * min(first // 40, 2))]
    val = 0
    for b in raw[1:]:
        val = (val << 7) | (b & 0x7F)
        if not b & 0x80:
            parts.append(str(val))
            val = 0
    return ".".join(parts)


def decode(buf):
    """(trap OID, instance index) of an SNMPv2 trap or inform."""
    _, ms, me = tlv(buf, 0)
    items = list(children(buf, ms, me))
    pdu_tag, ps, pe = items[2]
    if pdu_tag not in (0xA7, 0xA6):
        return "?", 0
    fields = list(children(buf, ps, pe))
    _, vls, vle = fields[3]
    trap, inst = "?", 0
    for _, bs, be in children(buf, vls, vle):
        (ot, os_, oe), (vt, vs, ve) = list(children(buf, bs, be))[:2]
        name = oid_text(buf[os_:oe])
        if name == SNMP_TRAP_OID and vt == 0x06:
            trap = oid_text(buf[vs:ve])
        elif inst == 0 and name.startswith(SIPHA_OBJECTS):
            inst = int(name.rsplit(".", 1)[1])
            # table rows carry (instance, row): the instance is the first index
            parts = name[len(SIPHA_OBJECTS):].split(".")
            if len(parts) >= 4:
                inst = int(parts[3])
    return trap, inst


def main():
    log = open(sys.argv[1], "a", buffering=1)
    socks = {}
    for spec in sys.argv[2:]:
        host, port = spec.rsplit(":", 1)
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((host, int(port)))
        socks[s.fileno()] = (s, int(port))
    log.write("# ready\n")
    poller = select.poll()
    for fd in socks:
        poller.register(fd, select.POLLIN)
    while True:
        for fd, _ in poller.poll():
            s, port = socks[fd]
            data, _ = s.recvfrom(65535)
            now = time.time()
            try:
                trap, inst = decode(data)
            except (ValueError, IndexError):
                trap, inst = "?", 0
            log.write("%.6f %d %s %d\n" % (now, port, trap, inst))


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
