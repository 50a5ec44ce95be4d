"""One-off: extract MediaPipe's BlazePose models from the ``mediapipe`` 0.10.21 wheel.

    .venv/bin/python tools/fetch_pose_models.py [--out DIR]

Downloads the wheel for this Python and platform (``pip download --no-deps``, into a temporary
folder removed afterwards), takes ``pose_detection.tflite`` and ``pose_landmark_full.tflite``
out of it with ``zipfile`` and writes them to ``models/backbones/`` (or ``--out``) for
``core.models.pose``, after checking their SHA-256. mediapipe itself is never installed: it pins
protobuf < 5 against TensorFlow's >= 6, and ``core.models.pose`` runs the models with TensorFlow's own
TF Lite interpreter. The models are Apache-2.0 (BlazePose GHUM 3D, see its model card); the
.tflite files are the same in every platform's wheel of this version.
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

VERSION = "0.10.21"
OUT = Path(__file__).resolve().parent.parent / "models" / "backbones"
# member of the wheel -> SHA-256 of its bytes
FILES = {
    "mediapipe/modules/pose_detection/pose_detection.tflite": (
        "9ba9dd3d42efaaba86b4ff0122b06f29c4122e756b329d89dca1e297fd8f866c"
    ),
    "mediapipe/modules/pose_landmark/pose_landmark_full.tflite": (
        "e9a5c5cb17f736fafd4c2ec1da3b3d331d6edbe8a0d32395855aeb2cdfd64b9f"
    ),
}


def download_wheel(folder: Path) -> Path:
    """The mediapipe wheel for the running interpreter, fetched by pip into ``folder``."""
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:"]
    command += ["--dest", str(folder), f"mediapipe=={VERSION}"]
    subprocess.run(command, check=True)
    wheels = sorted(folder.glob(f"mediapipe-{VERSION}-*.whl"))
    if not wheels:
        raise SystemExit(f"pip left no mediapipe {VERSION} wheel in {folder}")
    return wheels[0]


def extract(wheel: Path, out: Path) -> list[Path]:
    """Checks every model's hash before writing any, so a bad wheel leaves ``out`` untouched."""
    contents = {}
    with zipfile.ZipFile(wheel) as archive:
        for member, expected in FILES.items():
            data = archive.read(member)
            digest = hashlib.sha256(data).hexdigest()
            if digest != expected:
                raise SystemExit(f"{member}: sha256 {digest}, expected {expected}")
            contents[out / Path(member).name] = data
    out.mkdir(parents=True, exist_ok=True)
    for path, data in contents.items():
        path.write_bytes(data)
    return list(contents)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help=f"destination folder (default {OUT})")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mediapipe-wheel-") as folder:
        wheel = download_wheel(Path(folder))
        for path in extract(wheel, args.out):
            print(f"wrote {path} ({path.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
