"""What a unified kernel image says about itself: the root hash on its ``.cmdline`` and its ``.osrel``.

The updater tells boot entries apart by the root they boot, read from the UKI itself rather than
from its file name: the entry that boots the running root is the fallback and is never removed,
and a new UKI must name the root hash of the slot just written, or the box would not boot it.
"""

from __future__ import annotations

import re
import struct
from pathlib import Path

_ROOTHASH = re.compile(rb"(?:^|\s)roothash=([0-9a-f]{64})(?:\s|$)")
_MAX_SECTION = 1 << 20  # .cmdline and .osrel are small; the kernel and initrd are never read


def sections(path: Path, wanted: tuple[str, ...] = (".cmdline", ".osrel")) -> dict[str, bytes]:
    """The named PE sections' bytes (those present). An empty dict when the file is not a PE image."""
    out: dict[str, bytes] = {}
    with path.open("rb") as f:
        head = f.read(64)
        if len(head) < 64 or head[:2] != b"MZ":
            return out
        (pe,) = struct.unpack_from("<I", head, 0x3C)
        f.seek(pe)
        coff = f.read(24)
        if len(coff) < 24 or coff[:4] != b"PE\0\0":
            return out
        count, optional = struct.unpack_from("<H", coff, 6)[0], struct.unpack_from("<H", coff, 20)[0]
        f.seek(pe + 24 + optional)
        table = f.read(40 * count)
        for i in range(len(table) // 40):
            entry = table[i * 40 : (i + 1) * 40]
            name = entry[:8].rstrip(b"\0").decode("ascii", "replace")
            virtual_size, _, raw_size, raw_at = struct.unpack_from("<IIII", entry, 8)
            if name in wanted:
                size = min(virtual_size or raw_size, raw_size, _MAX_SECTION)
                f.seek(raw_at)
                out[name] = f.read(size)
    return out


def roothash(path: Path) -> str | None:
    """The ``roothash=`` on the UKI's command line, or None."""
    found = _ROOTHASH.search(sections(path, (".cmdline",)).get(".cmdline", b"").rstrip(b"\0"))
    return found.group(1).decode() if found else None


def os_release(text: str) -> dict[str, str]:
    """KEY=value lines of an os-release file, quotes removed."""
    out = {}
    for line in text.splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and key and not key.startswith("#"):
            out[key] = value.strip().strip("\"'")
    return out


def serial(path: Path) -> int | None:
    """IMAGE_SERIAL from the UKI's ``.osrel``, or None."""
    value = os_release(sections(path, (".osrel",)).get(".osrel", b"").decode("utf-8", "replace")).get("IMAGE_SERIAL")
    return int(value) if value and value.isdigit() else None
