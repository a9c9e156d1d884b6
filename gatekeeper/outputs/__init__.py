"""Renderers of a verdict document, one module per format, chosen through a registry.

Each takes the verdict as JSON-ready data (the contract), so stored and uploaded verdicts render the
same way as fresh ones.
"""

from __future__ import annotations

import importlib
from typing import Any, Protocol


class Renderer(Protocol):
    def __call__(self, verdict: dict[str, Any], *, color: bool = False) -> str: ...


#: format name -> module in this package exposing `render`.
RENDERERS: dict[str, str] = {
    "text": "text",
    "json": "json_output",
    "markdown": "markdown",
    "junit": "junit",
    "gitlab-codequality": "gitlab_codequality",
}


def renderer_for(name: str) -> Renderer:
    module = importlib.import_module(f"gatekeeper.outputs.{RENDERERS[name]}")
    render: Renderer = module.render
    return render
