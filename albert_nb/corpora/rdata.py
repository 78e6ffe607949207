"""A small pure-Python reader for R's lazy-load databases (`Rdata.rdx` + `Rdata.rdb`).

Why: Jane Austen's novels ship in the Debian package `r-cran-janeaustenr` as R data. We want
the text without installing R, so we read the two files directly.

Format (R's "XDR" serialisation, version 2 or 3):
* `Rdata.rdx`: a gzip-compressed serialised R list `(variables, references, compressed)`;
  `variables` is a named list giving, for each object, an `(offset, length)` into the .rdb.
* `Rdata.rdb`: at each offset, a 4-byte big-endian uncompressed length followed by a zlib
  stream holding one serialised object.
* A serialised object: `b"X\\n"`, three ints (format version, writer version, reader version),
  for version 3 the native encoding name, then items. Each item starts with an int of flags:
  low byte = type, bit 9 = has attributes, bit 10 = has tag.

Only the types that plain data (character/integer/double vectors, lists, pairlists for
attributes) need are implemented; anything else raises InputError.
"""
from __future__ import annotations

import gzip
import os
import struct
import zlib

from albert_nb.errors import InputError

NILSXP, SYMSXP, LISTSXP, CHARSXP, LGLSXP = 0, 1, 2, 9, 10
INTSXP, REALSXP, STRSXP, VECSXP = 13, 14, 16, 19
REFSXP, NILVALUE_SXP, GLOBALENV_SXP, EMPTYENV_SXP, BASEENV_SXP = 255, 254, 253, 242, 241
NA_INTEGER = -2147483648


class _Reader:
    def __init__(self, data: bytes, source: str):
        self.data, self.pos, self.source = data, 0, source
        self.refs: list = []

    def int(self) -> int:
        (value,) = struct.unpack_from(">i", self.data, self.pos)
        self.pos += 4
        return value

    def bytes(self, n: int) -> bytes:
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def header(self) -> None:
        if self.bytes(2) != b"X\n":
            raise InputError(f"{self.source}: not an R XDR serialisation (expected b'X\\n')")
        version = self.int()
        self.int()
        self.int()
        if version == 3:
            self.bytes(self.int())  # native encoding name
        elif version != 2:
            raise InputError(f"{self.source}: unsupported R serialisation version {version}")

    def item(self):
        flags = self.int()
        kind = flags & 0xFF
        has_attr, has_tag = bool(flags & (1 << 9)), bool(flags & (1 << 10))
        if kind in (NILVALUE_SXP, NILSXP, EMPTYENV_SXP, GLOBALENV_SXP, BASEENV_SXP):
            return None
        if kind == REFSXP:
            index = flags >> 8 or self.int()
            return self.refs[index - 1]
        if kind == SYMSXP:
            name = self.item()
            self.refs.append(name)
            return name
        if kind == CHARSXP:
            n = self.int()
            return None if n == -1 else self.bytes(n).decode("utf-8", errors="replace")
        if kind == LISTSXP:  # pairlist: [attr] [tag] car cdr -> a list of (tag, value)
            out = []
            while True:
                if has_attr:
                    self.item()
                tag = self.item() if has_tag else None
                out.append((tag, self.item()))
                flags = self.int()
                kind = flags & 0xFF
                if kind != LISTSXP:
                    if kind not in (NILVALUE_SXP, NILSXP):
                        raise InputError(f"{self.source}: unexpected pairlist tail type {kind}")
                    return out
                has_attr, has_tag = bool(flags & (1 << 9)), bool(flags & (1 << 10))
        if kind in (LGLSXP, INTSXP):
            n = self.int()
            value = list(struct.unpack_from(f">{n}i", self.data, self.pos))
            self.pos += 4 * n
        elif kind == REALSXP:
            n = self.int()
            value = list(struct.unpack_from(f">{n}d", self.data, self.pos))
            self.pos += 8 * n
        elif kind == STRSXP:
            value = [self.item() for _ in range(self.int())]
        elif kind == VECSXP:
            value = [self.item() for _ in range(self.int())]
        else:
            raise InputError(f"{self.source}: R object type {kind} is not supported by this reader")
        if has_attr:
            attrs = dict(self.item())
            names = attrs.get("names")
            if kind == VECSXP and names is not None:
                value = dict(zip(names, value))
        return value


def unserialize(data: bytes, source: str = "<R data>"):
    reader = _Reader(data, source)
    reader.header()
    return reader.item()


def read_lazyload_index(rdx_path) -> dict:
    """{object name: (offset, length)} from an `.rdx` file."""
    rdx_path = os.fspath(rdx_path)
    try:
        with gzip.open(rdx_path, "rb") as handle:
            data = handle.read()
    except (OSError, EOFError) as err:
        raise InputError(f"{rdx_path!r} is not a gzip-compressed R lazy-load index: {err}") from None
    index = unserialize(data, rdx_path)
    if not isinstance(index, dict) or "variables" not in index:
        raise InputError(f"{rdx_path!r}: expected a list with 'variables'")
    return {name: (int(v[0]), int(v[1])) for name, v in index["variables"].items()}


def read_lazyload_db(directory, basename: str = "Rdata") -> dict:
    """All objects of `<directory>/<basename>.rdx/.rdb` as Python values."""
    rdx = os.path.join(os.fspath(directory), basename + ".rdx")
    rdb = os.path.join(os.fspath(directory), basename + ".rdb")
    for path in (rdx, rdb):
        if not os.path.isfile(path):
            raise InputError(f"R lazy-load file not found: {path!r}")
    index = read_lazyload_index(rdx)
    out = {}
    with open(rdb, "rb") as handle:
        blob = handle.read()
    for name, (offset, length) in index.items():
        chunk = blob[offset:offset + length]
        try:
            payload = zlib.decompress(chunk[4:])  # 4-byte big-endian length, then zlib
        except zlib.error as err:
            raise InputError(f"{rdb!r}: object {name!r} is not zlib-compressed ({err})") from None
        out[name] = unserialize(payload, f"{rdb}:{name}")
    return out
