"""Sizes of the Linux package: the .deb download and what it puts on disk.

    .venv/bin/python bench/bench_install.py [PATH.deb]

Without a path it runs packaging/build-deb (which reuses the cached bundle and package).
Figures printed:
* .deb size: the file an IT department copies to every seat (xz-compressed).
* Installed-Size: the control field dpkg and apt show (KiB, each file rounded up to 1 KiB).
* installed, apparent: the sum of the sizes of every file the package puts down (`dpkg-deb -x`
  into a temp dir; the package's own files only, not its Depends).
* installed, on disk: the same tree as `du` counts it on this file system (blocks allocated).
* the largest parts of /opt/softphone-assist/_internal (apparent size), to see what the bundle costs.
The bundle's own size and the frozen app's cold start are in bench/bench_bundle.py.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def build() -> Path:
    r = subprocess.run([str(REPO / "packaging" / "build-deb")], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"packaging/build-deb failed:\n{r.stderr[-2000:]}")
    return Path(r.stdout.strip().splitlines()[-1])


def apparent_bytes(top: Path) -> int:
    return sum(p.lstat().st_size for p in top.rglob("*") if p.is_file() and not p.is_symlink())


def du_bytes(top: Path) -> int:
    return int(subprocess.run(["du", "-s", "-B1", str(top)], capture_output=True, text=True,
                              check=True).stdout.split()[0])


def mb(n: float) -> str:
    return f"{n / 1e6:8.1f} MB"


def main() -> int:
    deb = Path(sys.argv[1]) if len(sys.argv) > 1 else build()
    field = subprocess.run(["dpkg-deb", "-f", str(deb), "Installed-Size"], capture_output=True, text=True,
                           check=True).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="bench-install-") as tmp:
        tree = Path(tmp)
        subprocess.run(["dpkg-deb", "-x", str(deb), str(tree)], check=True)
        files = [p for p in tree.rglob("*") if p.is_file() and not p.is_symlink()]
        apparent, on_disk = apparent_bytes(tree), du_bytes(tree)
        internal = tree / "opt" / "softphone-assist" / "_internal"
        parts = sorted(((apparent_bytes(p) if p.is_dir() else p.lstat().st_size, p.name)
                        for p in internal.iterdir()), reverse=True)[:8] if internal.is_dir() else []
    print(f"package: {deb.name}")
    print(f".deb size (download)          {mb(deb.stat().st_size)}")
    print(f"Installed-Size field          {mb(int(field) * 1024)}  ({field} KiB)")
    print(f"installed, apparent           {mb(apparent)}  ({len(files)} files)")
    print(f"installed, on disk (du)       {mb(on_disk)}")
    print(f"compression ratio             {apparent / deb.stat().st_size:8.1f} x")
    if parts:
        print("largest parts of /opt/softphone-assist/_internal:")
        for size, name in parts:
            print(f"  {mb(size)}  {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
