"""A report page written once as HTML (plots embedded as PNG), Markdown and PNG files: every report kind
builds a :class:`Page` and calls :meth:`Page.write`."""

from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgeconv.atomic import write_bytes
from edgeconv.errors import require

STYLE = (
    "body{font-family:sans-serif;max-width:1080px;margin:2em auto;color:#222}table{border-collapse:collapse;"
    "margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;font-size:13px;text-align:left}"
    "th{background:#f3f3f3}figure{margin:1em 0}img{max-width:100%}.verdict{font-size:1.1em;padding:.6em;"
    "background:#eef6ee;border-left:4px solid green}"
)
Table = tuple[list[str], list[list[str]]]  # headers, rows


def figure_png(draw: Any) -> bytes:
    """Run ``draw(axes)`` on a fresh figure and return it as PNG bytes."""
    matplotlib = require("matplotlib", "host", "edgeconv report")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7.5, 4.2), dpi=110)
    draw(axes)
    axes.grid(alpha=0.3)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return buffer.getvalue()


def annotate(ax: Any, xs: list[float], ys: list[float], labels: list[str]) -> None:
    """Label points; labels of points close together are stacked downwards instead of overprinted."""
    xspan, yspan = (max(xs) - min(xs)) or 1.0, (max(ys) - min(ys)) or 1.0
    placed: list[tuple[float, float]] = []
    for x, y, label in sorted(zip(xs, ys, labels, strict=True)):
        crowd = sum(abs(x - px) < 0.06 * xspan and abs(y - py) < 0.04 * yspan for px, py in placed)
        ax.annotate(label, (x, y), fontsize=7, xytext=(4, 3 - 9 * crowd), textcoords="offset points")
        placed.append((x, y))


def html_table(headers: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def markdown_table(headers: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


@dataclass
class Page:
    """A title, lines under it (``verdicts`` stand out), plots, then named tables and a footer."""

    title: str
    subtitle: str | None = None
    verdicts: list[str] = field(default_factory=list)
    plots: dict[str, bytes] = field(default_factory=dict)  # name -> PNG; alt text "<name> plot"
    tables: dict[str, Table] = field(default_factory=dict)
    footer: str | None = None

    def write(self, out: Path) -> tuple[Path, Path]:
        """``out`` as .html, its Markdown twin beside it and each plot as ``<stem>_<name>.png``; returns the
        two pages' paths. Every file is written atomically."""
        out = out.with_suffix(".html")
        for name, png in self.plots.items():
            write_bytes(out.with_name(f"{out.stem}_{name}.png"), png)
        write_bytes(out, self.html().encode())
        markdown = out.with_suffix(".md")
        write_bytes(markdown, self.markdown(out.stem).encode())
        return out, markdown

    def html(self) -> str:
        body = [f"<h1>{html.escape(self.title)}</h1>"]
        if self.subtitle:
            body.append(f"<p>{html.escape(self.subtitle)}</p>")
        body += [f"<p class='verdict'>{html.escape(v)}</p>" for v in self.verdicts]
        body += [
            f'<figure><img alt="{name} plot" src="data:image/png;base64,{base64.b64encode(png).decode()}"></figure>'
            for name, png in self.plots.items()
        ]
        body += [f"<h2>{html.escape(name)}</h2>{html_table(*table)}" for name, table in self.tables.items()]
        if self.footer:
            body.append(f"<p><small>{html.escape(self.footer)}</small></p>")
        return (
            f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(self.title)}</title>"
            f"<style>{STYLE}</style></head><body>{''.join(body)}</body></html>"
        )

    def markdown(self, stem: str) -> str:
        lines = [f"# {self.title}", ""]
        if self.subtitle:
            lines += [self.subtitle, ""]
        lines += [line for v in self.verdicts for line in (f"**{v}**", "")]
        lines += [line for name in self.plots for line in (f"![{name} plot]({stem}_{name}.png)", "")]
        for name, table in self.tables.items():
            lines += [f"## {name}", "", markdown_table(*table), ""]
        return "\n".join(lines)
