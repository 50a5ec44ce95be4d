"""Engine: a video and a bundle in, a ``Timeline`` out.

Windows over the sampled frames (``windows``), batched prediction with shared frame features
(``analysis``), the timeline and its segments (``timeline``), the annotated video
(``annotate``), the throughput benchmark (``bench``) and background jobs that outlive a page's
script run (``jobs``). May import ``core.models``,
``core.media``, ``core.config`` and ``core.errors``; never training or views.
"""
