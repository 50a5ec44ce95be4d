"""Models: what a network is, where its weights come from and how a bundle travels.

The input contract and part names (``contract``), shared blocks (``blocks``), the builders
(``recurrent``, ``fusion``) and the one table that names them (``registry``); the frozen
backbones (``efficientnet_lite``, ``pose``); bundles on disk (``bundle``), on the Hub (``hub``)
and their model cards (``card``). May import ``core.media``, ``core.config`` and ``core.errors``.
"""
