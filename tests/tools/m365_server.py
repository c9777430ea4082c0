#!/usr/bin/env python3
"""m365_server.py - a stand-in for Microsoft 365's IP address and URL web
service (endpoints.office.com), for the namespace suites: never the real
service.

    m365_server.py --data DIR --switch FILE --log FILE [--listen ADDR]
                   [--port N] [--tls CERT KEY]

DIR holds datasets, one directory each (tests/data/m365: v1, v2, ...)
with version.json, endpoints.json and changes.json. FILE names the
dataset served now, read at every request, so a test switches it by
writing the file; "429" in it instead answers every request with 429
Too Many Requests (Retry-After: 3600), as the service does to a client
that polls too often. Served, as the service does:

    /version/INSTANCE                 the dataset's version.json
    /endpoints/INSTANCE               its endpoints.json
    /changes/INSTANCE/VERSION         its changes.json (VERSION: ten digits)

each only for INSTANCE Worldwide (400 for another) and only with a
ClientRequestId parameter (400 without one). Each request is one line in
the log: "METHOD PATH clientrequestid=GUID|- status=N dataset=NAME".
"""
import argparse
import http.server
import os
import re
import ssl
import sys
import threading
import urllib.parse

LOCK = threading.Lock()


def make_handler(args):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "m365-stand-in/1"

        def log_message(self, fmt, *a):  # quiet: our own log below
            pass

        def record(self, status, guid, dataset):
            with LOCK, open(args.log, "a", encoding="utf-8") as f:
                f.write("%s %s clientrequestid=%s status=%d dataset=%s\n"
                        % (self.command, self.path, guid or "-", status,
                           dataset))

        def answer(self, status, body, ctype="application/json", extra=None):
            data = body.encode() if isinstance(body, str) else body
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            for k, v in (extra or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            url = urllib.parse.urlsplit(self.path)
            q = urllib.parse.parse_qs(url.query)
            guid = (q.get("ClientRequestId") or [None])[0]
            try:
                with open(args.switch, encoding="utf-8") as f:
                    dataset = f.read().strip()
            except OSError:
                dataset = ""
            status, body, extra = self.route(url.path, guid, dataset)
            self.record(status, guid, dataset)
            self.answer(status, body, extra=extra)

        def route(self, path, guid, dataset):
            if dataset == "429":
                return 429, '{"error":"Too Many Requests"}', {"Retry-After": "3600"}
            if not guid:
                return 400, '{"error":"ClientRequestId is required"}', None
            m = re.fullmatch(r"/(version|endpoints)/([A-Za-z]+)", path)
            m2 = re.fullmatch(r"/changes/([A-Za-z]+)/([0-9]{10})", path)
            if m:
                call, instance = m.group(1), m.group(2)
            elif m2:
                call, instance = "changes", m2.group(1)
            else:
                return 404, '{"error":"Not Found"}', None
            if instance != "Worldwide":
                return 400, '{"error":"unknown instance"}', None
            name = os.path.join(args.data, os.path.basename(dataset),
                                call + ".json")
            try:
                with open(name, "rb") as f:
                    return 200, f.read(), None
            except OSError:
                return 404, '{"error":"Not Found"}', None

    return Handler


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--switch", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--listen", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    args = ap.parse_args()
    srv = http.server.ThreadingHTTPServer((args.listen, args.port),
                                          make_handler(args))
    if args.tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls[0], args.tls[1])
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    print("listening on %s:%d" % (args.listen, args.port), flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
