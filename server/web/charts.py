"""Charts drawn on the server as inline SVG: no script, no internet, and they print.

Each chart scales to its container (``viewBox`` with ``width=100%``) and carries a ``<title>``
and ``<desc>`` so a screen reader, and a test, can read what it shows.
"""
from markupsafe import Markup, escape

COLOURS = {"red": "#c62828", "yellow": "#f9a825", "green": "#2e7d32"}
SERIES = ("#1565c0", "#ef6c00", "#6a1b9a", "#00838f")
#: the smallest text a chart draws, in px of its 480-wide view box: a chart shown on a 390 px
#: phone is drawn ~340 px wide (scale ~0.71), so the view box's 17 reads as 12 px on screen
FONT = 17


def _nice_max(value):
    """A round top for the axis: 1, 2, 5 × a power of ten."""
    if value <= 0:
        return 1
    step = 1
    while True:
        for m in (1, 2, 5):
            if value <= m * step:
                return m * step
        step *= 10


def bars(title, labels, series, height=180):
    """Grouped vertical bars: ``series`` is ``[(name, values)]``, one value per label."""
    width, left, bottom, top = 480, 46, 30, 26
    n, k = max(len(labels), 1), max(len(series), 1)
    peak = _nice_max(max((v for _, vals in series for v in vals), default=0))
    plot_w, plot_h = width - left - 8, height - bottom - top
    slot = plot_w / n
    bar_w = max(slot * 0.8 / k, 1)
    out = [f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="100%" '
           f'preserveAspectRatio="xMidYMid meet" xmlns="http://www.w3.org/2000/svg">',
           f"<title>{escape(title)}</title>",
           "<desc>" + escape("; ".join(f"{name}: " + ", ".join(f"{lab} {v}" for lab, v in zip(labels, vals))
                                       for name, vals in series)) + "</desc>"]
    # counts: whole-number ticks only (no 0.5 of a visit)
    for frac in ((0, 0.5, 1) if peak % 2 == 0 else (0, 1)):
        y = top + plot_h * (1 - frac)
        out.append(f'<line x1="{left}" x2="{width - 8}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" font-size="{FONT}" fill="#555">'
                   f"{peak * frac:g}</text>")
    every = max(1, -(-n // 6))   # at most six labels, so 12 px text never overlaps
    for i, label in enumerate(labels):
        x0 = left + i * slot + slot * 0.1
        for j, (_, vals) in enumerate(series):
            v = vals[i] if i < len(vals) else 0
            h = plot_h * v / peak
            out.append(f'<rect x="{x0 + j * bar_w:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w:.1f}" '
                       f'height="{h:.1f}" fill="{SERIES[j % len(SERIES)]}"><title>{escape(label)}: {v}</title></rect>')
        if i % every == 0:
            out.append(f'<text x="{left + (i + 0.5) * slot:.1f}" y="{height - 10}" text-anchor="middle" '
                       f'font-size="{FONT}" fill="#555">{escape(label)}</text>')
    for j, (name, _) in enumerate(series):
        x = left + j * 110
        out.append(f'<rect x="{x}" y="4" width="10" height="10" fill="{SERIES[j % len(SERIES)]}"/>'
                   f'<text x="{x + 14}" y="14" font-size="{FONT}" fill="#333">{escape(name)}</text>')
    out.append("</svg>")
    return Markup("".join(out))


def stacked(title, rows):
    """Horizontal bars stacked by colour: ``rows`` is ``[(label, {"red": n, …})]``."""
    width, label_w, row_h = 400, 150, 28
    height = max(len(rows), 1) * row_h + 8
    peak = _nice_max(max((sum(c.values()) for _, c in rows), default=0))
    scale = (width - label_w - 34) / peak
    out = [f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="100%" '
           f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>',
           "<desc>" + escape("; ".join(f"{lab}: " + ", ".join(f"{c} {n}" for c, n in counts.items())
                                       for lab, counts in rows)) + "</desc>"]
    for i, (label, counts) in enumerate(rows):
        y = 4 + i * row_h
        out.append(f'<text x="{label_w - 6}" y="{y + 19}" text-anchor="end" font-size="15" fill="#333">'
                   f"{escape(label)}</text>")
        x = label_w
        for colour in ("red", "yellow", "green"):
            w = counts.get(colour, 0) * scale
            if w:
                out.append(f'<rect x="{x:.1f}" y="{y + 3}" width="{w:.1f}" height="{row_h - 8}" '
                           f'fill="{COLOURS[colour]}"><title>{escape(label)} {colour}: {counts[colour]}</title></rect>')
            x += w
        out.append(f'<text x="{x + 4:.1f}" y="{y + 19}" font-size="15" fill="#333">{sum(counts.values())}</text>')
    out.append("</svg>")
    return Markup("".join(out))
