"""The one chart theme and the offline chart renderer.

Altair's default HTML output loads Vega from a CDN when viewed, and Quarto injects require.js and
jQuery from a CDN into any page whose notebook holds a `text/html` or `application/javascript` output.
So every chart is displayed as a bundle of two outputs and nothing else:

- `application/vnd.vegalite.v*+json`: the spec, which JupyterLab draws for analysts;
- `text/markdown`: a raw HTML block (a `<div>` plus a `vegaEmbed(...)` call) for the site. Quarto picks
  `text/markdown` for HTML output and passes the raw block through; the fallback renderer does the same.

The Vega, Vega-Lite and vega-embed JavaScript comes from one site-wide file, `vega-bundle.js`.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from html import escape
from pathlib import Path

import altair as alt

THEME = "retention_report"
RENDERER = "retention_report"
BUNDLE_NAME = "vega-bundle.js"

# Okabe-Ito: distinguishable with the common colour-vision deficiencies.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]
SEQUENTIAL = "blues"
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"

# Only the export actions: the editor and source links would point outside the site.
# The mode is given because the page's copy of a spec carries no `$schema` (a URL on vega.github.io: never
# fetched, but the site holds no outside URL at all).
EMBED_OPTIONS = {"actions": {"export": True, "source": False, "compiled": False, "editor": False},
                 "mode": "vega-lite", "renderer": "svg"}


def vega_lite_version() -> str:
    """The Vega-Lite version Altair emits, as vl-convert names it (e.g. '6.4')."""
    return ".".join(alt.SCHEMA_VERSION.lstrip("v").split(".")[:2])


def bundle_cache_dir() -> Path:
    """Where the bundle made for this installation is kept between builds: `$XDG_CACHE_HOME/retention-report`
    (else `~/.cache/retention-report`)."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "retention-report"


def vega_bundle() -> str:
    """The site's single Vega bundle (no CDN inside) for the Vega-Lite version Altair emits. vl-convert makes it
    from the JavaScript it ships (2.3 s, a seventh of a small build), and the same versions always make the same
    bundle: it is made once per installation and kept, named by both versions, in `bundle_cache_dir()`. A cache
    that cannot be written only means it is made again next time."""
    import vl_convert

    cached = bundle_cache_dir() / f"vega-bundle-vlc{vl_convert.__version__}-vl{vega_lite_version()}.js"
    try:
        return cached.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        pass
    bundle = vl_convert.javascript_bundle(vl_version=vega_lite_version())
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        partial = cached.with_name(f"{cached.name}.{os.getpid()}.{threading.get_ident()}.partial")
        partial.write_text(bundle, encoding="utf-8")
        partial.replace(cached)  # whole or absent, also when builds write it at the same time
    except OSError:
        pass
    return bundle


def write_vega_bundle(target_dir: Path) -> Path:
    """Write the site's Vega bundle (`vega_bundle()`) into `target_dir`."""
    path = Path(target_dir) / BUNDLE_NAME
    path.write_text(vega_bundle(), encoding="utf-8")
    return path


def _theme() -> dict:
    return {
        "config": {
            "font": FONT,
            "view": {"continuousWidth": 560, "continuousHeight": 300, "stroke": None},
            "range": {"category": PALETTE, "heatmap": {"scheme": SEQUENTIAL}},
            "title": {"fontSize": 15, "anchor": "start", "subtitleFontSize": 12, "subtitleColor": "#444"},
            "axis": {"labelFontSize": 12, "titleFontSize": 12, "gridColor": "#e5e5e5"},
            # Legend labels and titles are never cut ("average of all cohorts (c…"): Vega's limit 0 is no limit.
            "legend": {"labelFontSize": 12, "titleFontSize": 12, "labelLimit": 0, "titleLimit": 0},
            # Marks are not announced one by one: the chart's description (its aria-label) says what it shows.
            "mark": {"color": PALETTE[0], "aria": False},
        }
    }


def month_axis(**options) -> alt.Axis:
    """The axis of a count of months or quarters on a quantitative scale (`months_since_first:Q`): ticks on
    whole numbers only, written as whole numbers (no half months). A theme cannot give this to one field
    only (a share's axis from 0 to 1 needs its fractions), so charts ask for it:
    `alt.X("months_since_first:Q", title=..., axis=charts.month_axis())`. `options` are other Axis settings."""
    return alt.Axis(**{"tickMinStep": 1, "format": "d", **options})


def chart_html(spec: dict, description: str = "") -> str:
    """A chart as a `<div>` and a `vegaEmbed` call; `</` is escaped so the spec cannot close the script.
    The spec's `$schema` (an outside URL) is left out; the embed options say it is Vega-Lite."""
    spec = {key: value for key, value in spec.items() if key != "$schema"}
    payload = json.dumps(spec, sort_keys=True, separators=(",", ":"))
    chart_id = "chart-" + hashlib.sha1(payload.encode()).hexdigest()[:12]
    safe_spec = payload.replace("</", "<\\/")
    options = json.dumps(EMBED_OPTIONS, sort_keys=True)
    label = description or spec.get("description") or "Chart"

    return (
        f'<figure class="rr-chart" role="group" aria-label="{escape(label, quote=True)}">'
        f'<div id="{chart_id}" class="rr-chart-canvas"></div>'
        f'<figcaption class="rr-chart-description">{escape(label)}</figcaption></figure>\n'
        f'<script>vegaEmbed("#{chart_id}", {safe_spec}, {options})'
        f'.then(function () {{ var s = document.querySelector("#{chart_id} details summary");'
        f' if (s) {{ s.setAttribute("aria-label", "Save this chart as SVG or PNG"); }}'
        f' document.querySelectorAll("#{chart_id} svg.marks").forEach(function (g) {{'
        f' if (!g.getAttribute("aria-label")) {{ g.setAttribute("aria-label", {json.dumps(label)}); }} }}); }})'
        f'.catch(function (e) {{ console.error(e); }});</script>'
    )


def _stable(value):
    """Floats to 10 significant digits: sums that DuckDB adds up in parallel differ in the last bits from run
    to run, and two builds of the same data must give the same pages."""
    if isinstance(value, float):
        return float(f"{value:.10g}")
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    return value


# Counts of months or quarters: on a quantitative axis their ticks are whole numbers, whoever drew the chart.
WHOLE_NUMBER_FIELDS = ("months_since_first", "quarters_since_first")


def whole_number_axes(spec):
    """Give every quantitative x or y encoding of a WHOLE_NUMBER_FIELDS field the `month_axis` settings it
    does not set itself (layers, facets and concatenations included); an axis switched off stays off."""
    if isinstance(spec, list):
        return [whole_number_axes(part) for part in spec]
    if not isinstance(spec, dict):
        return spec
    spec = {key: whole_number_axes(value) for key, value in spec.items()}
    encoding = spec.get("encoding")
    if isinstance(encoding, dict):
        for channel in ("x", "y"):
            definition = encoding.get(channel)
            if (isinstance(definition, dict) and definition.get("field") in WHOLE_NUMBER_FIELDS
                    and definition.get("type") == "quantitative" and definition.get("axis", {}) is not None):
                definition["axis"] = {"tickMinStep": 1, "format": "d", **(definition.get("axis") or {})}
    return spec


def _render(spec: dict) -> dict:
    spec = whole_number_axes(_stable(spec))
    description = spec.get("description", "")
    block = "```{=html}\n" + chart_html(spec, description) + "\n```\n"
    return {
        f"application/vnd.vegalite.v{vega_lite_version().split('.')[0]}+json": spec,
        "text/markdown": block,
        "text/plain": f"<chart: {description or 'untitled'}>",
    }


def enable() -> None:
    """Use the house theme and the offline renderer in this kernel."""

    @alt.theme.register(THEME, enable=True)
    def _house_theme() -> alt.theme.ThemeConfig:
        return _theme()

    alt.renderers.register(RENDERER, _render)
    alt.renderers.enable(RENDERER)
