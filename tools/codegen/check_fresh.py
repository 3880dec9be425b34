#!/usr/bin/env python3
"""Checks that src/protocol/generated/ is what the generator writes today.

Regenerates into a temporary directory and compares file by file. Exits 77 (a skipped
ctest) when the schemas are not beside the repository, 1 on any difference.
"""
import filecmp
import pathlib
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import generate  # noqa: E402


def main():
    if not generate.DEFAULT_SCHEMAS.is_dir():
        print(f"check_fresh: no schemas at {generate.DEFAULT_SCHEMAS}; skipped")
        return 77
    with tempfile.TemporaryDirectory() as tmp:
        fresh = pathlib.Path(tmp)
        generate.generate(generate.DEFAULT_SCHEMAS, fresh)
        committed = generate.DEFAULT_OUT
        names = sorted({p.name for p in fresh.iterdir()} | {p.name for p in committed.iterdir()})
        stale = [n for n in names
                 if not (fresh / n).is_file() or not (committed / n).is_file()
                 or not filecmp.cmp(fresh / n, committed / n, shallow=False)]
    for n in stale:
        print(f"check_fresh: src/protocol/generated/{n} differs from the generator's output")
    if stale:
        print("check_fresh: run `python3 tools/codegen/generate.py` and commit the result")
        return 1
    print(f"check_fresh: {len(names)} generated files are up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
