#!/usr/bin/python3
"""Attachments of consultation threads (issue 10, item 5; PROTOCOL.md 17.9): real varskod and the C CLI.

Anna (fagperson at Nordskovskolen) opens a thread, in which Sofie (the
rådgiver assigned there) is a member; Jonas (a fagperson at another
school) is the outsider.

  - Anna attaches a 10 MiB file through a TCP relay that drops the
    connection after about 6 MiB: the CLI says the upload can go on, the
    stored bytes stay in varskod (a blob row, incomplete). Sent again, the
    upload goes on where the stored bytes end (resumed, not restarted: the
    same blob, the first part sent is at the stored offset), and one file
    message is stored, not two.
  - Sofie's `thread read` shows the attachment; `thread fetch` writes a file
    with the same SHA-256; an existing file is never overwritten.
  - Jonas is refused by varskod (raw blob_get: not_found), and so is a
    member asking for another's upload to go on.
  - Bad parts are refused and change nothing: out of order, past the size,
    a blob too large for max_attachment, for a thread the caller is not in,
    and bytes whose SHA-256 differs (dropped, to be sent again).
  - The file's bytes appear nowhere in varskod's database, its WAL, its log
    or its memory.
"""

import base64
import hashlib
import json
import os
import re
import selectors
import socket
import sys
import threading
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import flowlib  # noqa: E402
import harness  # noqa: E402
from flowlib import out_of  # noqa: E402
from test_person_continuity import memory_search  # noqa: E402

INST = "inst-nordskovskolen"
ANNA, SOFIE, JONAS = "laerer-anna", "raadgiver-sofie", "laerer-jonas"
SIZE = 10 * 1024 * 1024


class CutRelay:
    """TCP from a loopback port to varskod's. The first connection that carries more than cut_after bytes
    from the client is cut there, both ways (a connection dropped halfway); later ones pass untouched."""

    def __init__(self, target_port, cut_after):
        self.target = target_port
        self.cut_after = cut_after
        self.cut = threading.Event()
        self.ls = socket.socket()
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(8)
        self.port = self.ls.getsockname()[1]
        self.stopping = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stopping:
            try:
                cs, _ = self.ls.accept()
            except OSError:
                return
            threading.Thread(target=self._pump, args=(cs,), daemon=True).start()

    def _pump(self, cs):
        ss = socket.create_connection(("127.0.0.1", self.target))
        sel = selectors.DefaultSelector()
        sel.register(cs, selectors.EVENT_READ, ss)
        sel.register(ss, selectors.EVENT_READ, cs)
        up = 0
        try:
            while True:
                for key, _ in sel.select(30):
                    data = key.fileobj.recv(65536)
                    if not data:
                        return
                    if key.fileobj is cs:
                        up += len(data)
                        if up > self.cut_after and not self.cut.is_set():
                            self.cut.set()
                            return
                    key.data.sendall(data)
        except OSError:
            pass
        finally:
            for s in (cs, ss):
                try:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                    s.close()
                except OSError:
                    pass

    def close(self):
        self.stopping = True
        self.ls.close()


def set_server(home, url):
    with open(os.path.join(home, "server"), "w", encoding="ascii") as f:
        f.write(url + "\n")


def main():
    checks = harness.Checks()
    c = checks.check
    tag = uuid.uuid4().hex[:16]
    marker = f"BILAG-FORTROLIGT-{tag}".encode()
    # 10 MiB of random bytes with the marker in many places (the scan for plaintext looks for it).
    data = bytearray(os.urandom(SIZE))
    for at in range(0, SIZE - len(marker), SIZE // 64):
        data[at:at + len(marker)] = marker
    data = bytes(data)
    digest = hashlib.sha256(data).hexdigest()

    with flowlib.Flow(agents=[], users=[]) as fl:
        rc, out, err = fl.setup_org()
        if rc != 0:
            raise RuntimeError(f"varskoctl org init: {out_of(rc, out, err)}")
        for u in (ANNA, SOFIE, JONAS):
            fl.enroll(u)
        rc, j, out, err = fl.cli_json(ANNA, "thread", "new", "--institution", INST, "--title", f"Bilag {tag}",
                                      "--besked", "Her kommer elevplanen.")
        thread = (j or {}).get("thread", "")
        if not c("anna opens a thread (sofie is in it)", rc == 0 and thread.startswith("T-"), out_of(rc, out, err)):
            return checks.done()
        path = fl.path("elevplan.pdf")
        with open(path, "wb") as f:
            f.write(data)

        # -- the upload, dropped halfway, then resumed --
        relay = CutRelay(fl.port, cut_after=6 * 1024 * 1024)
        # The relay's address is an origin varskod admits (the login signs it), as a proxy's would be.
        with open(fl.conf, encoding="utf-8") as fh:
            conf = fh.read()
        with open(fl.conf, "w", encoding="utf-8") as fh:
            fh.write(re.sub(r"(?m)^origins = (.*)$", lambda m: f"origins = {m.group(1)} wss://127.0.0.1:{relay.port}",
                            conf))
        fl.stop_varskod()
        fl.start_varskod()
        set_server(fl.homes[ANNA], f"wss://127.0.0.1:{relay.port}")
        rc, out, err = fl.cli_as(ANNA, "thread", "send", thread, "Elevplanen", "--file", path, timeout=120)
        c("the relay dropped the connection during the upload", relay.cut.is_set(), out_of(rc, out, err))
        c("the CLI fails (cannot reach the server) and says to send the same file again",
          rc in (1, 3) and "Send samme fil igen" in err, out_of(rc, out, err))
        rows = fl.q("SELECT id, size, received, complete FROM blobs")
        c("varskod keeps what arrived: one blob, incomplete, more than nothing stored",
          len(rows) == 1 and 0 < rows[0][2] < rows[0][1] and rows[0][3] == 0, str(rows))
        stored_before = rows[0][2] if rows else 0
        blob = rows[0][0] if rows else ""
        updir = os.path.join(fl.homes[ANNA], "uploads")
        uploads = os.listdir(updir) if os.path.isdir(updir) else []
        c("the upload is kept in anna's home (its ciphertext and its record)",
          sorted(x.rsplit(".", 1)[1] for x in uploads) == ["bin", "json"], str(uploads))
        c("no file message was sent", fl.q("SELECT count(*) FROM thread_messages WHERE thread = ?", thread) == [(1,)])
        set_server(fl.homes[ANNA], f"wss://127.0.0.1:{relay.port}")  # the relay passes the next one untouched
        log_at = len(fl.read_log("varskod"))
        rc, j, out, err = fl.cli_json(ANNA, "thread", "send", thread, "Elevplanen", "--file", path, timeout=120)
        c("sent again: the upload completes and the message is sent", rc == 0 and (j or {}).get("seq") == 2,
          out_of(rc, out, err))
        c("... resumed where the stored bytes ended, not restarted",
          (j or {}).get("resumed_from") == stored_before and stored_before > 0, out_of(rc, out, err))
        puts = re.findall(r"blob_put \((\d+) of (\d+) bytes stored\)", fl.read_log("varskod")[log_at:])
        c("... the first part varskod stored after the drop begins at the stored offset",
          puts and int(puts[0][0]) > stored_before and int(puts[0][0]) - stored_before <= 262144, str(puts[:2]))
        rows = fl.q("SELECT id, received = size, complete FROM blobs")
        c("one blob, complete, the same one", rows == [(blob, 1, 1)], str(rows))
        c("the upload is gone from anna's home", not (os.path.isdir(updir) and os.listdir(updir)))
        relay.close()
        set_server(fl.homes[ANNA], fl.ws_url)

        # -- sofie reads and fetches --
        rc, j, out, err = fl.cli_json(SOFIE, "thread", "read", thread)
        m = next((x for x in (j or {}).get("messages", []) if x.get("seq") == 2), {})
        f = m.get("file") or {}
        c("sofie sees a file message from anna: name, type, size, SHA-256 (never the key)",
          rc == 0 and m.get("kind") == "file" and m.get("text") == "Elevplanen" and f.get("name") == "elevplan.pdf"
          and f.get("media_type") == "application/pdf" and f.get("size") == SIZE and f.get("sha256") == digest and
          "key" not in f, out_of(rc, out, err))
        rc, out, err = fl.cli_as(SOFIE, "thread", "read", thread)
        c("... and her terminal says how to fetch it, in Danish",
          rc == 0 and "Bilag: elevplan.pdf" in out and f"varsko thread fetch {thread} 2 --out FIL" in out,
          out_of(rc, out, err))
        got = fl.path("hentet.pdf")
        rc, out, err = fl.cli_as(SOFIE, "thread", "fetch", thread, "2", "--out", got, timeout=120)
        same = os.path.exists(got) and hashlib.sha256(open(got, "rb").read()).hexdigest() == digest
        c("sofie fetches it: the same SHA-256, a private file", rc == 0 and same and
          (os.stat(got).st_mode & 0o777) == 0o600, out_of(rc, out, err))
        rc, out, err = fl.cli_as(SOFIE, "thread", "fetch", thread, "2", "--out", got)
        c("an existing file is never overwritten", rc == 1 and "(kode: exists)" in err, out_of(rc, out, err))
        rc, out, err = fl.cli_as(SOFIE, "thread", "fetch", thread, "1", "--out", fl.path("x"))
        c("a message without an attachment: not_found", rc == 1 and "(kode: not_found)" in err, out_of(rc, out, err))

        # -- the outsider and the raw refusals --
        rc, out, err = fl.cli_as(JONAS, "thread", "fetch", thread, "2", "--out", fl.path("jonas.pdf"))
        c("jonas (not a member) cannot fetch it", rc == 1 and not os.path.exists(fl.path("jonas.pdf")),
          out_of(rc, out, err))
        h32 = base64.b64encode(b"\0" * 32).decode()

        async def as_jonas(cl, dev):
            return [await flowlib.request(cl, {"type": "blob_get", "id": "g", "blob": blob, "offset": 0}),
                    await flowlib.request(cl, {"type": "blob_begin", "id": "b", "blob": "B-" + "A" * 26,
                                               "thread": thread, "size": 100, "sha256": h32})]
        a = fl.raw_session(JONAS, as_jonas)
        c("varskod refuses jonas: blob_get and blob_begin in anna's thread are not_found",
          [x.get("code") for x in a] == ["not_found", "not_found"], json.dumps(a)[:400])

        async def as_sofie(cl, dev):
            return [await flowlib.request(cl, {"type": "blob_put", "id": "p", "blob": blob, "offset": 0,
                                               "data": "AAAA"})]
        a = fl.raw_session(SOFIE, as_sofie)
        c("a member cannot add to another's upload (not_found)", [x.get("code") for x in a] == ["not_found"],
          json.dumps(a)[:300])

        new_blob = "B-" + "Q" * 25 + "A"
        payload = b"x" * 1000
        good_hash = base64.b64encode(hashlib.sha256(payload).digest()).decode()

        async def bad_parts(cl, dev):
            r = []
            r.append(await flowlib.request(cl, {"type": "blob_begin", "id": "1", "blob": "B-" + "C" * 25 + "A",
                                                "thread": thread, "size": 30 * 1024 * 1024, "sha256": h32}))
            r.append(await flowlib.request(cl, {"type": "blob_begin", "id": "2", "blob": new_blob, "thread": thread,
                                                "size": len(payload), "sha256": good_hash}))
            part = base64.b64encode(payload[:500]).decode()
            r.append(await flowlib.request(cl, {"type": "blob_put", "id": "3", "blob": new_blob, "offset": 100,
                                                "data": part}))
            r.append(await flowlib.request(cl, {"type": "blob_put", "id": "4", "blob": new_blob, "offset": 0,
                                                "data": base64.b64encode(payload + b"y").decode()}))
            r.append(await flowlib.request(cl, {"type": "blob_get", "id": "5", "blob": new_blob, "offset": 0}))
            r.append(await flowlib.request(cl, {"type": "blob_put", "id": "6", "blob": new_blob, "offset": 0,
                                                "data": part}))
            r.append(await flowlib.request(cl, {"type": "blob_put", "id": "7", "blob": new_blob, "offset": 500,
                                                "data": base64.b64encode(b"z" * 500).decode()}))
            r.append(await flowlib.request(cl, {"type": "blob_begin", "id": "8", "blob": new_blob, "thread": thread,
                                                "size": len(payload), "sha256": good_hash}))
            return r
        a = fl.raw_session(ANNA, bad_parts)
        codes = [x.get("code") or x.get("type") for x in a]
        c("a blob larger than max_attachment is too_large", codes[0] == "too_large", str(codes))
        c("a part out of order is bad_input, one past the size is bad_input, an incomplete blob is not_found",
          codes[1:5] == ["blob_ok", "bad_input", "bad_input", "not_found"], str(codes))
        c("bytes whose SHA-256 differs: bad_input, and dropped (blob_begin says 0 stored)",
          codes[5:7] == ["blob_ok", "bad_input"] and a[7].get("received") == 0 and a[7].get("complete") is False,
          json.dumps(a[5:])[:500])
        rows = fl.q("SELECT count(*) FROM blob_chunks WHERE blob = ?", new_blob)
        c("... nothing of it is stored", rows == [(0,)], str(rows))
        audit = fl.q("SELECT detail FROM audit WHERE event = 'blob_stored'")
        c("the stored blob is audited with ids and size only",
          audit == [(f"blob={blob} thread={thread} size={SIZE + 24 + 17 * 160}",)], str(audit))

        # -- the gateway never holds the file in clear --
        if os.geteuid() == 0:
            found, total = memory_search(fl.procs["varskod"][0].pid, {"marker": marker})
            c(f"varskod's memory ({total // 1024} KiB read) does not hold the file's bytes",
              total > 1 << 20 and not found, str(found))
        fl.stop_varskod()
        stored = flowlib.stored_bytes(fl)
        c("the file's bytes are not in varskod's database or WAL", stored and marker not in stored)
        c("... nor in its log", marker.decode() not in fl.read_log("varskod"))
    return checks.done()


if __name__ == "__main__":
    sys.exit(main())
