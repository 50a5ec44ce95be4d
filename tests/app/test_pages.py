"""The app as Streamlit runs it, without a browser (AppTest)."""

import pytest
from streamlit.testing.v1 import AppTest

from core.config import PROJECT_ROOT
from tests.conftest import SURFING

APP = str(PROJECT_ROOT / "streamlit_app.py")


def open_page(page: str | None = None) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=120)
    app.run()
    if page:
        app.switch_page(page)
        app.run()
    assert not app.exception
    return app


def test_home_page_leads_to_analyze():
    app = open_page()
    assert "Action Recognition Lab" in app.title[0].value


def test_analyze_page_waits_for_an_upload():
    app = open_page("pages/analyze.py")
    assert app.info and "Upload a clip" in app.info[0].value


def test_uploading_a_real_clip_gives_a_timeline():
    app = open_page("pages/analyze.py")
    app.file_uploader[0].upload(SURFING.name, SURFING.read_bytes(), "video/x-msvideo")
    app.run()
    assert not app.exception
    assert not app.error
    assert "Surfing" in app.success[0].value
    assert app.get("plotly_chart")
    assert app.dataframe
    assert app.get("download_button")


@pytest.mark.parametrize(("name", "content"), [("notes.mp4", b"not a video at all\n" * 30)])
def test_a_non_video_upload_shows_an_error_and_the_page_stays_usable(name, content):
    app = open_page("pages/analyze.py")
    app.file_uploader[0].upload(name, content, "video/mp4")
    app.run()
    assert not app.exception
    assert "could not be opened as a video" in app.error[0].value
    app.file_uploader[0].upload(SURFING.name, SURFING.read_bytes(), "video/x-msvideo")
    app.run()
    assert not app.exception and "Surfing" in app.success[0].value
