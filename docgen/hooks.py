"""MkDocs hooks (mkdocs.yml ``hooks:``): docstrings cross-reference in reST roles, shown here as plain code."""

from __future__ import annotations

import re
from typing import Any

# ":func:`configure`" in a docstring arrives as ":func:<code>configure</code>" once rendered.
_ROLE = re.compile(r":(?:func|meth|class|mod|attr|data|exc|obj):(?=<code>)")


def on_page_content(html: str, **kwargs: Any) -> str:
    return _ROLE.sub("", html)
