"""Model bundles on the Hugging Face Hub, named ``hf://owner/name@revision``.

Files land in the standard Hub cache, so a bundle downloaded once loads offline afterwards.
A reference must name its revision: a commit hash or a tag pins the weights; the floating
``main`` is accepted only when someone writes it out. ``huggingface_hub`` can wait about 23 s
before it gives up on an unreachable Hub, so the default model is chosen with a deadline on the
Hub's first answer instead (see ``choose_default``): nobody waits that long for the fall-back.
"""

from __future__ import annotations

import io
import logging
import os
import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from core.errors import ModelError
from core.models.calibration import CALIBRATION_FILE

SCHEME = "hf://"
DEFAULT_ENDPOINT = "https://huggingface.co"
REQUIRED_FILES = ("config.json", "model.keras")  # config first: a repo that is no bundle fails fast
DOCUMENTS = ("metrics.json", "README.md")  # optional to load, required to publish
OPTIONAL_FILES = (*DOCUMENTS, CALIBRATION_FILE)  # calibration.npz: only open-set bundles have one
BUNDLE_FILES = REQUIRED_FILES + OPTIONAL_FILES
ANSWER_LIMIT_S = 2.0  # the Hub's first answer; with loading the bundled model, under 3 s in all
ETAG_TIMEOUT_S = 5.0
_REPO_ID = re.compile(r"[A-Za-z0-9][\w.-]{0,95}/[A-Za-z0-9][\w.-]{0,95}")
_REVISION = re.compile(r"[\w.\-/]{1,200}")

Progress = Callable[[float, str], None]

# huggingface_hub's retry notices would reach the server log after the fall-back was already
# decided; its failures come back as exceptions, which fetch's messages explain.
logging.getLogger("huggingface_hub").setLevel(logging.ERROR)


class HubUnreachable(ModelError):
    """The Hub could not be reached and the cache lacks the files: fall back to a bundled model."""


@dataclass(frozen=True)
class HubRef:
    repo_id: str
    revision: str

    def __str__(self) -> str:
        return f"{SCHEME}{self.repo_id}@{self.revision}"

    @classmethod
    def parse(cls, text: str) -> HubRef:
        """``hf://owner/name@revision`` (the ``hf://`` prefix may be left out)."""
        body = text.strip().removeprefix(SCHEME)
        repo_id, at, revision = body.partition("@")
        if not _REPO_ID.fullmatch(repo_id) or ".." in repo_id:
            raise ModelError(f"'{text}' is not a Hub model id: write it as owner/name@revision.")
        if not at or not revision:
            raise ModelError(
                f"'{text}' names no revision: pin a commit or tag (owner/name@<commit>), "
                "or write @main to follow the latest upload on purpose."
            )
        if not _REVISION.fullmatch(revision) or ".." in revision:
            raise ModelError(f"'{revision}' is not a valid Hub revision.")
        return cls(repo_id, revision)


def is_hub_ref(ref: object) -> bool:
    return str(ref).startswith(SCHEME)


def endpoint() -> str:
    """Read at call time (``huggingface_hub`` reads ``HF_ENDPOINT`` once, on import)."""
    return (os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")


def cache_dir() -> Path | None:
    """The Hub cache named by ``HF_HUB_CACHE`` or ``HF_HOME`` now, else the library's default."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"])
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]) / "hub"
    return None


def offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def _finished_within(seconds: float, work: Callable[[], bool]) -> bool:
    """Run ``work`` in a daemon thread and wait at most ``seconds``, so that a stalled resolver
    or a server that accepts and never answers cannot hold the caller. False when time runs out;
    a ModelError from ``work`` (an answer such as "no such repo") is raised here."""
    outcome: dict[str, object] = {}

    def run() -> None:
        try:
            outcome["result"] = work()
        except ModelError as error:
            outcome["error"] = error

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    if isinstance(outcome.get("error"), ModelError):
        raise outcome["error"]
    return bool(outcome.get("result"))


def _connects(url: str, timeout_s: float) -> bool:
    """Whether a TCP connection to the URL's host opens in time: no name, no route or a refusal
    fail here at once, before ``huggingface_hub`` starts retrying them for half a minute."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)

    def connect() -> bool:
        try:
            with socket.create_connection((parts.hostname or "", port), timeout=timeout_s):
                return True
        except OSError:
            return False

    return _finished_within(timeout_s, connect)


def _progress_bar(report: Progress, label: str):
    """A tqdm class for ``huggingface_hub`` that reports byte progress instead of printing."""
    from tqdm.auto import tqdm

    class ReportingBar(tqdm):
        def __init__(self, *args, **kwargs):
            kwargs.update(disable=False, file=io.StringIO())
            super().__init__(*args, **kwargs)

        def update(self, n=1):
            shown = super().update(n)
            if self.total:
                report(min(self.n / self.total, 1.0), label)
            return shown

    return ReportingBar


def _download(ref: HubRef, name: str, local_only: bool, report: Progress | None):
    from huggingface_hub import hf_hub_download

    return hf_hub_download(
        ref.repo_id,
        name,
        revision=ref.revision,
        endpoint=endpoint(),
        cache_dir=cache_dir(),
        local_files_only=local_only,
        etag_timeout=ETAG_TIMEOUT_S,
        tqdm_class=_progress_bar(report, f"downloading {name}") if report else None,
    )


def _fetch_file(ref: HubRef, name: str, local_only: bool, progress: Progress | None) -> Path | None:
    """One bundle file from the cache or the Hub (None for a missing optional file), with the
    Hub's errors turned into messages for the person who typed the reference."""
    import httpx2  # huggingface_hub's HTTP client
    from huggingface_hub import errors

    try:
        return Path(_download(ref, name, local_only, progress))
    except errors.EntryNotFoundError as error:
        if isinstance(error, errors.LocalEntryNotFoundError):
            if name not in REQUIRED_FILES:
                return None  # not in the cache: the bundle had none when it was downloaded
            raise HubUnreachable(
                f"{ref} is not in the local cache and the Hub cannot be reached"
                + (" (HF_HUB_OFFLINE is set)." if offline() else ".")
            ) from error
        if name in REQUIRED_FILES:
            raise ModelError(f"{ref.repo_id} is not an Action Lab model bundle: it has no {name}.") from error
        return None
    except errors.GatedRepoError as error:
        raise ModelError(f"{ref.repo_id} is gated on the Hub: accept its terms and set HF_TOKEN.") from error
    except errors.RepositoryNotFoundError as error:
        raise ModelError(
            f"{ref.repo_id} was not found on the Hub: check the name, or set HF_TOKEN if it is private."
        ) from error
    except errors.RevisionNotFoundError as error:
        raise ModelError(f"{ref.repo_id} has no revision '{ref.revision}' on the Hub.") from error
    except errors.HfHubHTTPError as error:
        status = error.response.status_code if error.response is not None else "no"
        raise ModelError(f"The Hub answered with HTTP status {status} for {ref}.") from error
    except (OSError, httpx2.TransportError) as error:  # connection failures it does not wrap
        raise HubUnreachable(f"The Hub cannot be reached to download {ref} ({error}).") from error


def fetch(ref: HubRef, progress: Progress | None = None, local_only: bool = False) -> Path:
    """The bundle's files in the Hub cache (downloaded when missing); returns the snapshot folder.
    config.json comes first, so that a repo that is no bundle fails before the big download."""
    local_only = local_only or offline()
    config = _fetch_file(ref, REQUIRED_FILES[0], local_only, progress)
    for name in BUNDLE_FILES[1:]:
        _fetch_file(ref, name, local_only, progress)
    assert config is not None  # a required file is never None
    return config.parent


def _answers_within(seconds: float, ref: HubRef) -> bool:
    """Whether the Hub serves the bundle's config.json within the time limit."""
    return _finished_within(seconds, lambda: _fetch_file(ref, REQUIRED_FILES[0], False, None) is not None)


def _require_answer(ref: HubRef, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    try:
        answered = _connects(endpoint(), seconds)
        answered = answered and _answers_within(max(0.0, deadline - time.monotonic()), ref)
    except HubUnreachable:
        answered = False
    if not answered:
        host = urlsplit(endpoint()).hostname
        raise HubUnreachable(
            f"The Hub ({host}) could not be reached within {ANSWER_LIMIT_S:g} s, and {ref} is not cached."
        )


@dataclass(frozen=True)
class ModelChoice:
    """Which model the app starts with, and a sentence saying why, for the UI."""

    ref: str
    reason: str
    from_hub: bool


def choose_default(settings, load: Callable[[str], object] | None = None) -> ModelChoice:
    """The configured Hub bundle when it is cached or the Hub answers; else the bundled model.

    ``load``, when given, is the caller's (possibly cached) bundle loader: a Hub bundle that
    downloads but does not load then also falls back, with the loader's message as the reason.
    Without it, only the Hub's answer is awaited and the caller loads (the app does, so that
    the download shows its progress).
    """
    started = time.monotonic()
    bundled = settings.default_model
    hub_text = settings.hub_default
    if hub_text is None:
        return ModelChoice(bundled, "The Hub is switched off (ARL_MODEL_REPO is empty).", False)
    try:
        ref = HubRef.parse(hub_text)
        try:
            fetch(ref, local_only=True)
            cached = True
        except HubUnreachable:
            cached = False
        if not cached:
            if offline():
                raise HubUnreachable(f"{ref} is not cached and HF_HUB_OFFLINE is set.")
            _require_answer(ref, max(0.1, ANSWER_LIMIT_S - (time.monotonic() - started)))
        if load is not None:
            load(str(ref))
    except ModelError as error:
        return ModelChoice(bundled, f"Using the bundled model: {error}", False)
    return ModelChoice(str(ref), f"From the Hub: {ref}" + (" (cached)." if cached else "."), True)


@dataclass(frozen=True)
class Published:
    repo_id: str
    commit: str
    url: str

    @property
    def ref(self) -> str:
        return str(HubRef(self.repo_id, self.commit))


def _card_metadata(card: str) -> str:
    """The YAML front matter of a model card (the Hub reads its metadata from there)."""
    if not card.startswith("---\n") or "\n---" not in card[4:]:
        return ""
    return card[4 : card.index("\n---", 4)]


def check_publishable(folder: Path) -> None:
    """A bundle goes up only whole, with the card metadata that makes it findable on the Hub."""
    missing = [name for name in (*REQUIRED_FILES, *DOCUMENTS) if not (folder / name).is_file()]
    if missing:
        raise ModelError(f"{folder} is not a complete bundle: it lacks {', '.join(missing)}.")
    card = (folder / "README.md").read_text(encoding="utf-8")
    metadata = _card_metadata(card)
    for line in ("library_name: keras", "pipeline_tag: video-classification", "model-index:"):
        if line not in metadata:
            raise ModelError(f"The model card in {folder} lacks '{line}' in its metadata: retrain or fix it.")
    if "python -m core train" not in card and "python -m core crossval" not in card:
        raise ModelError(f"The model card in {folder} does not say which command trained the model.")


def publish(
    folder: Path, repo_id: str, private: bool = False, tag: str | None = None, token: str | None = None
) -> Published:
    """Create the repo when needed and upload exactly the bundle files, in one commit. ``token``
    is the publisher's own (the Teach page passes the one its user typed, never the host's);
    without it, HF_TOKEN or the one ``hf auth login`` saved."""
    import httpx2
    from huggingface_hub import HfApi, errors, get_token

    folder = Path(folder)
    check_publishable(folder)
    HubRef.parse(f"{repo_id}@main")  # the same name rules as for loading
    token = token or os.environ.get("HF_TOKEN") or get_token()
    if not token:
        raise ModelError("No Hugging Face token: set HF_TOKEN or run `hf auth login` first.")
    api = HfApi(endpoint=endpoint(), token=token)
    try:
        api.create_repo(repo_id, private=private, exist_ok=True)
        info = api.upload_folder(
            repo_id=repo_id,
            folder_path=folder,
            allow_patterns=list(BUNDLE_FILES),
            commit_message=f"Upload {folder.name} bundle",
        )
        if tag:
            api.create_tag(repo_id, tag=tag, revision=info.oid, exist_ok=False)
    except errors.HfHubHTTPError as error:
        status = error.response.status_code if error.response is not None else "no"
        raise ModelError(f"The Hub refused the upload to {repo_id} (HTTP {status}): {error}") from error
    except ValueError as error:  # huggingface_hub's verdict on the card's metadata
        raise ModelError(f"The Hub refused the model card of {folder}: {error}") from error
    except (OSError, httpx2.TransportError) as error:
        raise HubUnreachable(f"The Hub cannot be reached to publish {repo_id} ({error}).") from error
    return Published(repo_id, info.oid, f"{endpoint()}/{repo_id}")
