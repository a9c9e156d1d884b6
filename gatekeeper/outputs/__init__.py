"""Renderers of a verdict document, one module per format, chosen through a registry.

Each takes the typed verdict (`gatekeeper.verdict.Verdict`): a fresh one from the engine, or a stored
or uploaded document read by `Verdict.from_json` after schema validation, so both render the same way.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from gatekeeper.verdict import Verdict


class Renderer(Protocol):
    def __call__(self, verdict: Verdict, *, color: bool = False) -> str: ...


#: format name -> module in this package exposing `render`.
RENDERERS: dict[str, str] = {
    "text": "text",
    "json": "json_output",
    "markdown": "markdown",
    "junit": "junit",
    "gitlab-codequality": "gitlab_codequality",
    "github-annotations": "github_annotations",
}


def renderer_for(name: str) -> Renderer:
    module = importlib.import_module(f"gatekeeper.outputs.{RENDERERS[name]}")
    render: Renderer = module.render
    return render
