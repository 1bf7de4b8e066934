#!/usr/bin/env python3
"""fake_havend.py SOCKET PORTFILE LOG - a stand-in for havend's wire protocol
(SERVER-SPEC.md) to test the client (`haven --server`) without the daemon.

Listens on the Unix socket SOCKET and on 127.0.0.1 (its port written to
PORTFILE); appends one JSON line per request to LOG (method, path, headers,
body).  Password "correct horse 1" and code "123456" are right; POST /v1/run
echoes what it got in stdout, and answers by an argument:
  FAIL  -> exit 65 (HTTP 422) with a stderr line
  HTML  -> a non-JSON page (HTTP 502)
  EVIL  -> outputs outside the typed paths
  other -> exit 0; every path after --out/--html gets "written by the server\\n"
           (a CSV --out DIR gets DIR/cases.csv and DIR/persons.csv).
"""
import json
import os
import socketserver
import sys
import threading
from http.server import BaseHTTPRequestHandler

TOKEN = "hv1." + "A" * 43
PASSWORD = "correct horse 1"
CODE = "123456"
revoked = set()
log_lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, obj, raw=None):
        body = raw if raw is not None else json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html" if raw else "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def who(self):
        auth = self.headers.get("Authorization")
        if auth is None:
            return ("peeruser", "administrator", "peer") if self.server.unix else None
        tok = auth[len("Bearer "):] if auth.startswith("Bearer ") else ""
        if tok == TOKEN and tok not in revoked:
            return ("amal", "caseworker", "token")
        if tok.count(".") == 2:
            return ("oidcuser", "supervisor", "oidc")
        return None

    def handle_one(self, method):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        body = json.loads(raw) if raw else None
        with log_lock, open(self.server.log, "a") as f:
            f.write(json.dumps({"method": method, "path": self.path,
                                "auth": self.headers.get("Authorization"),
                                "body": body}) + "\n")
        p = self.path
        if p == "/v1/login":
            if body.get("password") == PASSWORD:
                return self.answer(200, {"token": TOKEN, "user": body["login"],
                                         "role": "caseworker",
                                         "expires": "2026-11-28T17:00:00Z"})
            return self.answer(401, {"error": "login: refused", "exit": 77})
        if p == "/v1/enrol":
            if body.get("code") == CODE and len(body.get("password", "")) >= 10:
                return self.answer(200, {"user": body["login"]})
            return self.answer(403, {"error": "enrol: refused", "exit": 77})
        who = self.who()
        if who is None:
            return self.answer(401, {"error": "not authenticated", "exit": 77})
        if p == "/v1/whoami":
            return self.answer(200, {"user": who[0], "role": who[1], "via": who[2]})
        if p == "/v1/logout":
            revoked.add(self.headers.get("Authorization", "")[7:])
            return self.answer(200, {"user": who[0]})
        if p == "/v1/run":
            argv = body["argv"]
            if "HTML" in argv:
                return self.answer(502, None, b"<html>bad gateway</html>")
            outs = {}
            if "EVIL" in argv:
                outs = {"/tmp/haven-evil-output": "x", "../evil": "x", "evil.txt": "x"}
            for i, a in enumerate(argv[:-1]):
                if a in ("--out", "--html"):
                    if "csv" in argv:
                        for t in ("cases", "persons"):
                            outs[argv[i + 1] + "/" + t + ".csv"] = "id\n1\n"
                    else:
                        outs[argv[i + 1]] = "written by the server\n"
            echo = {"argv": argv, "json": body["json"], "purpose": body["purpose"],
                    "inputs": body["inputs"], "user": who[0]}
            if "FAIL" in argv:
                return self.answer(422, {"exit": 65, "stdout": "",
                                         "stderr": "haven: fail: bad data\n",
                                         "outputs": {}})
            return self.answer(200, {"exit": 0, "stdout": json.dumps(echo) + "\n",
                                     "stderr": "", "outputs": outs})
        return self.answer(404, {"error": "no such route", "exit": 69})

    def do_GET(self):
        self.handle_one("GET")

    def do_POST(self):
        self.handle_one("POST")


class UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    unix = True

    def get_request(self):
        req, _ = super().get_request()
        return req, ("unix", 0)


class TcpServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    unix = False


def main():
    sock, portfile, log = sys.argv[1:4]
    u = UnixServer(sock, Handler)
    t = TcpServer(("127.0.0.1", 0), Handler)
    for s in (u, t):
        s.log = log
    threading.Thread(target=t.serve_forever, daemon=True).start()
    with open(portfile + ".tmp", "w") as f:
        f.write(str(t.server_address[1]))
    os.rename(portfile + ".tmp", portfile)
    u.serve_forever()


if __name__ == "__main__":
    main()
