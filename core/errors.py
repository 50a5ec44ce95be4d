"""One exception family for every failure a user can cause.

Pages show ``str(error)`` and the CLI prints ``error: ...``; the message is therefore written
for the person who picked the file or typed the link, not for a developer.
"""


class ActionLabError(Exception):
    """A failure caused by the input, with a message meant for the user."""


class VideoError(ActionLabError):
    """The file is not a video we can decode (missing, empty, corrupt, a still image...)."""


class ModelError(ActionLabError):
    """A model bundle is missing, incomplete or does not match its own config."""


class DatasetError(ActionLabError):
    """A training or evaluation folder is not in the ``<Class>/<clip>`` layout."""


class DownloadError(ActionLabError):
    """A link could not be fetched (refused host, unavailable video, too large...)."""
