#!/usr/bin/env python3
"""Draws docs/two-levels.svg: guests' descriptors -> shared open file
descriptions <- the host's descriptors. Run: python3 docs/two-levels.py"""

from pathlib import Path

# (column x, label, [descriptor labels]) for the two guests; the host at right.
GUESTS = [
    (30, "guest A (component)", ["eventfd handle 1", "eventfd handle 2 (dup of 1)"]),
    (30, "guest B (core module)", ["fd 3", "fd 4 (cloexec)"]),
]
HOST = (560, "host code", ["Descriptor"])
DESCRIPTIONS = [
    ("description #1", "count 3 · semaphore · nonblocking", 200),
    ("description #2", "count 0", 330),
]
# Arrows: (from box centre, to description index).
W, H = 760, 430


def box(x, y, w, h, fill, text, sub=None):
    out = [
        f'<rect x="{x}" y="{y}" width="{w}" height="{h}" rx="8" fill="{fill}" '
        f'stroke="#333" stroke-width="1.2"/>',
        f'<text x="{x + w / 2}" y="{y + (h / 2 if sub is None else h / 2 - 6)}" '
        f'text-anchor="middle" dominant-baseline="middle" font-size="13">{text}</text>',
    ]
    if sub:
        out.append(
            f'<text x="{x + w / 2}" y="{y + h / 2 + 11}" text-anchor="middle" '
            f'dominant-baseline="middle" font-size="11" fill="#444">{sub}</text>'
        )
    return out


def arrow(x1, y1, x2, y2):
    return [
        f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="#555" '
        f'stroke-width="1.4" marker-end="url(#head)"/>'
    ]


def main():
    svg = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
        f'viewBox="0 0 {W} {H}" font-family="sans-serif">',
        '<defs><marker id="head" markerWidth="9" markerHeight="7" refX="9" refY="3.5" '
        'orient="auto"><polygon points="0 0, 9 3.5, 0 7" fill="#555"/></marker></defs>',
        f'<rect width="{W}" height="{H}" fill="white"/>',
        '<text x="380" y="26" text-anchor="middle" font-size="14" font-weight="bold">'
        "guests' descriptors → shared open file descriptions ← the host's descriptors</text>",
        '<text x="380" y="46" text-anchor="middle" font-size="11" fill="#444">'
        "close-on-exec belongs to a descriptor; the counter, semaphore and non-blocking "
        "bits to its description</text>",
    ]
    # Descriptions in the middle: the shared DescriptionTable.
    svg += box(280, 150, 220, 250, "#f4f4f4", "")
    svg.append(
        '<text x="390" y="170" text-anchor="middle" font-size="12" fill="#444">'
        "DescriptionTable (one per host)</text>"
    )
    centres = []
    for label, sub, y in DESCRIPTIONS:
        svg += box(290, y - 25, 200, 50, "#ffe9b3", label, sub)
        centres.append((290, 490, y))
    # Guests at left, each with its descriptors.
    links = [(0, 0), (0, 0), (1, 0), (1, 1)]
    top = 70
    slot = 0
    for gi, (x, label, descriptors) in enumerate(GUESTS):
        gy = top + gi * 190
        svg += box(x, gy, 210, 40 + 45 * len(descriptors), "#dbe9ff", "")
        svg.append(f'<text x="{x + 105}" y="{gy + 18}" text-anchor="middle" font-size="13" '
                   f'font-weight="bold">{label}</text>')
        for di, d in enumerate(descriptors):
            dy = gy + 32 + 45 * di
            svg += box(x + 12, dy, 186, 34, "white", d)
            target = centres[links[slot][1]]
            svg += arrow(x + 198, dy + 17, target[0], target[2])
            slot += 1
    # The host at right.
    hx, hlabel, hdesc = HOST
    svg += box(hx, 160, 170, 90, "#dff5df", "")
    svg.append(f'<text x="{hx + 85}" y="180" text-anchor="middle" font-size="13" '
               f'font-weight="bold">{hlabel}</text>')
    svg += box(hx + 12, 195, 146, 34, "white", hdesc[0])
    svg += arrow(hx + 12, 212, centres[0][1], centres[0][2])
    svg.append("</svg>")
    out = Path(__file__).with_name("two-levels.svg")
    out.write_text("\n".join(svg) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
