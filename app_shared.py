"""UI pieces shared by the pages (kept out of pages/, which holds one file per page): the cached
model loader, settings with Streamlit secrets, and the sidebar model picker."""

from pathlib import Path

import streamlit as st

from core import bundle as bundles
from core.config import MODELS_DIR, Settings
from core.errors import ActionLabError


@st.cache_resource(show_spinner="Loading the model…")
def load_bundle(ref: str):
    """One loaded copy per model per process, shared by every session."""
    return bundles.load(ref)


def settings() -> Settings:
    """Settings from ``ARL_*`` environment variables; on a host without a shell (Streamlit
    Community Cloud) the same keys may come from ``st.secrets``, environment first."""
    try:
        secrets = {key: str(value) for key, value in st.secrets.items() if key.startswith("ARL_")}
    except FileNotFoundError:  # no secrets.toml: nothing to add
        secrets = {}
    return Settings.from_env(fallback=secrets)


def model_picker() -> str:
    """Sidebar choice among the bundled models; returns the chosen bundle's folder."""
    default = settings().default_model
    choices = [str(p) for p in bundles.bundled(MODELS_DIR)]
    if default not in choices:
        choices.insert(0, default)
    if st.session_state.get("model_ref") not in choices:
        st.session_state["model_ref"] = default
    return st.sidebar.selectbox(
        "Model",
        choices,
        key="model_ref",
        format_func=lambda ref: Path(ref).name + (" (default)" if ref == default else ""),
    )


def current_bundle():
    """The picked bundle, or None after showing why it cannot be loaded."""
    try:
        return load_bundle(model_picker())
    except ActionLabError as error:
        st.error(str(error))
        return None
