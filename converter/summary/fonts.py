"""Finding a font that writes Chinese for the PDF (fpdf2 embeds a subset of it).

fpdf2 (2.8+) reads TrueType and CFF OpenType fonts, and TrueType collections by face number, so
Debian's fonts-noto-cjk (NotoSansCJK-Regular.ttc, face "Noto Sans CJK SC") and
fonts-wqy-microhei (wqy-microhei.ttc) both work as they are installed.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

# (regular, bold) files in order of preference; the face is chosen by family name below.
CANDIDATES: tuple[tuple[str, str], ...] = (
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
     "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc"),
    ("/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
     "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Bold.ttc"),
    ("/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc", "/usr/share/fonts/noto-cjk/NotoSansCJK-Bold.ttc"),
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", ""),
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", ""),
)
PREFERRED_FACE = ("Noto Sans CJK SC", "WenQuanYi Micro Hei", "WenQuanYi Zen Hei")
FALLBACK_LATIN = ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",)
INSTALL_HINT = ("no font for Chinese text was found: install the Debian package fonts-noto-cjk "
                "(apt-get install fonts-noto-cjk) or fonts-wqy-microhei, or set MEDBUNDLE_CJK_FONT "
                "to a .ttf/.otf/.ttc file")


class MissingFontError(RuntimeError):
    """No font able to write Chinese is installed; the message names the package to install."""


@dataclass(frozen=True)
class Face:
    path: str
    index: int = 0  # face number inside a .ttc collection


@dataclass(frozen=True)
class FontSet:
    regular: Face
    bold: Face
    fallback: Face | None  # a font for symbols the CJK font lacks (e.g. DejaVu Sans)


def face_index(path: str) -> int:
    """The face of a collection to use: Simplified Chinese first; 0 for a single font."""
    if not path.lower().endswith(".ttc"):
        return 0
    from fontTools.ttLib import TTCollection

    collection = TTCollection(path, lazy=True)
    names = [str(f["name"].getDebugName(1) or "") for f in collection.fonts]
    for wanted in PREFERRED_FACE:
        if wanted in names:
            return names.index(wanted)
    return 0


def _from_fontconfig() -> str:
    """A font file that fontconfig says covers Chinese, or ""."""
    if not shutil.which("fc-list"):
        return ""
    try:
        out = subprocess.run(["fc-list", ":lang=zh-cn", "file"], capture_output=True, text=True,
                             timeout=10, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return ""
    files = sorted(line.split(":")[0].strip() for line in out.splitlines() if line.strip())
    return next((f for f in files if f.lower().endswith((".ttf", ".otf", ".ttc"))), "")


@lru_cache(maxsize=1)
def find_fonts() -> FontSet:
    """The CJK font set to embed; raises MissingFontError naming the package to install."""
    override = os.environ.get("MEDBUNDLE_CJK_FONT")
    pairs: list[tuple[str, str]] = [(override, "")] if override else []
    pairs += list(CANDIDATES)
    chosen = next(((r, b) for r, b in pairs if r and Path(r).is_file()), None)
    if chosen is None:
        found = _from_fontconfig()
        chosen = (found, "") if found else None
    if chosen is None:
        raise MissingFontError(INSTALL_HINT)
    regular = Face(chosen[0], face_index(chosen[0]))
    bold = Face(chosen[1], face_index(chosen[1])) if chosen[1] and Path(chosen[1]).is_file() else regular
    latin = next((Face(p) for p in FALLBACK_LATIN if Path(p).is_file()), None)
    return FontSet(regular, bold, latin)
