"""mkdocs hook: the parameter tables of the effects, generated from their ParamSpaces.

A page that holds the line ``<!-- effect-tables -->`` gets, in its place, one section per effect of
``dasp_blind.effects.names()`` with the table that ``dasp-blind effects`` prints (name, range,
scale, unit, default), so the documented ranges are never copied by hand.
"""

from __future__ import annotations

import sys
from pathlib import Path

PLACEHOLDER = "<!-- effect-tables -->"
ROOT = Path(__file__).resolve().parents[2]


def effect_tables() -> str:
    """Markdown: a heading, the class and its summary, and the parameter table of each effect."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))  # document the checkout being built
    from dasp_blind.effects import catalog

    blocks = []
    for name, cls in catalog.names().items():
        aliases = [a for a, target in catalog.ALIASES.items() if target == name]
        alias = f" (alias `{'`, `'.join(aliases)}`)" if aliases else ""
        table = catalog.markdown_table(catalog.parameter_table(name))
        blocks.append(f"### `{name}`\n\n`{cls.__name__}`{alias}: {catalog.summary(cls)}\n\n"
                      f"{table}\n")
    return "\n".join(blocks)


def on_page_markdown(markdown: str, **kwargs: object) -> str:
    """Replace the placeholder of a page by the generated tables."""
    if PLACEHOLDER not in markdown:
        return markdown
    return markdown.replace(PLACEHOLDER, effect_tables())
