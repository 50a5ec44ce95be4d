"""UI pieces shared by the pages (in pages/_app/, which Streamlit does not take for a page): the
cached model loader, settings with Streamlit secrets, and the sidebar model picker."""

import hashlib
import uuid
from pathlib import Path

import streamlit as st

from core.config import MODELS_DIR, Settings, sample_clips
from core.engine.analysis import analyze
from core.engine.jobs import JobBoard
from core.errors import ActionLabError
from core.media.encode import cut
from core.media.video import probe, staged
from core.media.youtube import fetched, safe_name
from core.models import bundle as bundles
from core.models import hub
from core.training.teach import new_bundle_folder

DEMO_MAX_S = 20.0  # longest clip a Learn page demonstrates on (each runs its own models on it)


def use_app_navigation() -> None:
    """Called first by every page. On a fresh server, Streamlit runs a deep link (say /model) as
    an old-style multipage app because the page files live in pages/ (streamlit#10276): the page
    renders without st.navigation's sections, and without running streamlit_app.py at all. Switch
    the process to st.navigation (which it does itself as soon as streamlit_app.py runs) and rerun,
    once per session at most (AppTest puts every run back into that mode; a rerun there would
    drop the button click that caused the run)."""
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory and not st.session_state.get("left_pages_mode"):
        st.session_state["left_pages_mode"] = True
        PagesManager.uses_pages_directory = False
        st.rerun()


@st.cache_resource(show_spinner="Loading the model…", max_entries=32)
def load_bundle(ref: str):
    """One loaded copy per model per process, shared by every session. Bounded: every Learn
    page's models and a few more fit, while taught bundles (each with its own copy of the
    backbone's weights) cannot pile up on a long-running server; a session still using an
    evicted bundle keeps its own reference."""
    return bundles.load(ref)


@st.cache_resource
def analysis_jobs() -> JobBoard:
    """The process's analyses, shared by every session (see ``core.engine.jobs``)."""
    return JobBoard(keep=32)


def run_analysis(
    digest: str, data: bytes, suffix: str, model_ref: str, hop_s: float, max_duration_s: float | None
):
    """The timeline of a clip, keyed by file hash, model and hop: changing display options never
    re-runs the model. The analysis runs as a background job, so a widget touched meanwhile
    reruns the page without restarting it; this run (or the rerun) shows its progress."""

    model = load_bundle(model_ref)  # here, where the cache can show its spinner

    def work(progress):
        with staged(data, suffix) as path:
            return analyze(path, model, hop_s=hop_s, progress=progress, max_duration_s=max_duration_s)

    owner = st.session_state.setdefault("session_key", uuid.uuid4().hex)
    # the bar says what the analysis does first, even for a clip analysed before the next poll
    job = analysis_jobs().submit((digest, model_ref, hop_s, max_duration_s), owner, work, "reading video")
    if not job.wait(0.0):
        bar = st.progress(job.fraction, text=job.stage)
        while not job.wait(0.1):
            bar.progress(job.fraction, text=job.stage)
        bar.empty()  # finished: the result speaks for itself
    return job.result()


@st.cache_resource(ttl=600, show_spinner="Looking for the model on the Hub…")
def default_choice() -> hub.ModelChoice:
    """Decided once per process (and again after ten minutes, so that a Hub that was down at
    start-up is picked up later); never slower than the fall-back limit when the Hub is away.
    The download itself happens in view, in ``current_bundle``."""
    return hub.choose_default(settings())


def settings() -> Settings:
    """Settings from ``ARL_*`` environment variables; on a host without a shell (Streamlit
    Community Cloud) the same keys may come from ``st.secrets``, environment first."""
    try:
        secrets = {key: str(value) for key, value in st.secrets.items() if key.startswith("ARL_")}
    except FileNotFoundError:  # no secrets.toml: nothing to add
        secrets = {}
    return Settings.from_env(fallback=secrets)


def _download_with_progress(ref: str) -> None:
    """Hub files not yet in the cache are fetched here, in view, before the cached load; once a
    session has the files, its reruns skip even the cache lookup."""
    ready = st.session_state.setdefault("hub_ready", set())
    if ref in ready:
        return
    hub_ref = hub.HubRef.parse(ref)
    try:
        hub.fetch(hub_ref, local_only=True)
    except hub.HubUnreachable:
        with st.status(f"Downloading {ref} from the Hub…") as status:
            bar = st.progress(0.0)
            hub.fetch(hub_ref, progress=lambda fraction, stage: bar.progress(fraction, text=stage))
            status.update(label=f"Downloaded {ref}", state="complete")
    ready.add(ref)


def _load_typed_repo(text: str) -> None:
    """Load what the user typed; on success it becomes the picked model, on failure the model
    in use stays and the message says why."""
    try:
        ref = str(hub.HubRef.parse(text))
        _download_with_progress(ref)
        load_bundle(ref)
    except ActionLabError as error:
        st.sidebar.error(str(error))
        return
    if ref not in st.session_state.setdefault("hub_models", []):
        st.session_state["hub_models"].append(ref)
    choose_model(ref)


def choose_model(ref: str) -> None:
    """Make ``ref`` the picked model. ``model_choice`` keeps it across pages: Streamlit drops a
    widget's state (``model_ref``) after a run of a page that does not show that widget."""
    st.session_state["model_ref"] = st.session_state["model_choice"] = ref


def taught_folder(name: str) -> Path:
    """A new folder for a bundle this session teaches or loads (see ``new_bundle_folder``)."""
    session = st.session_state.setdefault("teach_session", uuid.uuid4().hex)
    return new_bundle_folder(session, name)


def use_taught_model(folder: Path) -> None:
    """List a taught or loaded bundle in this session's picker and make it the model in use."""
    taught = st.session_state.setdefault("taught_models", [])
    if str(folder) not in taught:
        taught.append(str(folder))
    choose_model(str(folder))


def _label(ref: str, default: str, taught: list[str]) -> str:
    if ref in taught:
        return f"Taught · {Path(ref).name}"
    name = "Hub · " + ref.removeprefix(hub.SCHEME) if hub.is_hub_ref(ref) else Path(ref).name
    return name + (" (default)" if ref == default else "")


def model_picker() -> str:
    """Sidebar choice among the default model, the bundled ones and Hub repos loaded in this
    session; returns the chosen reference (a folder or ``hf://owner/name@revision``)."""
    choice = default_choice()
    picker = st.sidebar.container()
    with st.sidebar.expander("Load a model from the Hub"), st.form("hub_model", border=False):
        typed = st.text_input("Hub model", placeholder="owner/name@revision")
        submitted = st.form_submit_button("Load")
    if submitted:  # before the selectbox exists, so that its value may still be set
        _load_typed_repo(typed)
    bundled = [str(p) for p in bundles.bundled(MODELS_DIR)]
    taught = [ref for ref in st.session_state.get("taught_models", []) if Path(ref).is_dir()]
    options = list(dict.fromkeys([choice.ref, *bundled, *st.session_state.get("hub_models", []), *taught]))
    kept = st.session_state.get("model_choice")
    # set on every run: a value set in code is sent to the browser, which may still show the
    # picker as it was when this session last saw this page (before a model was taught, say)
    st.session_state["model_ref"] = kept if kept in options else choice.ref
    ref = picker.selectbox(
        "Model",
        options,
        key="model_ref",
        format_func=lambda r: _label(r, choice.ref, taught),
        on_change=lambda: st.session_state.update(model_choice=st.session_state["model_ref"]),
    )
    st.session_state["model_choice"] = ref
    if choice.from_hub:
        picker.caption(choice.reason)
    else:
        picker.info(choice.reason, icon="ℹ️")
    return ref


def _load_in_view(ref: str):
    if hub.is_hub_ref(ref):
        _download_with_progress(ref)
    loaded = load_bundle(ref)
    st.session_state["model_in_use"] = ref  # what the page's cached analyses are keyed by
    return loaded


def current_bundle():
    """The picked bundle, or None after showing why it cannot be loaded. A default Hub model
    that fails to download or load gives way to the bundled one, with the reason; the reference
    of the bundle in use is then ``st.session_state["model_in_use"]``."""
    try:
        ref = model_picker()
        try:
            return _load_in_view(ref)
        except ActionLabError as error:
            choice = default_choice()
            if not (choice.from_hub and ref == choice.ref):
                raise
            st.warning(f"{error} Using the bundled model instead.")
            return _load_in_view(settings().default_model)
    except ActionLabError as error:
        st.error(str(error))
        return None


def fetch_link(url: str, config) -> tuple[str, bytes]:
    """Download in view, with progress; the file is read into memory and its folder removed."""
    with st.status("Fetching the video…") as status:
        bar = st.progress(0.0, text="reading the link")
        with fetched(
            url,
            config.allowed_hosts,
            config.max_duration_s,
            int(config.max_download_mb * 1e6),
            progress=lambda fraction, stage: bar.progress(fraction, text=stage),
        ) as video:
            data = video.path.read_bytes()
            name = safe_name(video.title) + video.path.suffix
        status.update(label=f"Fetched {name} ({len(data) / 1e6:.1f} MB)", state="complete")
    return name, data


def demo_clip() -> tuple[str, bytes] | None:
    """The clip a Learn page demonstrates on: the one last analysed on the Analyze page, or a
    sample (UCF101 clips of trained actions first); None, after saying how to get one,
    when there is neither."""
    trained = ("v_Surfing", "v_Archery")
    samples = sorted(sample_clips(), key=lambda p: (not p.name.startswith(trained), p.name))
    options: list = [*(["last"] if "last_clip" in st.session_state else []), *samples]
    if not options:
        st.info("Analyze a clip on the Analyze page first: it will be used here too.")
        return None
    choice = st.selectbox(
        "Clip",
        options,
        format_func=lambda o: f"last analysed: {st.session_state['last_clip'][0]}" if o == "last" else o.name,
    )
    if choice != "last":
        return choice.name, choice.read_bytes()
    name, data = st.session_state["last_clip"]
    try:
        piece = demo_piece(hashlib.sha256(data).hexdigest(), data, Path(name).suffix.lower())
    except ActionLabError as error:
        st.error(str(error))
        return None
    if piece is None:
        return name, data
    st.caption(f"The first {DEMO_MAX_S:g} s of {name}: enough to show what each approach does.")
    return f"{Path(name).stem}-first-{DEMO_MAX_S:g}s.mp4", piece


@st.cache_data(show_spinner=f"Cutting the first {DEMO_MAX_S:g} s…", max_entries=4)
def demo_piece(digest: str, _data: bytes, suffix: str) -> bytes | None:
    """The clip's first ``DEMO_MAX_S`` seconds as a clip of their own; None when it is no longer.
    A Learn page runs three or four models of its own on its clip: on a 10-minute video that
    was minutes and hundreds of megabytes per page, for a demonstration that needs seconds."""
    with staged(_data, suffix) as path:
        if probe(path).duration_s <= DEMO_MAX_S + 1.0:
            return None
        return cut(path, 0.0, DEMO_MAX_S, path.parent / "demo.mp4").read_bytes()
