"""Human pose from a frame: MediaPipe's BlazePose detector and landmark model, run by TF Lite.

Why these models: they are the only pose weights this project can install offline (they ship
inside the ``mediapipe`` 0.10.21 wheel on PyPI, Apache-2.0; ``tools/fetch_pose_models.py``
extracts them into ``models/backbones/``), and they run on TensorFlow's own TF Lite
interpreter, so mediapipe itself (which pins protobuf < 5 against TensorFlow's >= 6, and brings
a second OpenCV) is never installed.

The pipeline is BlazePose's, minus three refinements: frame-to-frame tracking (every frame is
estimated on its own, so a clip played backwards gives the same poses in reverse order), the
weighted non-maximum suppression of overlapping detections (the single best one is taken) and the
heatmap refinement of landmarks; the detector's letterbox is padded grey, not black. Trying
MediaPipe's padding and weighted suppression on 440 consecutive frames changed neither how often a
person was found nor how much the features jitter.

1. the detector sees the frame letterboxed to 224x224 and returns, per anchor, a box and four
   keypoints (hip centre, a point on the body's enclosing circle, shoulder centre, ...);
2. the hip centre and the circle point give a square region of interest, rotated so that the
   body stands upright in it, 1.25x the circle's diameter;
3. the landmark model sees that region as a 256x256 crop and returns 33 body landmarks (and six
   helper points) in crop pixels, which are mapped back into the frame.

``PoseEncoder`` turns a pose into the ``pose_lstm`` model's per-frame features: landmarks
relative to the hips, in torso lengths, so that the sequence model sees the body and nothing
else (no surfboard, no piano: that is the approach's trade-off).
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import cv2
import numpy as np

from core.config import BACKBONES_DIR
from core.errors import ModelError
from core.models import litert

DETECTOR_FILE = BACKBONES_DIR / "pose_detection.tflite"
LANDMARK_FILE = BACKBONES_DIR / "pose_landmark_full.tflite"
PROVENANCE = (
    "BlazePose GHUM 3D (Bazarevsky et al., 2020): MediaPipe's pose detector and full landmark "
    "model from the PyPI wheel `mediapipe` 0.10.21 (`pose_detection.tflite`, "
    "`pose_landmark_full.tflite`, Apache-2.0), extracted by `tools/fetch_pose_models.py` and run "
    "by TensorFlow's TF Lite interpreter (`core/models/pose.py`); frozen."
)

DETECTOR_SIZE = 224
LANDMARK_SIZE = 256
NUM_LANDMARKS = 33  # the body; the model's six further points only help MediaPipe's tracking
MODEL_LANDMARKS = 39
MIN_DETECTION_SCORE = 0.5
MIN_PRESENCE = 0.5
REMEMBERED = 1024  # frames whose pose is kept: a few short clips, about 1 MB
ROI_SCALE = 1.25
# One value per landmark for x, y (hip-centred, in torso lengths) and visibility, then presence.
FEATURES = NUM_LANDMARKS * 3 + 1
FEATURES_VERSION = 1  # bump when the pipeline or pose_features change: cached features go stale

LEFT_SHOULDER, RIGHT_SHOULDER, LEFT_HIP, RIGHT_HIP = 11, 12, 23, 24
# Pairs of landmarks joined when a skeleton is drawn (face outline left out).
SKELETON = (
    (11, 12), (11, 13), (13, 15), (12, 14), (14, 16), (11, 23), (12, 24), (23, 24),
    (23, 25), (25, 27), (27, 29), (29, 31), (24, 26), (26, 28), (28, 30), (30, 32),
    (15, 17), (15, 19), (16, 18), (16, 20), (0, 11), (0, 12),
)  # fmt: skip


@dataclass(frozen=True)
class Region:
    """A square region of the frame, in pixels, rotated by ``angle`` radians (0: upright)."""

    center_x: float
    center_y: float
    size: float
    angle: float

    def crop_to_frame(self, side: int) -> np.ndarray:
        """2x3 affine map from crop pixels (a ``side``-pixel square) to frame pixels."""
        scale = self.size / side
        cos, sin = math.cos(self.angle) * scale, math.sin(self.angle) * scale
        half = side / 2
        return np.array(
            [
                [cos, -sin, self.center_x - cos * half + sin * half],
                [sin, cos, self.center_y - sin * half - cos * half],
            ]
        )


@dataclass(frozen=True)
class Pose:
    """33 landmarks in frame pixels (x, y), their visibility (0-1), and how sure the model is
    that a person is there at all."""

    landmarks: np.ndarray  # (33, 2)
    visibility: np.ndarray  # (33,)
    presence: float
    region: Region


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -50, 50)))


@cache
def detector_anchors() -> np.ndarray:
    """Anchor centres of the detector's 2254 outputs (MediaPipe's SsdAnchorsCalculator with the
    pose detector's options: strides 8, 16, 32, 32, 32, two fixed-size anchors per layer, layers
    of equal stride merged into one grid)."""
    centres = []
    for stride, anchors_per_cell in ((8, 2), (16, 2), (32, 6)):
        cells = DETECTOR_SIZE // stride
        ys, xs = np.meshgrid(np.arange(cells), np.arange(cells), indexing="ij")
        grid = np.stack([(xs.ravel() + 0.5) / cells, (ys.ravel() + 0.5) / cells], axis=1)
        centres.append(np.repeat(grid, anchors_per_cell, axis=0))
    return np.concatenate(centres)


def _present(path: Path) -> Path:
    if not path.is_file():
        raise ModelError(
            f"The pose model {path.name} is missing from {path.parent}; "
            "run tools/fetch_pose_models.py to extract it from the mediapipe wheel."
        )
    return path


def _interpreter(path: Path, delegates: bool = True):
    return litert.interpreter(_present(path), delegates)


@cache
def estimator_flops() -> int:
    """Floating-point operations per frame of the detector and the landmark model together
    (``PoseEstimator.estimate`` on a frame with a person), counted from the TF Lite graphs: two
    per multiply-accumulate of every CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED op (output
    elements x the filter's receptive field), the ops that hold nearly all of the arithmetic;
    additions, activations, resizes and the crop are left out.

    Why counted from the graphs: ``core.training.compare`` adds this to the Keras models' FLOPs, which it
    counts by the same rule from layer shapes, and the model card's figures do not say how they
    were counted. A frame without a person costs only the detector's share (a little over half).
    The interpreters are built without the default XNNPACK delegate, which would otherwise
    replace the ops by DELEGATE nodes whose work cannot be read off the graph."""
    return sum(litert.graph_flops(_present(path)) for path in (DETECTOR_FILE, LANDMARK_FILE))


class PoseEstimator:
    """BlazePose on single RGB frames (uint8, any size). ``estimate`` may be called from several
    threads (Streamlit sessions share one estimator): a TF Lite interpreter must not be touched
    while it runs, so calls take turns."""

    def __init__(self, detector: Path = DETECTOR_FILE, landmarker: Path = LANDMARK_FILE):
        self._lock = threading.Lock()
        self._recent: OrderedDict[bytes, Pose | None] = OrderedDict()
        self.detector = _interpreter(detector)
        self.landmarker = _interpreter(landmarker)
        self._detector_io = self._io(self.detector)
        self._landmark_io = self._io(self.landmarker)

    @staticmethod
    def _io(interpreter) -> tuple[int, list[int]]:
        return (
            interpreter.get_input_details()[0]["index"],
            [d["index"] for d in interpreter.get_output_details()],
        )

    def detect(self, frame: np.ndarray) -> Region | None:
        """The region of the most confident person, or None when nobody scores 0.5."""
        height, width = frame.shape[:2]
        side = max(height, width)
        # whole pixels, so that the frame sits exactly where the keypoints are mapped back from
        pad_x, pad_y = (side - width) // 2, (side - height) // 2
        canvas = np.full((side, side, 3), 128, np.uint8)
        canvas[pad_y : pad_y + height, pad_x : pad_x + width] = frame
        image = cv2.resize(canvas, (DETECTOR_SIZE, DETECTOR_SIZE), interpolation=cv2.INTER_AREA)
        tensor = image.astype(np.float32)[None] / 127.5 - 1.0
        source, (boxes_out, scores_out) = self._detector_io
        self.detector.set_tensor(source, tensor)
        self.detector.invoke()
        scores = _sigmoid(self.detector.get_tensor(scores_out)[0, :, 0])
        best = int(scores.argmax())
        if scores[best] < MIN_DETECTION_SCORE:
            return None
        raw = self.detector.get_tensor(boxes_out)[0, best]
        anchor = detector_anchors()[best]
        # keypoints 0 (hip centre) and 1 (a point on the circle around the whole body), in pixels
        hip = (raw[4:6] / DETECTOR_SIZE + anchor) * side - (pad_x, pad_y)
        rim = (raw[6:8] / DETECTOR_SIZE + anchor) * side - (pad_x, pad_y)
        return _region(hip, rim)

    def landmarks(self, frame: np.ndarray, region: Region) -> Pose:
        to_frame = region.crop_to_frame(LANDMARK_SIZE)
        crop = cv2.warpAffine(
            frame,
            to_frame,
            (LANDMARK_SIZE, LANDMARK_SIZE),
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
            borderMode=cv2.BORDER_REPLICATE,
        )
        source, outputs = self._landmark_io
        self.landmarker.set_tensor(source, crop.astype(np.float32)[None] / 255.0)
        self.landmarker.invoke()
        raw = self.landmarker.get_tensor(outputs[0])[0].reshape(MODEL_LANDMARKS, 5)[:NUM_LANDMARKS]
        presence = float(np.ravel(self.landmarker.get_tensor(outputs[1]))[0])
        points = raw[:, :2] @ to_frame[:, :2].T + to_frame[:, 2]
        return Pose(points, _sigmoid(raw[:, 3]), presence, region)

    def estimate(self, frame: np.ndarray) -> Pose | None:
        """The pose of the most prominent person in ``frame``, or None when there is nobody.

        Remembered for the last ``REMEMBERED`` frames by content: the Pose page asks for the same
        frames three times (its timeline, its direction check and its skeletons), and the two
        networks cost 20 ms a frame, where a digest costs 0.1 ms."""
        key = hashlib.blake2b(frame.tobytes(), digest_size=16).digest() + repr(frame.shape).encode()
        with self._lock:
            if key in self._recent:
                self._recent.move_to_end(key)
                return self._recent[key]
            region = self.detect(frame)
            pose = None if region is None else self.landmarks(frame, region)
            if pose is not None and pose.presence < MIN_PRESENCE:
                pose = None
            self._recent[key] = pose
            if len(self._recent) > REMEMBERED:
                self._recent.popitem(last=False)
        return pose


@cache
def shared_estimator() -> PoseEstimator:
    """One estimator per process: the interpreters cost memory and threads, and the analysis
    path and the Learn page would otherwise each load their own."""
    return PoseEstimator()


def _region(hip: np.ndarray, rim: np.ndarray) -> Region:
    """MediaPipe's alignment: centred on the hips, side 2 x 1.25 x the hip-to-rim distance,
    rotated so that the hip-to-rim direction points up."""
    dx, dy = rim - hip
    angle = math.pi / 2 - math.atan2(-dy, dx)
    angle = (angle + math.pi) % (2 * math.pi) - math.pi
    return Region(float(hip[0]), float(hip[1]), 2 * math.hypot(dx, dy) * ROI_SCALE, angle)


def pose_features(pose: Pose | None) -> np.ndarray:
    """``FEATURES`` numbers for one frame: every landmark relative to the hip centre in torso
    lengths (shoulder centre to hip centre), its visibility, then 1 for a person (all zeros
    when there is none). Where the person stands and how large they appear are divided out."""
    features = np.zeros(FEATURES, np.float32)
    if pose is None:
        return features
    points = pose.landmarks
    hips = points[[LEFT_HIP, RIGHT_HIP]].mean(axis=0)
    shoulders = points[[LEFT_SHOULDER, RIGHT_SHOULDER]].mean(axis=0)
    torso = max(float(np.linalg.norm(shoulders - hips)), 1e-3)
    body = (points - hips) / torso
    features[: 2 * NUM_LANDMARKS] = np.clip(body, -10, 10).ravel()
    features[2 * NUM_LANDMARKS : 3 * NUM_LANDMARKS] = pose.visibility
    features[-1] = 1.0
    return features


class PoseEncoder:
    """uint8 frames (N, H, W, 3) -> pose features (N, FEATURES): the ``pose_lstm`` model's
    frame encoder. It lives outside the Keras model because the crop depends on the detection."""

    features = FEATURES
    label = "BlazePose"

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        estimator = shared_estimator()
        return np.stack([pose_features(estimator.estimate(frame)) for frame in frames])

    @staticmethod
    def flops_per_frame() -> int:
        return estimator_flops()

    @staticmethod
    def fingerprint() -> str:
        """A short hash of both model files and of the settings that shape the features (names
        which pipeline cached features came from; change ``FEATURES_VERSION`` with the code)."""
        digest = hashlib.sha256()
        for path in (DETECTOR_FILE, LANDMARK_FILE):
            digest.update(path.read_bytes())
        settings = (FEATURES_VERSION, MIN_DETECTION_SCORE, MIN_PRESENCE, ROI_SCALE, FEATURES)
        digest.update(repr(settings).encode())
        return digest.hexdigest()[:16]
