"""The static leaderboard site: :func:`build_site` (HTML from Jinja2 templates, figures from matplotlib)."""

from __future__ import annotations

from .build import build_site

__all__ = ["build_site"]
