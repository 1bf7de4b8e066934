#!/usr/bin/env python3
"""fake_sync_server.py - a stand-in for havend's POST /v1/sync, for
tests/cli/test_laptop_sync.sh: the laptop's side of SYNC-SPEC.md tested on
its own.  It answers enrol (one code), checkout (the caseload of an export
file made by `haven export`, the workflow, the stored rule pack, the users)
and upload, where it checks every entry's chain and HMAC itself (written
here from the ENTRY rule, independently of the engine) and refuses any
break with 65.  Files in its folder steer it: "revoke" (every op answers
revoked), "update_once" (the next upload answers "update", once).  Each
applied entry is logged to applied.log as "seq kind ref".

usage: fake_sync_server.py DIR CODE WORKFLOW EXPORT SERVER_DB
(writes the port to DIR/port once listening)."""
import hashlib, hmac, json, os, secrets, sqlite3, sys
from http.server import BaseHTTPRequestHandler, HTTPServer

DIR, CODE, WORKFLOW, EXPORT, SERVER_DB = sys.argv[1:6]
state = {"secret": None, "device": None, "last_seq": 0, "head": "", "hashes": {}}
KEY = secrets.token_hex(32)


def dumps(o):
    return json.dumps(o, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def entry_hash(secret_hex, entry):
    body = {k: v for k, v in entry.items() if k != "hash"}
    msg = (entry["prev"] + "\n" + dumps(body)).encode()
    return hmac.new(bytes.fromhex(secret_hex), msg, hashlib.sha256).hexdigest()


def checkout(req):
    export = json.load(open(EXPORT))
    refs = [c["ref"] for c in export["cases"]]
    versions = {c["ref"]: c["case"]["version"] for c in export["cases"]}
    db = sqlite3.connect(SERVER_DB)
    row = db.execute("SELECT name, version, hash, source FROM rule_packs"
                     " ORDER BY id DESC LIMIT 1").fetchone()
    users = [{"login": l, "role": r, "active": True} for l, r in
             db.execute("SELECT login, role FROM users ORDER BY id")]
    schema = db.execute("PRAGMA user_version").fetchone()[0]
    db.close()
    have = req.get("have", {})
    return 200, {
        "op": "checkout", "device": state["device"], "user": "amal",
        "versions": {"schema": schema, "workflow": "wf", "pack": row[2]},
        "agency": {"code": "CP", "name": "CP"}, "ref_pattern": "AGENCY-YYYY-NNNNN",
        "simulated": True, "now": 1795856400, "workflow": open(WORKFLOW).read(),
        "pack": {"name": row[0], "version": row[1], "hash": row[2], "source": row[3]},
        "key": KEY, "users": users, "export": export, "server_versions": versions,
        "changed": {"new": [r for r in refs if r not in have],
                    "changed": [r for r in refs if r in have and have[r] != versions[r]],
                    "gone": [r for r in have if r not in versions]},
        "device_state": {"last_seq": state["last_seq"], "head": state["head"]}}


def refuse(why):
    return 400, {"error": "sync upload refused: " + why, "exit": 65}


def upload(req):
    if os.path.exists(os.path.join(DIR, "update_once")):
        os.unlink(os.path.join(DIR, "update_once"))
        return 409, {"error": "sync: the server's versions changed: update first",
                     "exit": 65, "status": "update", "versions": {}}
    entries, results = req["entries"], []
    last, head = state["last_seq"], state["head"]
    for e in entries:   # the whole upload verified before anything applies
        if e["seq"] <= state["last_seq"]:
            if state["hashes"].get(e["seq"]) != e["hash"]:
                return refuse("entry %d differs from the one received" % e["seq"])
            continue
        if e["seq"] != last + 1 or e["prev"] != head:
            return refuse("entry %d breaks the chain" % e["seq"])
        if entry_hash(state["secret"], e) != e["hash"]:
            return refuse("entry %d: hash" % e["seq"])
        last, head = e["seq"], e["hash"]
    if req["head"] != head:
        return refuse("head")
    with open(os.path.join(DIR, "applied.log"), "a") as log:
        for e in entries:
            if e["seq"] <= state["last_seq"]:
                results.append({"seq": e["seq"], "outcome": "already", "ref": e["ref"]})
                continue
            log.write("%d %s %s\n" % (e["seq"], e["kind"], e["ref"]))
            state["hashes"][e["seq"]] = e["hash"]
            results.append({"seq": e["seq"], "outcome": "applied", "ref": e["ref"]})
    state["last_seq"], state["head"] = last, head
    return 200, {"op": "upload", "results": results, "last_seq": last, "head": head}


def serve(req):
    op = req.get("op")
    if os.path.exists(os.path.join(DIR, "revoke")):
        return 403, {"error": "sync: this device is revoked", "exit": 77,
                     "status": "revoked"}
    if op == "enrol":
        if req.get("code") != CODE or state["secret"]:
            return 403, {"error": "sync: enrol refused", "exit": 77}
        state["secret"], state["device"] = secrets.token_hex(32), req["device"]
        return 200, {"op": "enrol", "device": req["device"], "secret": state["secret"]}
    if req.get("device") != state["device"] or req.get("secret") != state["secret"]:
        return 403, {"error": "sync: unknown device", "exit": 77}
    return checkout(req) if op == "checkout" else upload(req)


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        status, answer = (404, {"error": "no such route", "exit": 69})
        if self.path == "/v1/sync":
            status, answer = serve(json.loads(body))
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


httpd = HTTPServer(("127.0.0.1", 0), Handler)
with open(os.path.join(DIR, "port.tmp"), "w") as f:
    f.write(str(httpd.server_address[1]))
os.rename(os.path.join(DIR, "port.tmp"), os.path.join(DIR, "port"))
httpd.serve_forever()
