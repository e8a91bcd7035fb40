"""TagPilot: dataset preparation — import, caption, tag, clean, export.

A dataset is a folder ``datasets/<name>/`` of images (png, jpg, webp, bmp: ``lorapilot.kit.imagefiles``) with
same-name ``.txt`` caption sidecars. TagPilot keeps its own state in
``datasets/<name>/.tagpilot/``: the undo history (SQLite), a metadata cache,
excluded images and the "train this" handoff file.
"""
