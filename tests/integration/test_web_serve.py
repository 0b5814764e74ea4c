#!/usr/bin/python3
"""varskod serves the browser client from web_root (docs/OPERATIONS.md "The web client").

A temporary web_root holds index.html, content-hashed assets (one with a
.gz sibling made by gzip), a 300 KiB file, files in subdirectories, a
symbolic link, a dotfile and a .gz without its file. A real varskod with
web_root set answers over HTTPS (checked with the test CA): every file with
its exact bytes and content type; the security headers (CSP with the
configured origins in connect-src, HSTS, nosniff, no-referrer, DENY,
COOP, CORP, Permissions-Policy) on every answer, 404 and 304 included;
the cache policy (immutable under assets/, no-cache elsewhere); HEAD
without a body; 304 for a matching If-None-Match; the gzip variant only
when it is asked for, with Vary; 404 for unknown paths, traversal, "//",
the link, the dotfile and the .gz files; 405 with Allow for POST; the big
file complete, also over one kept-alive connection. A WebSocket upgrade
from another site's page (Origin https://evil.example) is refused; one
from the page's own origin completes the varsko.v1 handshake (hello), and
one without an Origin header still does. Without web_root, / is the old
plain page; a web_root that does not exist stops varskod (and
--check-config) with "FILE:LINE: web_root: ...".
"""

import asyncio
import gzip
import hashlib
import http.client
import os
import ssl
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from flowlib import out_of  # noqa: E402

HEADERS = {
    "strict-transport-security": "max-age=31536000",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
}
CSP_FIXED = ["default-src 'self'", "script-src 'self' 'wasm-unsafe-eval'", "style-src 'self'",
             "img-src 'self' data:", "font-src 'self'", "worker-src 'self'", "manifest-src 'self'",
             "frame-ancestors 'none'", "base-uri 'none'", "form-action 'none'", "object-src 'none'",
             "require-trusted-types-for 'script'", "trusted-types varsko"]
IMMUTABLE = "public, max-age=31536000, immutable"

# path under web_root -> (bytes, Content-Type it must be served with)
INDEX = b"<!doctype html><html><head><script src=\"/assets/app-abc123.js\"></script></head><body></body></html>\n"
APP_JS = b"export const x = 1;\n" * 400
FILES = {
    "index.html": (INDEX, "text/html; charset=utf-8"),
    "assets/app-abc123.js": (APP_JS, "text/javascript; charset=utf-8"),
    "assets/style-9f8e.css": (b"body { margin: 0 }\n", "text/css; charset=utf-8"),
    "assets/fonts/ibm-plex.woff2": (b"wOF2\x00\x01fake font", "font/woff2"),
    "sw.js": (b"self.addEventListener('fetch', () => {});\n", "text/javascript; charset=utf-8"),
    "manifest.webmanifest": (b"{\"name\": \"Varsko\"}\n", "application/manifest+json"),
    "sub/deep/data.json": (b"{\"ok\": true}\n", "application/json"),
    "sub/logo.svg": (b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>\n", "image/svg+xml"),
    "big.bin": (os.urandom(300 * 1024), "application/octet-stream"),
}


def make_web_root(root):
    for rel, (data, _t) in FILES.items():
        p = os.path.join(root, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(data)
    with open(os.path.join(root, "assets", "app-abc123.js.gz"), "wb") as f:
        f.write(gzip.compress(APP_JS, mtime=0))
    with open(os.path.join(root, "lonely.txt.gz"), "wb") as f:
        f.write(gzip.compress(b"no lonely.txt next to me\n", mtime=0))
    with open(os.path.join(root, ".secret"), "wb") as f:
        f.write(b"dotfile\n")
    os.makedirs(os.path.join(root, ".git"))
    with open(os.path.join(root, ".git", "config"), "wb") as f:
        f.write(b"[core]\n")
    outside = os.path.join(os.path.dirname(root), "outside.txt")
    with open(outside, "wb") as f:
        f.write(b"outside web_root\n")
    os.symlink(outside, os.path.join(root, "link.txt"))
    os.symlink(os.path.join(root, "sub"), os.path.join(root, "linkdir"))


class Https:
    """HTTPS requests to varskod, checked with the test CA; one kept-alive connection."""

    def __init__(self, port, ca):
        self.ctx = ssl.create_default_context(cafile=ca)
        self.port = port
        self.conn = None

    def request(self, method, path, headers=None, body=None):
        """(status, {lower-case header: value}, body bytes). http.client sends Accept-Encoding: identity
        unless headers name one."""
        if self.conn is None:
            self.conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=self.ctx, timeout=15)
        try:
            self.conn.request(method, path, body=body, headers=headers or {})
            r = self.conn.getresponse()
            data = r.read()
            hdrs = {k.lower(): v for k, v in r.getheaders()}
        except Exception:
            self.close()
            raise
        if hdrs.get("connection", "").lower() == "close" or r.will_close:
            self.close()
        return r.status, hdrs, data

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def fresh(port, ca, method, path, headers=None, body=None):
    """One request on its own connection."""
    h = Https(port, ca)
    try:
        return h.request(method, path, headers, body)
    finally:
        h.close()


def security_headers_ok(hdrs, origins):
    """'' when every web_root header is there with its value, else what is wrong."""
    for k, v in HEADERS.items():
        if hdrs.get(k) != v:
            return f"{k}: {hdrs.get(k)!r}"
    csp = [d.strip() for d in hdrs.get("content-security-policy", "").split(";")]
    for d in CSP_FIXED:
        if d not in csp:
            return f"CSP lacks {d!r}: {csp!r}"
    connect = next((d for d in csp if d.startswith("connect-src ")), "")
    if connect.split()[1:] != ["'self'", *origins]:
        return f"CSP connect-src is {connect!r}, not 'self' and {origins!r}"
    return ""


async def ws_hello(url, ca, origin):
    """'hello' when a varsko.v1 upgrade with this Origin header (None: none) gets the hello frame, else why not."""
    import json
    import websockets
    ctx = ssl.create_default_context(cafile=ca)
    try:
        async with websockets.connect(url, ssl=ctx, subprotocols=[harness.SUBPROTOCOL], origin=origin,
                                      open_timeout=10, ping_interval=None) as ws:
            msg = await asyncio.wait_for(ws.recv(), 10)
            return json.loads(msg).get("type", "?")
    except websockets.exceptions.InvalidStatusCode as e:
        return f"refused {e.status_code}"
    except Exception as e:  # a refusal may also surface as a dropped connection
        return f"failed {type(e).__name__}"


def config_line(conf, key):
    with open(conf, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if line.split("=", 1)[0].strip() == key:
                return n
    return 0


def main():
    harness.require_modules()
    checks = harness.Checks()
    c = checks.check
    with harness.Env() as env:
        web = env.path("web")
        os.mkdir(web)
        make_web_root(web)
        env.make_certs()
        env.write_config(web_root=web)
        origins = [f"wss://localhost:{env.port}", f"wss://127.0.0.1:{env.port}"]
        rc, out, err = env.ctl("init")
        if not c("varskoctl init", rc == 0, out_of(rc, out, err)):
            return checks.done()
        env.start_varskod()
        port, ca = env.port, env.ca

        # -- every file, exact bytes, content type, headers, cache policy
        h = Https(port, ca)
        etags = {}
        for rel, (data, ctype) in FILES.items():
            st, hd, body = h.request("GET", "/" + rel)
            c(f"GET /{rel}: 200, exact bytes, {ctype}",
              st == 200 and body == data and hd.get("content-type") == ctype,
              f"status {st}, {len(body)} of {len(data)} bytes, type {hd.get('content-type')!r}")
            bad = security_headers_ok(hd, origins)
            c(f"GET /{rel}: security headers", not bad, bad)
            want_cache = IMMUTABLE if rel.startswith("assets/") else "no-cache"
            c(f"GET /{rel}: Cache-Control {want_cache}", hd.get("cache-control") == want_cache,
              repr(hd.get("cache-control")))
            etag = hd.get("etag", "")
            c(f"GET /{rel}: strong ETag from SHA-256",
              etag == '"' + hashlib.sha256(data).hexdigest()[:32] + '"', repr(etag))
            etags[rel] = etag
        st, hd, body = h.request("GET", "/")
        c("GET / is index.html", st == 200 and body == INDEX and hd.get("etag") == etags["index.html"],
          f"status {st}")
        st, hd, body = h.request("GET", "/index.html?v=2&x=%2e%2e")
        c("a query string is ignored", st == 200 and body == INDEX, f"status {st}")
        h.close()

        # -- HEAD, 304
        st, hd, body = fresh(port, ca, "HEAD", "/big.bin")
        c("HEAD: 200, Content-Length, no body",
          st == 200 and body == b"" and hd.get("content-length") == str(len(FILES["big.bin"][0]))
          and hd.get("etag") == etags["big.bin"], f"status {st}, {len(body)} bytes, {hd.get('content-length')}")
        c("HEAD: security headers", not security_headers_ok(hd, origins), security_headers_ok(hd, origins))
        st, hd, body = fresh(port, ca, "GET", "/index.html", {"If-None-Match": etags["index.html"]})
        c("If-None-Match with the ETag: 304, no body", st == 304 and body == b"", f"status {st}, {len(body)} bytes")
        c("304: security headers and ETag", not security_headers_ok(hd, origins) and hd.get("etag") == etags["index.html"],
          security_headers_ok(hd, origins) or repr(hd.get("etag")))
        st, hd, body = fresh(port, ca, "GET", "/index.html", {"If-None-Match": '"0000", ' + etags["index.html"]})
        c("If-None-Match with a list naming the ETag: 304", st == 304, f"status {st}")
        st, hd, body = fresh(port, ca, "GET", "/index.html", {"If-None-Match": '"00000000000000000000000000000000"'})
        c("If-None-Match with another ETag: 200", st == 200 and body == INDEX, f"status {st}")

        # -- gzip variant
        gz_path = "/assets/app-abc123.js"
        st, hd, body = fresh(port, ca, "GET", gz_path)
        c("without Accept-Encoding gzip: the plain file, Vary", st == 200 and body == APP_JS
          and "content-encoding" not in hd and hd.get("vary") == "Accept-Encoding",
          f"status {st}, encoding {hd.get('content-encoding')!r}, vary {hd.get('vary')!r}")
        st, hd, body = fresh(port, ca, "GET", gz_path, {"Accept-Encoding": "br, gzip, deflate"})
        c("with Accept-Encoding gzip: the .gz variant, Content-Encoding gzip, Vary",
          st == 200 and hd.get("content-encoding") == "gzip" and gzip.decompress(body) == APP_JS
          and hd.get("vary") == "Accept-Encoding" and hd.get("content-type") == FILES[gz_path[1:]][1],
          f"status {st}, encoding {hd.get('content-encoding')!r}, vary {hd.get('vary')!r}")
        gz_etag = hd.get("etag")
        c("the variant has its own ETag", gz_etag and gz_etag != etags[gz_path[1:]], repr(gz_etag))
        st, hd, body = fresh(port, ca, "GET", gz_path, {"Accept-Encoding": "gzip", "If-None-Match": gz_etag})
        c("the variant's ETag gives 304", st == 304 and hd.get("content-encoding") == "gzip", f"status {st}")
        st, hd, body = fresh(port, ca, "GET", gz_path, {"Accept-Encoding": "gzip;q=0, identity"})
        c("gzip;q=0 gets the plain file", st == 200 and body == APP_JS and "content-encoding" not in hd,
          f"status {st}")
        st, hd, body = fresh(port, ca, "GET", "/index.html", {"Accept-Encoding": "gzip"})
        c("a file without a variant: plain, no Vary", st == 200 and body == INDEX and "vary" not in hd
          and "content-encoding" not in hd, f"status {st}, vary {hd.get('vary')!r}")

        # -- 404 and 405
        for path in ["/nope.html", "/../etc/passwd", "/%2e%2e/x", "/%2e%2e/%2e%2e/etc/passwd", "//x",
                     "/link.txt", "/linkdir/logo.svg", "/.secret", "/.git/config", "/assets/app-abc123.js.gz",
                     "/lonely.txt.gz", "/lonely.txt", "/sub", "/sub/", "/sub/deep/./nope.json",
                     "/%69ndex.html/"]:
            st, hd, body = fresh(port, ca, "GET", path)
            c(f"GET {path}: 404 with a short text", st == 404 and 0 < len(body) < 100
              and hd.get("content-type", "").startswith("text/plain"), f"status {st}, {body[:80]!r}")
            if st == 404:
                c(f"GET {path}: 404 has the security headers", not security_headers_ok(hd, origins),
                  security_headers_ok(hd, origins))
            if b"outside web_root" in body or b"dotfile" in body or b"root:" in body:
                c(f"GET {path}: nothing outside the tree leaks", False, repr(body[:80]))
        try:
            st, hd, body = fresh(port, ca, "GET", "/index.html%00.js")
            what = f"status {st}"
        except (http.client.HTTPException, OSError) as e:  # libwebsockets drops a request with %00
            st, what = None, f"connection closed ({type(e).__name__})"
        c("GET /index.html%00.js is not served", st in (None, 404), what)
        for method in ("POST", "PUT", "DELETE", "OPTIONS"):
            st, hd, body = fresh(port, ca, method, "/index.html", body=b"x=1" if method in ("POST", "PUT") else None)
            c(f"{method}: 405 with Allow: GET, HEAD", st == 405 and hd.get("allow") == "GET, HEAD",
              f"status {st}, allow {hd.get('allow')!r}")
            if st == 405:
                c(f"{method}: 405 has the security headers", not security_headers_ok(hd, origins),
                  security_headers_ok(hd, origins))

        # -- the big file, complete, several times on one kept-alive connection, with a HEAD and 404 between
        h = Https(port, ca)
        big = FILES["big.bin"][0]
        ok = True
        for i in range(3):
            st, hd, body = h.request("GET", "/big.bin")
            ok = ok and st == 200 and body == big
            st2, _hd, body2 = h.request("HEAD", "/big.bin")
            ok = ok and st2 == 200 and body2 == b""
            st3, _hd, _b = h.request("GET", "/nope")
            ok = ok and st3 == 404
        c("the 300 KiB file arrives complete, 3 times on one connection", ok, f"last status {st}, {len(body)} bytes")
        h.close()

        # -- WebSocket upgrades and the Origin header
        url = env.ws_url
        r = harness.run(ws_hello(url, ca, "https://evil.example"))
        c("upgrade with Origin https://evil.example is refused", r.startswith("refused") or r.startswith("failed"), r)
        r = harness.run(ws_hello(url, ca, f"https://evil.example:{port}"))
        c("upgrade with another host on the right port is refused", r != "hello", r)
        r = harness.run(ws_hello(url, ca, "https://127.0.0.1"))
        c("upgrade with the right host but no port (443) is refused", r != "hello", r)
        r = harness.run(ws_hello(url, ca, "null"))
        c("upgrade with Origin null is refused", r != "hello", r)
        r = harness.run(ws_hello(url, ca, f"http://127.0.0.1:{port}"))
        c("upgrade with an http:// origin is refused", r != "hello", r)
        r = harness.run(ws_hello(url, ca, f"https://127.0.0.1:{port}"))
        c("upgrade with the page's own origin gets hello", r == "hello", r)
        r = harness.run(ws_hello(url, ca, f"https://LocalHost:{port}"))
        c("the origin's host is compared case-insensitively", r == "hello", r)
        r = harness.run(ws_hello(url, ca, None))
        c("upgrade without an Origin header gets hello", r == "hello", r)
        r = harness.run(ws_hello(url, ca, f"wss://127.0.0.1:{port}"))
        c("upgrade with libvarsko's wss:// origin gets hello", r == "hello", r)
        logtext = env.read_log("varskod")
        c("the refusal is logged", "Origin header is not a configured origin" in logtext)
        c("the log never has the Origin header's value", "evil.example" not in logtext)
        c("the log names the web client's files", f"serving the web client: {len(FILES)} files" in logtext,
          logtext[-400:])
        st = env.stop_varskod()
        c("varskod stops cleanly", st == 0, f"exit {st}")

        # -- without web_root: the old plain page
        env.write_config()
        env.start_varskod()
        st, hd, body = fresh(env.port, ca, "GET", "/")
        c("without web_root / is the plain page", st == 200 and body == "Varsko kører\n".encode()
          and hd.get("content-type") == "text/plain; charset=utf-8", f"status {st}, {body[:80]!r}")
        st, hd, body = fresh(env.port, ca, "GET", "/index.html")
        c("without web_root /index.html is 404", st == 404, f"status {st}")
        r = harness.run(ws_hello(env.ws_url, ca, None))
        c("without web_root the WebSocket still works", r == "hello", r)
        env.stop_varskod()

        # -- a web_root that does not exist, and one that is a file
        for what, path in (("does not exist", env.path("no-such-dir")),
                           ("is a file", os.path.join(web, "index.html"))):
            conf = env.write_config(web_root=path)
            line = config_line(conf, "web_root")
            rc, out, err = env.run([env.varskod, "-c", conf], timeout=30)
            want = f"{conf}:{line}: web_root: "
            c(f"a web_root that {what}: varskod exits non-zero with {want}...",
              rc not in (0, 124) and err.startswith(want) and path not in err, out_of(rc, out, err))
            rc, out, err = env.run([env.varskod, "-c", conf, "--check-config"], timeout=30)
            c(f"a web_root that {what}: --check-config says so too", rc != 0 and err.startswith(want),
              out_of(rc, out, err))
    return checks.done()


if __name__ == "__main__":
    sys.exit(main())
