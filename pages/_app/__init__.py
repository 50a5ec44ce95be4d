"""UI helpers the pages share: the cached model loader and sidebar model picker (``common``) and
the frame every Learn page is drawn in (``learn``). Streamlit lives here and in the pages only."""
