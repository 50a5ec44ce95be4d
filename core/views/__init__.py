"""Views: pictures from plain data, for the pages (no Streamlit here).

Plotly figures of timelines and model reports (``charts``) and of the Learn pages
(``learn_charts``), and the data those pictures need: a video's anatomy (``anatomy``), a
bundle's data flow (``flow``), a model's insides (``introspect``), a pose skeleton
(``skeleton``). May import ``core.training`` and everything below it.
"""
