#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Upload and download throughput of session files, with a peer.

  upload    POST files/upload of a SIZE file read from disk (multipart,
            Content-Length, one keep-alive connection)
  download  GET files/content/NAME written to a file on the same disk
  peer      `cp` of the same file to another file on that disk

Each figure is the median of N runs, in MB/s (10^6 bytes); the ratios
upload/cp and download/cp are printed last.  Usage:
  bench/files_throughput.py [--build DIR] [--size MiB] [--n N] [--dir DIR]
"""
import argparse
import hashlib
import http.client
import os
import pathlib
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
MiB = 1 << 20


def start_server(build):
    d = pathlib.Path(tempfile.mkdtemp(prefix="sp-bench-files-"))
    conf = d / "sandpool.conf"
    conf.write_text("ready = 1\nmax_starting = 2\nfiles_quota = 2G\n"
                    "files.upload_max = 1G\n")
    log = open(d / "server.log", "wb")
    p = subprocess.Popen([str(build / "sandpool"), "serve", "--config",
                          str(conf), "--state-dir", str(d / "state"),
                          "--listen", "127.0.0.1:0"],
                         stderr=log, stdout=subprocess.DEVNULL)
    for _ in range(600):
        m = re.search(r"port (\d+)\)", (d / "server.log").read_text())
        if m:
            return p, int(m.group(1)), d
        time.sleep(0.05)
    p.kill()
    raise SystemExit("server did not start:\n"
                     + (d / "server.log").read_text())


def upload(conn, path, size, ident):
    b = "benchboundary0123456789"
    head = ('--%s\r\nContent-Disposition: form-data; name="file"; '
            'filename="bench.bin"\r\nContent-Type: application/octet-stream'
            '\r\n\r\n' % b).encode()
    tail = ("\r\n--%s--\r\n" % b).encode()

    def body():
        yield head
        with open(path, "rb") as f:
            while True:
                piece = f.read(MiB)
                if not piece:
                    break
                yield piece
        yield tail
    conn.putrequest("POST", "/files/upload?identifier=%s&api-version="
                    "2024-02-02-preview" % ident)
    conn.putheader("Content-Type", "multipart/form-data; boundary=" + b)
    conn.putheader("Content-Length", str(len(head) + size + len(tail)))
    conn.endheaders()
    for piece in body():
        conn.send(piece)
    r = conn.getresponse()
    data = r.read()
    if r.status != 200:
        raise SystemExit("upload failed: %d %r" % (r.status, data[:300]))


def download(conn, out, ident):
    conn.request("GET", "/files/content/bench.bin?identifier=" + ident)
    r = conn.getresponse()
    if r.status != 200:
        raise SystemExit("download failed: %d" % r.status)
    with open(out, "wb") as f:
        while True:
            piece = r.read(MiB)
            if not piece:
                break
            f.write(piece)
        f.flush()
        os.fsync(f.fileno())


def cp_peer(src, dst):
    subprocess.run(["cp", str(src), str(dst)], check=True)
    fd = os.open(dst, os.O_RDONLY)
    os.fsync(fd)  # as the download does
    os.close(fd)


def timed(fn):
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=str(ROOT / "build"))
    ap.add_argument("--size", type=int, default=100, help="MiB")
    ap.add_argument("--n", type=int, default=5)
    ap.add_argument("--dir", default=None,
                    help="where the source and copies live (default: a "
                         "temporary directory)")
    a = ap.parse_args()
    size = a.size * MiB
    work = pathlib.Path(tempfile.mkdtemp(prefix="sp-bench-data-",
                                         dir=a.dir))
    src, dst = work / "src.bin", work / "dst.bin"
    with open(src, "wb") as f:
        block = os.urandom(MiB)
        for i in range(a.size):
            f.write(hashlib.sha256(bytes([i & 0xff])).digest() + block[32:])
    p, port, d = start_server(pathlib.Path(a.build))
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        for _ in range(600):
            conn.request("GET", "/health/startup")
            r = conn.getresponse()
            r.read()
            if r.status == 200:
                break
            time.sleep(0.05)
        ident = "bench-files"
        up, down, cp = [], [], []
        for _ in range(a.n):
            up.append(timed(lambda: upload(conn, src, size, ident)))
            down.append(timed(lambda: download(conn, dst, ident)))
            if dst.stat().st_size != size:
                raise SystemExit("short download")
            dst.unlink()
            cp.append(timed(lambda: cp_peer(src, dst)))
            dst.unlink()
        conn.close()
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(60)
        shutil.rmtree(d, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)

    def mbs(ts):
        return size / statistics.median(ts) / 1e6
    u, dl, c = mbs(up), mbs(down), mbs(cp)
    print("files throughput, %d MiB, median of %d" % (a.size, a.n))
    print("  upload    %8.1f MB/s" % u)
    print("  download  %8.1f MB/s" % dl)
    print("  cp (peer) %8.1f MB/s" % c)
    print("  upload/cp %.2f   download/cp %.2f" % (u / c, dl / c))
    return 0


if __name__ == "__main__":
    sys.exit(main())
