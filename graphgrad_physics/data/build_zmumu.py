"""Build ``graphgrad_physics/data/zmumu.npz`` (+ ``zmumu.json``) from the CMS Z->mumu test file.

Source: ``skhep_testdata/data/uproot-Zmumu.root`` inside the wheel of
``scikit-hep-testdata==0.3.12``, the last release that ships its files (0.4+ downloads them at
run time). Get the wheel with::

    pip download --no-deps scikit-hep-testdata==0.3.12 -d /tmp/dl

This is the only place in the project that needs ``uproot``; run it from a scratch environment::

    python3 -m venv /tmp/dvenv && /tmp/dvenv/bin/pip install uproot numpy
    /tmp/dvenv/bin/python graphgrad_physics/data/build_zmumu.py \
        --wheel /tmp/dl/scikit_hep_testdata-0.3.12-py2.py3-none-any.whl

Without ``--wheel``/``--root`` it uses an installed ``skhep_testdata`` package. The output is
byte-for-byte reproducible (fixed zip timestamps), so rebuilding must leave ``git diff`` empty.

Data: real 2010 CMS collision data (runs 148029, 148031), CMS open data, redistributed in
scikit-hep-testdata under BSD-3-Clause.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import io
import json
import os
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

WHEEL_NAME = "scikit_hep_testdata-0.3.12-py2.py3-none-any.whl"
MEMBER = "skhep_testdata/data/uproot-Zmumu.root"
ROOT_SHA256 = "8290ddc1f2b1f866f30df016558936da27107f7f5b87e574c741f2baab1bad64"
TREE = "events"
OUT_DIR = Path(__file__).resolve().parent  # beside this script, inside the package

# Column order of the tree; the dtype each is stored with (little-endian, no object arrays).
COLUMNS = {"Type": "<U2", "Run": "<i8", "Event": "<i8"}
for _i in (1, 2):
    COLUMNS.update({f"{c}{_i}": "<f8" for c in ("E", "px", "py", "pz", "pt", "eta", "phi")})
    COLUMNS[f"Q{_i}"] = "<i8"
COLUMNS["M"] = "<f8"


def read_source(wheel: Path | None, root: Path | None) -> tuple[bytes, dict]:
    """Return the raw .root bytes and a description of where they came from."""
    if wheel is not None:
        with zipfile.ZipFile(wheel) as zf:
            data = zf.read(MEMBER)
        wheel_sha = hashlib.sha256(wheel.read_bytes()).hexdigest()
        return data, {"wheel": wheel.name, "wheel_sha256": wheel_sha, "member": MEMBER}
    if root is None:
        spec = importlib.util.find_spec("skhep_testdata")
        if spec is None or not spec.submodule_search_locations:
            sys.exit(
                "no source given and skhep_testdata is not installed; run\n"
                "  pip download --no-deps scikit-hep-testdata==0.3.12 -d /tmp/dl\n"
                "and pass --wheel /tmp/dl/" + WHEEL_NAME
            )
        root = Path(spec.submodule_search_locations[0]) / "data" / "uproot-Zmumu.root"
    return root.read_bytes(), {"wheel": WHEEL_NAME, "member": MEMBER, "read_from": "installed copy"}


def read_table(raw: bytes) -> dict[str, np.ndarray]:
    import uproot  # only this script needs it

    with uproot.open(io.BytesIO(raw)) as f:
        arrays = f[TREE].arrays(list(COLUMNS), library="np")
    table = {}
    for name, dtype in COLUMNS.items():
        col = arrays[name]
        table[name] = np.array([str(s) for s in col], dtype=dtype) if name == "Type" else col
        table[name] = np.ascontiguousarray(table[name], dtype=dtype)
    return table


def npz_bytes(table: dict[str, np.ndarray]) -> bytes:
    """np.savez_compressed layout, but with fixed timestamps so the file is reproducible."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, arr in table.items():
            member = io.BytesIO()
            np.lib.format.write_array(member, arr, allow_pickle=False)
            info = zipfile.ZipInfo(name + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, member.getvalue(), compresslevel=9)
    return buf.getvalue()


def write_atomic(path: Path, data: bytes) -> None:
    """Temp file in the same folder, flush + fsync, then os.replace: never a half-written file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        os.fchmod(fd, 0o644)  # mkstemp makes 0600; the data is meant to be read by everyone
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    src = parser.add_mutually_exclusive_group()
    src.add_argument("--wheel", type=Path, help=f"path to {WHEEL_NAME}")
    src.add_argument("--root", type=Path, help="path to an extracted uproot-Zmumu.root")
    parser.add_argument("--out-dir", type=Path, default=OUT_DIR)
    args = parser.parse_args(argv)

    raw, source = read_source(args.wheel, args.root)
    root_sha = hashlib.sha256(raw).hexdigest()
    if root_sha != ROOT_SHA256:
        sys.exit(f"uproot-Zmumu.root sha256 is {root_sha}, expected {ROOT_SHA256} (wrong version?)")

    table = read_table(raw)
    n_rows = len(table["M"])
    blob = npz_bytes(table)
    events = np.unique(np.stack([table["Run"], table["Event"]], axis=1), axis=0)
    provenance = {
        "name": "CMS Z->mumu dimuon candidates (uproot-Zmumu.root)",
        "source": {
            "package": "scikit-hep-testdata==0.3.12",
            **source,
            "root_sha256": root_sha,
            "tree": TREE,
        },
        "rows": n_rows,
        "distinct_events": int(len(events)),
        "runs": sorted(int(r) for r in np.unique(table["Run"])),
        "columns": {name: dtype for name, dtype in COLUMNS.items()},
        "units": "GeV for E, px, py, pz, pt, M; phi in radians; Q in units of e",
        "licence": "CMS open data, redistributed via scikit-hep-testdata (BSD-3-Clause)",
        "npz_sha256": hashlib.sha256(blob).hexdigest(),
        "built_by": "graphgrad_physics/data/build_zmumu.py",
    }
    args.out_dir.mkdir(parents=True, exist_ok=True)
    write_atomic(args.out_dir / "zmumu.npz", blob)
    text = json.dumps(provenance, indent=2) + "\n"
    write_atomic(args.out_dir / "zmumu.json", text.encode())
    print(f"wrote {n_rows} rows, {len(events)} events, {len(blob)} bytes -> {args.out_dir}")


if __name__ == "__main__":
    main()
