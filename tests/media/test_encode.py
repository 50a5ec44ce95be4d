from core.media.encode import browser_copy, fourcc, plays_in_browsers
from core.media.video import probe
from tests.support import SURFING, UCF6


def test_xvid_avi_is_reencoded_to_h264_mp4(tmp_path):
    assert not plays_in_browsers(SURFING)
    copy = browser_copy(SURFING, tmp_path)
    assert copy.suffix == ".mp4" and fourcc(copy) in {"avc1", "h264"}
    original, playable = probe(SURFING), probe(copy)
    assert (playable.width, playable.height) == (original.width, original.height)
    assert abs(playable.frame_count - original.frame_count) <= 1


def test_h264_mp4_is_used_as_it_is(tmp_path):
    clip = UCF6 / "Surfing" / "v_Surfing_g10_c02.mp4"
    assert plays_in_browsers(clip)
    assert browser_copy(clip, tmp_path) == clip
    assert list(tmp_path.iterdir()) == []
