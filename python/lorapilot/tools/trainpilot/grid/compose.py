"""Compose the grid image: one row per (checkpoint, weight), one column per prompt, with labels."""

from __future__ import annotations

import textwrap

HEADER_PAD = 6


def _font(size: int):
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 has one bitmap size
        return ImageFont.load_default()


def compose_grid(
    cells: dict[tuple[int, int], object], row_labels: list[str], col_labels: list[str], cell_size: tuple[int, int]
):
    """A labelled grid (PIL image) from ``cells[(row, col)]`` images, each scaled to ``cell_size``."""
    from PIL import Image, ImageDraw

    width, height = cell_size
    font = _font(max(12, min(24, width // 14)))
    chars = max(8, width // max(font.getbbox("M")[2], 1))
    wrapped = ["\n".join(textwrap.wrap(label, chars)[:4]) or " " for label in col_labels]
    draw_probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    top = max(draw_probe.multiline_textbbox((0, 0), text, font=font)[3] for text in wrapped) + 2 * HEADER_PAD
    left = max(draw_probe.textbbox((0, 0), label, font=font)[2] for label in row_labels) + 2 * HEADER_PAD
    canvas = Image.new("RGB", (left + width * len(col_labels), top + height * len(row_labels)), "white")
    draw = ImageDraw.Draw(canvas)
    for col, text in enumerate(wrapped):
        draw.multiline_text((left + col * width + HEADER_PAD, HEADER_PAD), text, fill="black", font=font)
    for row, label in enumerate(row_labels):
        y = top + row * height
        draw.text((HEADER_PAD, y + height // 2), label, fill="black", font=font, anchor="lm")
        for col in range(len(col_labels)):
            image = cells.get((row, col))
            if image is not None:
                canvas.paste(image.convert("RGB").resize(cell_size), (left + col * width, y))
    return canvas
