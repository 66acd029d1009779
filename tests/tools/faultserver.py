#!/usr/bin/env python3
"""A small HTTP/1.1 server on loopback that serves files with Range and
injects faults, for the erofs-fetch tests: a test tool, not a product.

The fault is chosen by the URL; COUNT is how many requests of that exact
URL get the fault before it behaves (0 = always):

  /ok/NAME                 plain file with Range support
  /norange/NAME            ignores Range: 200 with the whole file
  /500/COUNT/NAME          HTTP 500
  /503/COUNT/NAME          HTTP 503 with Retry-After
  /reset/COUNT/NAME        closes the connection with a RST, no answer
  /resetmid/COUNT/NAME     sends half the body, then a RST
  /truncate/COUNT/NAME     Content-Length of the whole, half the body, close
  /nolen/COUNT/NAME        no Content-Length, half the body, close
  /500g/.., /resetg/..     the same for GETs only (HEAD answers)
  /slow/MS/COUNT/NAME      waits MS milliseconds before answering
  /wrongrange/COUNT/NAME   206 for the range shifted by one byte
  /longbody/COUNT/NAME     206 with the right Content-Range, a longer body
  /flip/OFFSET/NAME        GETs get the file with the byte at OFFSET
                           flipped (a doctored mirror); HEAD is right
  /lie200/COUNT/NAME       GETs ignore Range and answer 200 with another,
                           longer object (100 bytes more, in front)
  /lie206/COUNT/NAME       GETs answer 206 with the range of that longer
                           object, its size in Content-Range
  /drip/BPS/NAME           Range support, but the body trickles at BPS
                           bytes per second (a slow server, not a stalled one)
  /flaky/N/NAME            every Nth request fails, by turns with a 500,
                           a reset, a truncated body and a wrong range
  /403/NAME, /401/NAME     refusals
  anything missing         404

OCI emulation with bearer tokens (--registry REPO):
  /v2/REPO/blobs/sha256:HEX   401 + WWW-Authenticate: Bearer realm=...
                              unless "Authorization: Bearer <token>";
                              then 307 to /storage/NAME (a redirect, as to
                              a registry's storage)
  /v2/REPO/manifests/REF      the same 401 first; then the file
                              ROOT/tags/REF, or the file of digest REF
                              ("sha256:HEX"), with its mediaType as
                              Content-Type
  /token?service=..&scope=..  {"token": ..., "expires_in": TTL}; with
                              --token-auth USER:PASS it wants Basic auth;
                              with --token-ttl SECS a token is refused
                              (401) once it is older than that;
                              --expires-in SECS makes it claim another
  --delay-ms MS               an authorised blob request waits MS
Every request is logged as one line:
  METHOD PATH RANGE STATUS AUTH
"""
import argparse
import base64
import hashlib
import json
import os
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

ARGS = None
COUNTS = {}
LOCK = threading.Lock()
TOKENS = {}                     # token -> time it was issued


def log(line):
    with LOCK:
        with open(ARGS.log, "a") as f:
            f.write(line + "\n")


def hit(path):
    """how many times this URL was asked before (0 the first time)"""
    with LOCK:
        n = COUNTS.get(path, 0)
        COUNTS[path] = n + 1
        return n


def parse_range(h, size):
    if not h or not h.startswith("bytes="):
        return None
    a, _, b = h[6:].partition("-")
    if "," in b:
        return None
    a = int(a)
    b = int(b) if b else size - 1
    return a, min(b, size - 1)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def finish_log(self, status):
        auth = self.headers.get("Authorization", "-").split(" ")[0]
        log(f"{self.command} {self.path} {self.headers.get('Range', '-')} "
            f"{status} {auth}")

    def simple(self, status, body=b"", headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.finish_log(status)

    def rst(self):
        # SO_LINGER 0: close() sends a RST instead of a FIN
        self.wfile.flush()
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                   struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True

    def do_HEAD(self):
        self.handle_any()

    def do_GET(self):
        self.handle_any()

    def handle_any(self):
        url = urlsplit(self.path)
        parts = url.path.strip("/").split("/")
        if ARGS.registry and url.path.startswith("/v2/"):
            return self.registry(url.path)
        if url.path == "/token":
            return self.token(parse_qs(url.query))
        if parts[0] == "storage":
            return self.serve("/".join(parts[1:]), "ok")
        kind = parts[0]
        if kind in ("ok", "norange", "403", "401"):
            return self.serve("/".join(parts[1:]), kind)
        if kind == "slow":
            ms, count, name = int(parts[1]), int(parts[2]), parts[3:]
            if count == 0 or hit(url.path) < count:
                time.sleep(ms / 1000)
            return self.serve("/".join(name), "ok")
        if kind == "flip":
            offset, name = int(parts[1]), "/".join(parts[2:])
            return self.serve(name, "ok", flip=offset)
        if kind == "drip":
            return self.serve("/".join(parts[2:]), "ok", drip=int(parts[1]))
        if kind == "flaky":
            # request k of the URL fails when k % N == 1, in turn with a
            # 500, a reset, a truncated body and a wrong range
            n, name = int(parts[1]), "/".join(parts[2:])
            k = hit(url.path)
            faults = ["500", "reset", "truncate", "wrongrange"]
            fault = faults[(k // n) % 4] if k % n == 1 else "ok"
            return self.serve(name, fault)
        if len(parts) < 3:
            return self.simple(404, b"not found\n")
        count, name = int(parts[1]), "/".join(parts[2:])
        if kind.endswith("g") or kind.startswith("lie"):
            # "500g": GETs only, so the size (HEAD) is known first
            kind = kind[:-1] if kind.endswith("g") else kind
            if self.command == "HEAD":
                return self.serve(name, "ok")
        faulty = count == 0 or hit(url.path) < count
        return self.serve(name, kind if faulty else "ok")

    def serve(self, name, fault, flip=None, drip=0):
        path = os.path.join(ARGS.root, name)
        if fault == "403":
            return self.simple(403, b"forbidden\n")
        if fault == "401":
            return self.simple(401, b"no\n",
                               [("WWW-Authenticate", 'Basic realm="x"')])
        if fault in ("500", "503"):
            return self.simple(int(fault), b"oops\n",
                               [("Retry-After", "0")])
        if fault == "reset":
            self.finish_log("RST")
            return self.rst()
        if not name or ".." in name.split("/") or not os.path.isfile(path):
            return self.simple(404, b"not found\n")
        data = open(path, "rb").read()
        if flip is not None and self.command == "GET" and flip < len(data):
            data = data[:flip] + bytes([data[flip] ^ 1]) + data[flip + 1:]
        if fault in ("lie200", "lie206"):
            data = b"\0" * 100 + data
            fault = "norange" if fault == "lie200" else "ok"
        size = len(data)
        rng = None if fault == "norange" else \
            parse_range(self.headers.get("Range"), size)
        if rng and rng[0] >= size:
            return self.simple(416, b"", [("Content-Range", f"bytes */{size}")])
        status, first, last = (206, *rng) if rng else (200, 0, size - 1)
        if fault == "wrongrange" and rng:
            first, last = first + 1, min(last + 1, size - 1)
        body = data[first:last + 1]
        if fault == "longbody" and rng:
            body += b"EXTRA"
        self.send_response(status)
        if status == 206:
            self.send_header("Content-Range", f"bytes {first}-{last}/{size}")
        if fault == "nolen":
            self.send_header("Connection", "close")
            self.close_connection = True
        else:
            self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Type", "application/octet-stream")
        self.end_headers()
        self.finish_log(status)
        if self.command == "HEAD":
            return
        if drip:
            step = max(1, drip // 10)
            try:
                for i in range(0, len(body), step):
                    self.wfile.write(body[i:i + step])
                    self.wfile.flush()
                    time.sleep(0.1)
            except OSError:
                self.close_connection = True
            return
        if fault in ("truncate", "nolen", "resetmid"):
            self.wfile.write(body[:len(body) // 2])
            if fault == "resetmid":
                return self.rst()
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)

    def manifest(self, ref):
        p = os.path.join(ARGS.root, "tags", ref)
        if ref.startswith("sha256:"):
            p = self.find_blob(ref[7:])
        if not p or "/" in ref or not os.path.isfile(p):
            return self.simple(404, b'{"errors":[{"code":"MANIFEST_UNKNOWN"}]}')
        body = open(p, "rb").read()
        mt = json.loads(body).get("mediaType", "application/json")
        return self.simple(200, body, [("Content-Type", mt)])

    def find_blob(self, digest):
        for name in os.listdir(ARGS.root):
            p = os.path.join(ARGS.root, name)
            if os.path.isfile(p) and \
                    hashlib.sha256(open(p, "rb").read()).hexdigest() == digest:
                return p
        return None

    def registry(self, path):
        # /v2/REPO/blobs/sha256:HEX, /v2/REPO/manifests/REF
        prefix = f"/v2/{ARGS.registry}/blobs/sha256:"
        mprefix = f"/v2/{ARGS.registry}/manifests/"
        if not path.startswith(prefix) and not path.startswith(mprefix):
            return self.simple(404, b'{"errors":[{"code":"NAME_UNKNOWN"}]}')
        auth = self.headers.get("Authorization", "")
        with LOCK:
            issued = TOKENS.get(auth[7:]) if auth.startswith("Bearer ") \
                else None
        if issued is not None and ARGS.token_ttl and \
                time.monotonic() - issued > ARGS.token_ttl:
            issued = None
        if issued is None:
            host = f"127.0.0.1:{ARGS.port}"
            return self.simple(401, b'{"errors":[{"code":"UNAUTHORIZED"}]}', [(
                "WWW-Authenticate",
                f'Bearer realm="http://{host}/token",service="fault-registry",'
                f'scope="repository:{ARGS.registry}:pull"')])
        if path.startswith(mprefix):
            return self.manifest(path[len(mprefix):])
        # the token was checked on arrival, as a registry does
        if ARGS.delay_ms:
            time.sleep(ARGS.delay_ms / 1000)
        p = self.find_blob(path[len(prefix):])
        if p:
            name = os.path.basename(p)
            return self.simple(307, b"", [("Location", f"/storage/{name}")])
        return self.simple(404, b'{"errors":[{"code":"BLOB_UNKNOWN"}]}')

    def token(self, q):
        want = f"repository:{ARGS.registry}:pull"
        if q.get("service") != ["fault-registry"] or q.get("scope") != [want]:
            return self.simple(400, b'{"errors":"bad service or scope"}')
        if ARGS.token_auth:
            want_auth = "Basic " + base64.b64encode(
                ARGS.token_auth.encode()).decode()
            if self.headers.get("Authorization") != want_auth:
                return self.simple(401, b'{"errors":"bad credentials"}')
        with LOCK:
            tok = f"tok{len(TOKENS)}x" + os.urandom(8).hex()
            TOKENS[tok] = time.monotonic()
        body = json.dumps({"token": tok, "expires_in": ARGS.expires_in or
                           ARGS.token_ttl or 300}).encode()
        return self.simple(200, body, [("Content-Type", "application/json")])


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--root", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--registry", help="emulate an OCI registry for REPO")
    ap.add_argument("--token-auth", help="USER:PASS the token endpoint wants")
    ap.add_argument("--token-ttl", type=int, default=0,
                    help="tokens expire after SECS (and say so)")
    ap.add_argument("--expires-in", type=int, default=0,
                    help="the lifetime tokens claim (default: the real one)")
    ap.add_argument("--delay-ms", type=int, default=0,
                    help="blob requests wait this long first")
    ARGS = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", ARGS.port), Handler)
    srv.daemon_threads = True
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
