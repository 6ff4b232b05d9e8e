"""Polygon geometry for cutting labelled objects at tile edges (xView's tiling rule).

Plain-Python Sutherland-Hodgman clipping and shoelace areas on ``[(x, y), ...]`` polygons. The
DOTA preparations do not use these: they clip with shapely, as DOTA_devkit and mmrotate do, so
that vertex order and counts are the references' own (``dota_devkit``, ``dota_mmrotate``).
"""

from __future__ import annotations

Polygon = list[tuple[float, float]]


def polygon_to_hbb(poly: Polygon) -> tuple[float, float, float, float]:
    """The enclosing horizontal box ``(xmin, ymin, xmax, ymax)`` of a polygon."""
    xs, ys = [p[0] for p in poly], [p[1] for p in poly]
    return min(xs), min(ys), max(xs), max(ys)


def polygon_area(poly: Polygon) -> float:
    """Unsigned shoelace area."""
    n = len(poly)
    return abs(sum(poly[i][0] * poly[(i + 1) % n][1] - poly[(i + 1) % n][0] * poly[i][1]
                   for i in range(n))) / 2.0


def clip_polygon(poly: Polygon, x0: float, y0: float, x1: float, y1: float) -> Polygon:
    """The part of a convex or simple polygon inside the rectangle (Sutherland-Hodgman)."""
    def cut(points: Polygon, inside, cross) -> Polygon:
        out: Polygon = []
        for i, cur in enumerate(points):
            prev = points[i - 1]
            if inside(cur):
                if not inside(prev):
                    out.append(cross(prev, cur))
                out.append(cur)
            elif inside(prev):
                out.append(cross(prev, cur))
        return out

    def at_x(x):
        return lambda p, q: (x, p[1] + (q[1] - p[1]) * (x - p[0]) / (q[0] - p[0]))

    def at_y(y):
        return lambda p, q: (p[0] + (q[0] - p[0]) * (y - p[1]) / (q[1] - p[1]), y)

    for inside, cross in ((lambda p: p[0] >= x0, at_x(x0)), (lambda p: p[0] <= x1, at_x(x1)),
                          (lambda p: p[1] >= y0, at_y(y0)), (lambda p: p[1] <= y1, at_y(y1))):
        poly = cut(poly, inside, cross) if poly else poly
    return poly


def visible_fraction(poly: Polygon, clipped: Polygon) -> float:
    """Area of ``clipped`` over area of ``poly``; degenerate polygons use their boxes."""
    full = polygon_area(poly)
    if full > 0:
        return polygon_area(clipped) / full if clipped else 0.0
    bx, cx = polygon_to_hbb(poly), polygon_to_hbb(clipped) if clipped else (0, 0, 0, 0)
    full = max(bx[2] - bx[0], 0) * max(bx[3] - bx[1], 0)
    return (max(cx[2] - cx[0], 0) * max(cx[3] - cx[1], 0)) / full if full > 0 else 0.0
