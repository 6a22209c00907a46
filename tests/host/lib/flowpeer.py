#!/usr/bin/env python3
"""Test peers for tests/host/dataplane_bypass.sh: a TCP sink that reads at a
bounded rate, can stop reading for a while or reset the connection, and a
source of deterministic bytes. Both print the SHA-256 and the byte count of
what they carried, so the suite compares both ends.

  flowpeer.py sink --port P [--rate BYTES_PER_S] [--pause-at N --pause S]
                   [--reset-at N] [--count C]
      accepts C connections one after the other (default 1) on 127.0.0.1:P;
      per connection prints "BYTES SHA256" (and "reset" when it reset it).
  flowpeer.py source --port P --bytes N [--seed S] [--pause-at N --pause S]
      connects, sends N bytes of a seeded stream (stopping for S seconds
      once it has sent N bytes, when asked), shuts down its write side,
      reads what comes back until end of stream and prints
      "SENT SHA256_SENT RECEIVED SHA256_RECEIVED".
  flowpeer.py echo --port P
      accepts one connection, echoes until end of stream, then half-closes
      (for half-close in the other direction).
"""
import argparse
import hashlib
import select
import socket
import struct
import sys
import time

CHUNK = 256 << 10


def recv_into(c, buf):
    """recv_into that waits out EAGAIN: a blocking socket in a sockmap
    (tcp_bpf) answers EAGAIN when what woke it came through TCP rather than
    its psock queue, e.g. the end of stream (docs/dataplane.md)."""
    while True:
        try:
            return c.recv_into(buf)
        except BlockingIOError:
            select.select([c], [], [], 1.0)


def recv(c, n):
    buf = bytearray(n)
    got = recv_into(c, buf)
    return bytes(buf[:got])


def stream(seed, n):
    """N bytes that are cheap to make and that show reordering: each 4 KiB
    page is the SHA-256 of (seed, page number) repeated, so no two pages of
    a stream are alike."""
    page = 0
    sent = 0
    block = bytearray()
    while sent < n:
        while len(block) < CHUNK:
            d = hashlib.sha256(b"%d:%d" % (seed, page)).digest()
            block += d * 128
            page += 1
        take = min(len(block), n - sent)
        yield bytes(block[:take])
        del block[:take]
        sent += take


def sink(a):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", a.port))
    ls.listen(8)
    print("listening", flush=True, file=sys.stderr)
    for _ in range(a.count):
        c, _ = ls.accept()
        h = hashlib.sha256()
        got = 0
        t0 = time.monotonic()
        paused = False
        reset = False
        buf = bytearray(CHUNK)
        while True:
            if a.reset_at is not None and got >= a.reset_at:
                c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                reset = True
                break
            if a.pause_at is not None and not paused and got >= a.pause_at:
                time.sleep(a.pause)
                paused = True
                t0 = time.monotonic() - got / a.rate if a.rate else t0
            n = recv_into(c, buf)
            if n == 0:
                break
            h.update(memoryview(buf)[:n])
            got += n
            if a.rate:
                ahead = got / a.rate - (time.monotonic() - t0)
                if ahead > 0:
                    time.sleep(ahead)
        print(got, h.hexdigest(), "reset" if reset else "", flush=True)
        c.close()
    ls.close()


def source(a):
    s = socket.create_connection(("127.0.0.1", a.port))
    h = hashlib.sha256()
    sent = 0
    paused = False
    try:
        for b in stream(a.seed, a.bytes):
            if a.pause_at is not None and not paused and sent >= a.pause_at:
                time.sleep(a.pause)
                paused = True
            s.sendall(b)
            h.update(b)
            sent += len(b)
    except OSError as e:
        print(sent, h.hexdigest(), "error", e.errno, flush=True)
        return 1
    s.shutdown(socket.SHUT_WR)
    r = hashlib.sha256()
    got = 0
    while True:
        d = recv(s, CHUNK)
        if not d:
            break
        r.update(d)
        got += len(d)
    print(sent, h.hexdigest(), got, r.hexdigest(), flush=True)
    s.close()
    return 0


def echo(a):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", a.port))
    ls.listen(1)
    c, _ = ls.accept()
    while True:
        d = recv(c, CHUNK)
        if not d:
            break
        c.sendall(d)
    c.shutdown(socket.SHUT_WR)
    c.close()
    ls.close()


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    k = sub.add_parser("sink")
    k.add_argument("--port", type=int, required=True)
    k.add_argument("--rate", type=float, default=0)
    k.add_argument("--pause-at", type=int)
    k.add_argument("--pause", type=float, default=0)
    k.add_argument("--reset-at", type=int)
    k.add_argument("--count", type=int, default=1)
    s = sub.add_parser("source")
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--bytes", type=int, required=True)
    s.add_argument("--seed", type=int, default=1)
    s.add_argument("--pause-at", type=int)
    s.add_argument("--pause", type=float, default=0)
    e = sub.add_parser("echo")
    e.add_argument("--port", type=int, required=True)
    a = p.parse_args()
    return {"sink": sink, "source": source, "echo": echo}[a.cmd](a) or 0


if __name__ == "__main__":
    sys.exit(main())
