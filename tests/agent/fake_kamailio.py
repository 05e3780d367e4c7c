#!/usr/bin/env python3
"""fake_kamailio.py — the two interfaces of Kamailio that sipha's contact source uses,
on loopback, with faults on demand (tests/agent/test_contact_source.sh).

    fake_kamailio.py rpc PORT DIR     JSON-RPC over HTTP (POST /RPC): ul.dump, ul.lookup,
                                      ul.add, ul.rm_contact
    fake_kamailio.py evapi PORT DIR   the evapi hint stream (netstrings), as a server

DIR holds the state the test changes while these run:
    DIR/contacts   one contact per line: "AOR URI EXPIRES" (what the location table holds;
                   ul.add and ul.rm_contact change it)
    DIR/mode       how the RPC answers: ok | junk | slow | huge  (read at each request)
    DIR/hints      one hint per line, sent as a netstring to every connected client
                   (each line once, in order; the file is only appended to)
    DIR/requests   the RPC writes one line per request: the method
Replies follow Kamailio 5.6's shapes (tests/data/kamailio/)."""
import json
import os
import socket
import socketserver
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer


def read(path, default=""):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return default


TABLE_LOCK = threading.Lock()  # ul.add and ul.rm_contact rewrite DIR/contacts


def write_table(d, keep, add=None):
    """DIR/contacts less the lines keep() refuses, plus `add` (a line)."""
    path = os.path.join(d, "contacts")
    lines = [ln for ln in read(path).splitlines() if keep(ln.split())]
    if add:
        lines.append(add)
    with open(path + ".tmp", "w") as f:
        f.write("".join(ln + "\n" for ln in lines))
    os.replace(path + ".tmp", path)


def contacts(d):
    table = {}
    for line in read(os.path.join(d, "contacts")).splitlines():
        parts = line.split()
        if len(parts) == 3:
            table.setdefault(parts[0], []).append({"Contact": {
                "Address": parts[1], "Expires": int(parts[2]), "Q": -1, "Flags": 0,
                "CFlags": 0, "Methods": 4294967295, "Socket": "udp:127.0.0.1:5060"}})
    return table


class Rpc(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as Kamailio's xhttp

    def log_message(self, *args):
        pass

    def send(self, body):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        d = self.server.dir
        req = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
        method, rid = req.get("method"), req.get("id")
        with open(os.path.join(d, "requests"), "a") as f:
            f.write(method + "\n")
        mode = read(os.path.join(d, "mode"), "ok").strip()
        if mode == "junk":
            self.send(b'{"jsonrpc":"2.0","result":{"AoR": [}}}')
            return
        if mode == "slow":
            time.sleep(30)  # beyond the agent's timeout
            return
        if mode == "huge":  # valid JSON, 70 MB of it, beyond the agent's reply cap
            head, tail = b'{"jsonrpc":"2.0","id":%d,"result":' % rid, b'{}}'
            pad = b" " * (1 << 20)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(head) + 70 * len(pad) + len(tail)))
            self.end_headers()
            try:
                self.wfile.write(head)
                for _ in range(70):
                    self.wfile.write(pad)
                self.wfile.write(tail)
            except OSError:
                pass  # the agent gave up on it, as it should
            return
        table = contacts(d)
        if method == "ul.dump":
            aors = [{"Info": {"AoR": a, "HashID": 1, "Contacts": c}} for a, c in table.items()]
            out = {"jsonrpc": "2.0", "id": rid, "result": {"Domains": [{"Domain": {
                "Domain": "location", "Size": 1024, "AoRs": aors}}]}}
        elif method in ("ul.add", "ul.rm_contact"):
            # params: table, AOR, URI[, expires, ...]
            p = req.get("params", [])
            aor, uri = p[1], p[2]

            def other(parts):
                return len(parts) != 3 or parts[0] != aor or parts[1] != uri
            with TABLE_LOCK:
                found = not all(other(ln.split()) for ln in read(os.path.join(d, "contacts")).splitlines())
                if method == "ul.add":
                    write_table(d, other, "%s %s %d" % (aor, uri, p[3] if p[3] else 3600))
                elif found:
                    write_table(d, other)
            if method == "ul.rm_contact" and not found:
                out = {"jsonrpc": "2.0", "id": rid, "error": {"code": 404, "message": "Contact not found"}}
            else:
                out = {"jsonrpc": "2.0", "id": rid, "result": {}}
        elif method == "ul.lookup":
            aor = req["params"][1]
            if aor in table:
                out = {"jsonrpc": "2.0", "id": rid, "result": {"AoR": aor, "Contacts": table[aor]}}
            else:
                out = {"jsonrpc": "2.0", "id": rid,
                       "error": {"code": 500, "message": "AOR not found in location table"}}
        else:
            out = {"jsonrpc": "2.0", "id": rid, "error": {"code": 500, "message": "Method Not Found"}}
        self.send(json.dumps(out).encode())


class ThreadedHTTP(socketserver.ThreadingMixIn, HTTPServer):
    daemon_threads = True


def serve_rpc(port, d):
    srv = ThreadedHTTP(("127.0.0.1", port), Rpc)
    srv.dir = d
    srv.serve_forever()


def serve_evapi(port, d):
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", port))
    lsock.listen(4)
    clients, lock = [], threading.Lock()

    def accept():
        while True:
            c, _ = lsock.accept()
            with lock:
                clients.append(c)

    threading.Thread(target=accept, daemon=True).start()
    sent = 0
    while True:
        lines = read(os.path.join(d, "hints")).splitlines()
        for line in lines[sent:]:
            data = line.encode()
            frame = b"%d:%s," % (len(data), data)
            with lock:
                for c in list(clients):
                    try:
                        c.sendall(frame)
                    except OSError:
                        clients.remove(c)
        sent = max(sent, len(lines))
        time.sleep(0.02)


if __name__ == "__main__":
    kind, port, d = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    (serve_rpc if kind == "rpc" else serve_evapi)(port, d)
