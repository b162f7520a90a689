"""Lockgate's web UI: the built single-page app in ``static/`` (shipped in the wheel; no Node
needed to run it) and ``mount_ui``, which serves it from the tracking server at ``/``.

The front-end source lives in ``frontend/``; see docs/ui.md for the build.
"""

from __future__ import annotations

__all__ = ["STATIC_DIR", "UI_CSP", "is_ui_path", "mount_ui"]

from lockgate.ui.server import STATIC_DIR, UI_CSP, is_ui_path, mount_ui
