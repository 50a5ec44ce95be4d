"""The app with the outside world (AppTest): the default model from a stand-in Hub, its cached
copy or the bundled fall-back, a Hub repo typed into the sidebar, and a video link on an allowed
host."""

import pytest

from core.config import DEFAULT_BUNDLE, LRCN_BUNDLE
from tests.support import SURFING, button, damaged_bundle, one_more_class, open_page, upload


@pytest.fixture
def fresh_app_caches():
    """The default-model decision is cached per process: each test makes its own."""
    from pages._app.common import default_choice

    default_choice.clear()
    yield
    default_choice.clear()


@pytest.fixture
def hub(hub_stand_in, monkeypatch, fresh_app_caches):
    """The shared stand-in Hub serving lab/lrcn@v1, named as the app's default model."""
    hub_stand_in.add_folder("lab/lrcn", LRCN_BUNDLE, tag="v1")
    monkeypatch.setenv("ARL_MODEL_REPO", "lab/lrcn")
    monkeypatch.setenv("ARL_MODEL_REVISION", "v1")
    return hub_stand_in


def sidebar_text(app) -> str:
    kinds = ("info", "caption", "error")
    return " ".join(str(element.value) for kind in kinds for element in app.sidebar.get(kind))


def load_typed(app, text: str):
    app.sidebar.text_input[0].input(text)
    button(app, "Load").click().run()
    assert not app.exception
    return app


def test_default_model_comes_from_the_hub_and_the_model_page_says_so(hub):
    app = open_page("pages/model.py")
    assert "Downloaded hf://lab/lrcn@v1" in [status.label for status in app.status]
    assert "From the Hub: hf://lab/lrcn@v1" in sidebar_text(app)
    assert app.sidebar.selectbox[0].value == "hf://lab/lrcn@v1"
    assert "from the Hugging Face Hub" in app.markdown[0].value


def test_default_hub_model_that_does_not_load_gives_way_to_the_bundled_one(hub, tmp_path, monkeypatch):
    hub.add_folder("lab/broken", damaged_bundle(tmp_path / "broken", one_more_class), tag="v1")
    monkeypatch.setenv("ARL_MODEL_REPO", "lab/broken")
    app = upload(open_page("pages/analyze.py"), SURFING)
    assert "predicts 6 classes, but config.json lists 7" in app.warning[0].value
    assert "Using the bundled model instead" in app.warning[0].value
    assert "Surfing" in app.success[0].value


def test_unreachable_hub_falls_back_and_says_why(hub):
    hub.stop()
    app = open_page("pages/analyze.py")
    assert "Using the bundled model: The Hub (127.0.0.1) could not be reached" in sidebar_text(app)
    assert app.sidebar.selectbox[0].value == str(DEFAULT_BUNDLE)
    assert not app.error


def test_cached_hub_model_is_used_while_the_hub_is_down_and_the_sidebar_says_so(hub):
    from core.models.hub import HubRef, fetch

    fetch(HubRef.parse("lab/lrcn@v1"))  # downloaded once, by an earlier run
    hub.stop()
    app = open_page("pages/analyze.py")
    assert "From the Hub: hf://lab/lrcn@v1 (cached)." in sidebar_text(app)
    assert app.sidebar.selectbox[0].value == "hf://lab/lrcn@v1"
    assert not app.status  # nothing to download
    assert not app.warning and not app.error


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("nobody/nothing@main", "nobody/nothing was not found on the Hub"),
        ("lab/private@main", "lab/private was not found on the Hub: check the name, or set HF_TOKEN"),
        ("lab/broken@v1", "The model predicts 6 classes, but config.json lists 7."),
    ],
    ids=["missing", "private", "incompatible"],
)
def test_typed_hub_repo_loads_and_one_that_cannot_be_used_keeps_the_model(hub, tmp_path, typed, reason):
    hub.add_folder("lab/second", LRCN_BUNDLE)
    hub.add_folder("lab/private", LRCN_BUNDLE, private=True)
    hub.add_folder("lab/broken", damaged_bundle(tmp_path / "broken", one_more_class), tag="v1")
    app = load_typed(open_page("pages/analyze.py"), "lab/second@main")
    assert app.sidebar.selectbox[0].value == "hf://lab/second@main"
    assert "Hub · lab/second@main" in app.sidebar.selectbox[0].options
    assert not app.sidebar.error

    load_typed(app, typed)
    errors = [error.value for error in app.sidebar.error]
    assert len(errors) == 1 and reason in errors[0], errors
    assert app.sidebar.selectbox[0].value == "hf://lab/second@main"
    assert f"Hub · {typed}" not in app.sidebar.selectbox[0].options


def test_pasted_link_is_fetched_and_analysed(site, monkeypatch, fresh_app_caches):
    base, paths = site
    monkeypatch.setenv("ARL_ALLOWED_HOSTS", "127.0.0.1")
    app = open_page("pages/analyze.py")
    link = next(t for t in app.main.text_input if "paste a video link" in t.label)
    link.input(f"{base}/clip.mp4")
    button(app, "Fetch").click().run()
    assert not app.exception and not app.main.error
    assert "/clip.mp4" in paths
    assert "Surfing" in app.success[0].value
    assert len(app.get("plotly_chart")) == 2


def test_refused_link_shows_why_and_the_page_stays_usable(site, fresh_app_caches):
    base, paths = site
    app = open_page("pages/analyze.py")
    link = next(t for t in app.main.text_input if "paste a video link" in t.label)
    link.input(f"{base}/clip.mp4")
    button(app, "Fetch").click().run()
    assert not app.exception
    assert "private, local or reserved address" in app.main.error[0].value
    assert paths == []
    assert app.info and "Upload a clip" in app.info[0].value
