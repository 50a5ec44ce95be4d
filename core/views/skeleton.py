"""Pictures of a pose for the Learn pages: the skeleton over its frame, and the skeleton alone on
black, which is everything the pose model passes on to its LSTM."""

from __future__ import annotations

import cv2
import numpy as np

from core.models.pose import SKELETON, Pose

BONE = (80, 220, 120)
JOINT = (255, 200, 60)
MIN_VISIBILITY = 0.3  # joints the model thinks are hidden are drawn faintly


def draw(frame: np.ndarray, pose: Pose | None, alone: bool = False) -> np.ndarray:
    """An RGB copy of ``frame`` (or black of its size when ``alone``) with ``pose`` drawn on it."""
    canvas = np.zeros_like(frame) if alone else frame.copy()
    if pose is None:
        return canvas
    thickness = max(1, round(min(frame.shape[:2]) / 120))
    points = np.round(pose.landmarks).astype(int)
    for a, b in SKELETON:
        seen = min(pose.visibility[a], pose.visibility[b]) >= MIN_VISIBILITY
        colour = BONE if seen else tuple(c // 3 for c in BONE)
        cv2.line(canvas, tuple(points[a]), tuple(points[b]), colour, thickness, cv2.LINE_AA)
    for point, visibility in zip(points, pose.visibility, strict=True):
        colour = JOINT if visibility >= MIN_VISIBILITY else tuple(c // 3 for c in JOINT)
        cv2.circle(canvas, tuple(point), thickness + 1, colour, -1, cv2.LINE_AA)
    return canvas
