"""The Textual terminal UI (the only package that imports Textual). Entry point: :func:`mi_prep.tui.app.run_app`."""
