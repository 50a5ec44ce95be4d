"""Media: getting frames out of videos and videos out of links and frames.

Decoding and probing (``video``), decoding in a background thread (``prefetch``), H.264 copies a
browser can play (``encode``) and links fetched with yt-dlp (``youtube``). Knows nothing of
models or predictions; may import only ``core.config`` and ``core.errors``.
"""
