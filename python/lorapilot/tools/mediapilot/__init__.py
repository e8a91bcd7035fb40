"""MediaPilot: the index and gallery of everything generated.

``scan`` walks ``outputs/`` (plus the user's extra roots) and reads only file
headers and metadata chunks; ``meta`` turns those chunks into generation
fields (A1111/Forge, ComfyUI, InvokeAI, NovelAI); ``index`` keeps them in
SQLite with FTS5; ``query`` is the search language; ``organise`` holds
favourites, tags, move/copy, trash and zip download.
"""
