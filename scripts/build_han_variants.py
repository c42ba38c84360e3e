"""Write curation_platform/data/han_variants.json: the characters only Simplified Chinese
uses and those only Traditional Chinese uses, from OpenCC's character dictionaries.

    pip download --no-deps opencc-python-reimplemented==0.1.7 -d /tmp/occ
    python scripts/build_han_variants.py /tmp/occ/opencc_python_reimplemented-0.1.7-py2.py3-none-any.whl

OpenCC (github.com/BYVoid/OpenCC, Apache-2.0) maps each simplified character to its
traditional forms (STCharacters.txt) and back (TSCharacters.txt). A character is
simplified-only when converting it to traditional always changes it and no traditional
form maps to it unchanged; the same the other way. Characters both scripts share (most of
them) are in neither set, so a text is decided by the characters that differ."""

from __future__ import annotations

import json
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def table(text: str) -> dict[str, list[str]]:
    out = {}
    for line in text.splitlines():
        if "\t" in line:
            key, values = line.split("\t", 1)
            out[key] = values.split()
    return out


def main(wheel: str) -> int:
    with zipfile.ZipFile(wheel) as z:
        st = table(z.read("opencc/dictionary/STCharacters.txt").decode("utf-8"))
        ts = table(z.read("opencc/dictionary/TSCharacters.txt").decode("utf-8"))
        version = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA")).split("-")[1].split(".dist")[0]
    trad_forms = {t for vs in st.values() for t in vs}
    simp_forms = {s for vs in ts.values() for s in vs}
    simplified = sorted(s for s, ts_ in st.items() if s not in ts_ and s not in trad_forms and len(s) == 1)
    traditional = sorted(t for t, ss in ts.items() if t not in ss and t not in simp_forms and len(t) == 1)
    out = REPO / "curation_platform" / "data" / "han_variants.json"
    out.write_text(json.dumps({"source": f"OpenCC character dictionaries via opencc-python-reimplemented {version} (Apache-2.0)",
                               "simplified_only": "".join(simplified), "traditional_only": "".join(traditional)},
                              ensure_ascii=False, indent=0) + "\n", "utf-8")
    print(f"{len(simplified)} simplified-only, {len(traditional)} traditional-only characters -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
