#!/usr/bin/env python3
"""Test images for tests/host/eif_oci.sh, written from scratch (no daemon).

  oci_image.py layer OUT.tar [--reverse] [--pax]  < entries
      one entry per line, names taken verbatim (so hostile ones too):
        dir NAME MODE [UID GID]        file NAME MODE UID GID TEXT... ("\\n" = newline)
        zeros NAME MODE SIZE           sym NAME TARGET
        hard NAME TARGET               fifo NAME MODE
        chr NAME MAJOR MINOR
  oci_image.py layout DIR [--ref R] [--cmd JSON] [--entrypoint JSON] [--env JSON]
                   [--workdir W] [--user U] [--arch A] LAYER[:MEDIATYPE]...
      an OCI image layout (oci-layout, index.json, blobs/sha256/...).
  oci_image.py docker OUT.tar [--tag T] [same config options] LAYER...
      a docker save tarball (manifest.json, HEX.json, HEX/layer.tar).
  oci_image.py random SEED PREFIX NLAYERS
      NLAYERS random layers PREFIX0.tar... of well-formed entries (files,
      directories, symlinks, hard links, fifos, whiteouts, opaque markers,
      replacements) over a small name space, never through a symlink.
  oci_image.py tree DIR [--owner xattr|stat]
      one line per entry below DIR: name, type, mode, size, content hash,
      link target, owner attribute, hard-link group (for comparing trees).
      --owner prints uid:gid instead of the attribute's bytes: decoded from
      it (NoopID = 0) or taken from lstat (a tree cpio unpacked as root).
"""
import gzip
import hashlib
import io
import json
import os
import stat
import subprocess
import sys
import tarfile


def sha(data):
    return hashlib.sha256(data).hexdigest()


def cmd_layer(args):
    out = args[0]
    reverse = "--reverse" in args
    fmt = tarfile.PAX_FORMAT if "--pax" in args else tarfile.GNU_FORMAT
    entries = []
    for line in sys.stdin.read().splitlines():
        if not line.strip():
            continue
        f = line.split(" ")
        kind, name = f[0], f[1]
        ti = tarfile.TarInfo(name)
        ti.mtime = 1600000000
        data = None
        if kind == "dir":
            ti.type = tarfile.DIRTYPE
            ti.mode = int(f[2], 8)
            if len(f) > 4:
                ti.uid, ti.gid = int(f[3]), int(f[4])
        elif kind in ("file", "zeros"):
            ti.mode = int(f[2], 8)
            if kind == "file":
                ti.uid, ti.gid = int(f[3]), int(f[4])
                # "\n" in TEXT is a newline (passwd files need several lines).
                data = (" ".join(f[5:]).replace("\\n", "\n") + "\n").encode()
            else:
                data = bytes(int(f[3]))
            ti.size = len(data)
        elif kind == "sym":
            ti.type, ti.linkname, ti.mode = tarfile.SYMTYPE, f[2], 0o777
        elif kind == "hard":
            ti.type, ti.linkname, ti.mode = tarfile.LNKTYPE, f[2], 0o644
        elif kind == "fifo":
            ti.type, ti.mode = tarfile.FIFOTYPE, int(f[2], 8)
        elif kind == "chr":
            ti.type, ti.mode = tarfile.CHRTYPE, 0o600
            ti.devmajor, ti.devminor = int(f[2]), int(f[3])
        else:
            sys.exit("unknown entry kind " + kind)
        entries.append((ti, data))
    if reverse:
        entries.reverse()
    with tarfile.open(out, "w", format=fmt) as t:
        for ti, data in entries:
            t.addfile(ti, io.BytesIO(data) if data is not None else None)


def put_blob(d, data):
    h = sha(data)
    os.makedirs(os.path.join(d, "blobs", "sha256"), exist_ok=True)
    with open(os.path.join(d, "blobs", "sha256", h), "wb") as f:
        f.write(data)
    return h


def uncompressed(data):
    if data[:2] == b"\x1f\x8b":
        return gzip.decompress(data)
    if data[:4] == b"\x28\xb5\x2f\xfd":
        return subprocess.run(["zstd", "-dc"], input=data, capture_output=True,
                              check=True).stdout
    return data


def config_opts(args):
    cfg = {"architecture": "amd64", "os": "linux", "config": {}}
    layers, rest, i = [], {}, 0
    while i < len(args):
        a = args[i]
        if a.startswith("--"):
            rest[a[2:]] = args[i + 1]
            i += 2
            continue
        layers.append(a)
        i += 1
    c = cfg["config"]
    for k, key in (("cmd", "Cmd"), ("entrypoint", "Entrypoint"), ("env", "Env")):
        if k in rest:
            c[key] = json.loads(rest[k])
    if "workdir" in rest:
        c["WorkingDir"] = rest["workdir"]
    if "user" in rest:
        c["User"] = rest["user"]
    if "arch" in rest:
        cfg["architecture"] = rest["arch"]
    return cfg, layers, rest


def compact(obj):
    return json.dumps(obj, separators=(",", ":"), sort_keys=True).encode()


def cmd_layout(args):
    d = args[0]
    cfg, layers, rest = config_opts(args[1:])
    os.makedirs(d, exist_ok=True)
    descs, diff = [], []
    for spec in layers:
        path, _, mt = spec.partition(":")
        data = open(path, "rb").read()
        if not mt:
            mt = "application/vnd.oci.image.layer.v1.tar"
            if data[:2] == b"\x1f\x8b":
                mt += "+gzip"
            elif data[:4] == b"\x28\xb5\x2f\xfd":
                mt += "+zstd"
        descs.append({"mediaType": mt, "digest": "sha256:" + put_blob(d, data),
                      "size": len(data)})
        diff.append("sha256:" + sha(uncompressed(data)))
    cfg["rootfs"] = {"type": "layers", "diff_ids": diff}
    cb = compact(cfg)
    man = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
           "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                      "digest": "sha256:" + put_blob(d, cb), "size": len(cb)},
           "layers": descs}
    mb = compact(man)
    entry = {"mediaType": "application/vnd.oci.image.manifest.v1+json",
             "digest": "sha256:" + put_blob(d, mb), "size": len(mb)}
    if "ref" in rest:
        entry["annotations"] = {"org.opencontainers.image.ref.name": rest["ref"]}
    with open(os.path.join(d, "index.json"), "wb") as f:
        f.write(compact({"schemaVersion": 2, "manifests": [entry]}))
    with open(os.path.join(d, "oci-layout"), "wb") as f:
        f.write(b'{"imageLayoutVersion":"1.0.0"}')


def cmd_docker(args):
    out = args[0]
    cfg, layers, rest = config_opts(args[1:])
    files, names, diff, first = [], [], [], {}
    for i, path in enumerate(layers):
        data = uncompressed(open(path, "rb").read())
        h = sha(data)
        # Directories are layer IDs; a layer used twice is a symlink to the
        # first copy, as docker save writes it.
        lid = sha(f"{i}:{h}".encode())
        names.append(lid + "/layer.tar")
        if h in first:
            files.append((lid + "/layer.tar", "../" + first[h]))
        else:
            first[h] = lid + "/layer.tar"
            files.append((lid + "/layer.tar", data))
        diff.append("sha256:" + h)
    cfg["rootfs"] = {"type": "layers", "diff_ids": diff}
    cb = compact(cfg)
    files.append((sha(cb) + ".json", cb))
    man = [{"Config": sha(cb) + ".json", "RepoTags": [rest.get("tag", "test:latest")],
            "Layers": names}]
    files.append(("manifest.json", compact(man)))
    with tarfile.open(out, "w") as t:
        for name, data in files:
            ti = tarfile.TarInfo(name)
            if isinstance(data, str):
                ti.type, ti.linkname = tarfile.SYMTYPE, data
                t.addfile(ti)
                continue
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))


def owner_of(p, st, how):
    if how == "stat":
        return f"{st.st_uid}:{st.st_gid}"
    try:
        b = os.getxattr(p, "user.rootlesscontainers", follow_symlinks=False)
    except OSError:
        return "0:0" if how == "xattr" else "-"
    if how != "xattr":
        return b.hex()
    ids, i = {1: 0, 2: 0}, 0
    while i < len(b):
        key, i = varint(b, i)
        val, i = varint(b, i)
        ids[key >> 3] = 0 if val == 0xffffffff else val
    return f"{ids[1]}:{ids[2]}"


def varint(b, i):
    v, shift = 0, 0
    while True:
        v |= (b[i] & 0x7f) << shift
        i += 1
        if not b[i - 1] & 0x80:
            return v, i
        shift += 7


def cmd_tree(args):
    root = args[0]
    how = args[2] if len(args) > 2 and args[1] == "--owner" else "raw"
    groups = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for n in sorted(dirnames + filenames):
            p = os.path.join(dirpath, n)
            rel = os.path.relpath(p, root)
            st = os.lstat(p)
            own = owner_of(p, st, how)
            kind = stat.S_IFMT(st.st_mode)
            h, target, grp = "-", "-", "-"
            if stat.S_ISREG(st.st_mode):
                h = sha(open(p, "rb").read())[:16]
                if st.st_nlink > 1:
                    grp = groups.setdefault(st.st_ino, rel)
            elif stat.S_ISLNK(st.st_mode):
                target = os.readlink(p)
            size = st.st_size if not stat.S_ISDIR(st.st_mode) else 0
            print(f"{rel}\t{kind:o}\t{stat.S_IMODE(st.st_mode):04o}\t{size}\t{h}\t{target}\t{own}\t{grp}")


def cmd_random(args):
    import random
    rnd = random.Random(int(args[0]))
    prefix, nlayers = args[1], int(args[2])
    state = {}  # path -> "d", "f", "l", "p" (the merged tree so far)
    names = ["a", "b", "c", "d"]

    def parent_ok(path):
        parts = path.split("/")
        return all(state.get("/".join(parts[:i]), "d") == "d" for i in range(1, len(parts)))

    def remove(path):
        for k in [k for k in state if k == path or k.startswith(path + "/")]:
            del state[k]

    for n in range(nlayers):
        upper, entries = set(), []

        def mark(path):
            parts = path.split("/")
            for i in range(1, len(parts) + 1):
                upper.add("/".join(parts[:i]))
                if i < len(parts) and "/".join(parts[:i]) not in state:
                    state["/".join(parts[:i])] = "d"

        for _ in range(rnd.randint(3, 14)):
            depth = rnd.randint(1, 3)
            path = "/".join(rnd.choice(names) for _ in range(depth))
            if not parent_ok(path):
                continue
            op = rnd.choice("ffffddlhpwwo")
            uid, gid = rnd.choice([(0, 0), (0, 0), (1000, 1000), (0, 5), (7, 0)])
            mode = rnd.choice([0o644, 0o600, 0o755, 0o4755, 0o2750, 0o1777, 0o444, 0o700])
            if op == "w":
                if path in state and path not in upper:
                    d, _, b = path.rpartition("/")
                    entries.append(f"file {d + '/' if d else ''}.wh.{b} 0644 0 0")
                    remove(path)
                continue
            if op == "o":
                if state.get(path) == "d":
                    entries.append(f"file {path}/.wh..wh..opq 0644 0 0")
                    for k in [k for k in state if k.startswith(path + "/") and k not in upper]:
                        del state[k]
                    mark(path)
                continue
            if op == "h":
                targets = [k for k, v in state.items() if v == "f" and parent_ok(k)]
                if not targets or path in targets:
                    continue
                tgt = rnd.choice(targets)
                if tgt.startswith(path + "/"):
                    continue
            kind = {"f": "f", "d": "d", "l": "l", "h": "f", "p": "p"}[op]
            if path in state and not (kind == "d" and state[path] == "d"):
                remove(path)
            mark(path)
            state[path] = kind
            if op == "f":
                entries.append(f"file {path} {mode:o} {uid} {gid} v{n} {rnd.random()}")
            elif op == "d":
                entries.append(f"dir {path} {mode | 0o700:o} {uid} {gid}")
            elif op == "l":
                entries.append(f"sym {path} {rnd.choice(['a', '../b', '/etc/x', 'c/d'])}")
            elif op == "h":
                entries.append(f"hard {path} {tgt}")
            else:
                entries.append(f"fifo {path} {rnd.choice([0o644, 0o600]):o}")
        sys.stdin = io.StringIO("\n".join(entries) + "\n")
        cmd_layer([f"{prefix}{n}.tar"])


if __name__ == "__main__":
    {"layer": cmd_layer, "layout": cmd_layout, "docker": cmd_docker,
     "tree": cmd_tree, "random": cmd_random}[sys.argv[1]](sys.argv[2:])
