#!/usr/bin/env python3
"""kam_probe.py — times registrations reaching the backup's Kamailio (bench/b_kamailio.sh).

  kam_probe.py incr  NS_CLIENT CLIENT_IP VIP NS_BACKUP RUNS DOMAIN FIRST
      RUNS times: one REGISTER of a new user (user kpFIRST, kpFIRST+1, ...) sent over
      UDP from NS_CLIENT to VIP:5060; from its 200 OK on, the backup's Kamailio
      (JSON-RPC on 127.0.0.1:5090 inside NS_BACKUP, one kept-alive connection) is
      asked for its contact count every 2 ms until it holds one more. Prints one line
      per run: milliseconds from the 200 OK to the count seen (and from the REGISTER).
  kam_probe.py until NS_BACKUP COUNT START_EPOCH TIMEOUT_S
      polls the same count every 5 ms until it is COUNT (connecting again while
      that Kamailio does not answer yet); prints the milliseconds since START_EPOCH
      (a wall-clock stamp taken by the caller), or "timeout".

The sockets are opened in the namespaces they belong to (setns), so one process
measures both ends with one clock. Root only.
"""
import ctypes
import http.client
import json
import os
import socket
import sys
import time

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL("libc.so.6", use_errno=True)


def enter(ns):
    fd = os.open("/run/netns/" + ns, os.O_RDONLY)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "setns " + ns)
    finally:
        os.close(fd)


class Backup:
    """The backup's Kamailio: its contact count over one HTTP/1.1 connection."""

    def __init__(self, ns):
        enter(ns)
        self.conn = http.client.HTTPConnection("127.0.0.1", 5090, timeout=5)
        self.conn.connect()

    def count(self):
        body = json.dumps({"jsonrpc": "2.0", "method": "stats.fetch",
                           "params": ["usrloc.location_contacts"], "id": 1})
        self.conn.request("POST", "/RPC", body, {"Content-Type": "application/json"})
        r = json.loads(self.conn.getresponse().read())["result"]
        return int(r["usrloc.location_contacts"])


def register(sock, vip, client_ip, port, user, domain, seq):
    call = "kp-%d-%d@%s" % (seq, os.getpid(), client_ip)
    msg = ("REGISTER sip:%s SIP/2.0\r\n"
           "Via: SIP/2.0/UDP %s:%d;rport;branch=z9hG4bK-kp%d-%d\r\n"
           "Max-Forwards: 70\r\n"
           "From: <sip:%s@%s>;tag=kp%d\r\n"
           "To: <sip:%s@%s>\r\n"
           "Call-ID: %s\r\n"
           "CSeq: 1 REGISTER\r\n"
           "Contact: <sip:%s@%s:%d>\r\n"
           "Expires: 3600\r\n"
           "Content-Length: 0\r\n\r\n") % (domain, client_ip, port, seq, os.getpid(), user, domain,
                                           seq, user, domain, call, user, client_ip, port)
    t_sent = time.time()
    sock.sendto(msg.encode(), (vip, 5060))
    while True:
        data = sock.recv(65535).decode(errors="replace")
        if call in data and data.startswith("SIP/2.0 200"):
            return t_sent, time.time()


def incr(ns_client, client_ip, vip, ns_backup, runs, domain, first):
    enter(ns_client)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((client_ip, 0))
    sock.settimeout(5)
    port = sock.getsockname()[1]
    backup = Backup(ns_backup)
    for i in range(runs):
        before = backup.count()
        t_sent, t_ok = register(sock, vip, client_ip, port, "kp%d" % (first + i), domain, i)
        while backup.count() <= before:
            if time.time() - t_ok > 5:
                print("timeout")
                break
            time.sleep(0.002)
        else:
            t_seen = time.time()
            print("%.2f %.2f" % ((t_seen - t_ok) * 1000, (t_seen - t_sent) * 1000))
        sys.stdout.flush()
        time.sleep(0.2)


def until(ns_backup, count, start, timeout):
    backup = None  # (the Kamailio being timed may not listen yet)
    seen = -1
    while time.time() - start < timeout:
        try:
            if backup is None:
                backup = Backup(ns_backup)
            seen = backup.count()
            if seen == count:
                print("%.1f" % ((time.time() - start) * 1000))
                return
        except (OSError, http.client.HTTPException):
            backup = None  # not up yet, or restarted under us: a new connection
        time.sleep(0.005)
    print("timeout (%d contacts)" % seen)


if __name__ == "__main__":
    a = sys.argv[1:]
    if a and a[0] == "incr" and len(a) == 8:
        incr(a[1], a[2], a[3], a[4], int(a[5]), a[6], int(a[7]))
    elif a and a[0] == "until" and len(a) == 5:
        until(a[1], int(a[2]), float(a[3]), float(a[4]))
    else:
        sys.stderr.write(__doc__)
        sys.exit(2)
