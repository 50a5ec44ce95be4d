import cv2
import numpy as np

from core.engine.analysis import analyze
from core.engine.annotate import annotated_copy
from core.media.encode import browser_copy, fourcc
from core.media.video import probe
from tests.support import SURFING


def test_annotated_copy_draws_the_label(lrcn_bundle, tmp_path):
    timeline = analyze(SURFING, lrcn_bundle)
    annotated = annotated_copy(SURFING, timeline, tmp_path)
    assert fourcc(annotated) in {"avc1", "h264"}
    plain_frame = cv2.VideoCapture(str(browser_copy(SURFING, tmp_path))).read()[1]
    drawn_frame = cv2.VideoCapture(str(annotated)).read()[1]
    corner = (slice(6, 30), slice(6, 120))
    assert np.abs(drawn_frame[corner].astype(int) - plain_frame[corner].astype(int)).mean() > 20
    assert probe(annotated).frame_count == probe(SURFING).frame_count
