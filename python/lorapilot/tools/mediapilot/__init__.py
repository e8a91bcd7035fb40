"""MediaPilot: the index and gallery of everything generated.

``scan`` walks ``outputs/`` (plus the user's extra roots) and reads only file
headers and metadata chunks; ``meta`` turns those chunks into generation
fields (A1111/Forge, ComfyUI, InvokeAI, NovelAI); ``index`` keeps them in
SQLite with FTS5; ``query`` is the search language; ``organise`` holds
favourites, tags, move/copy, trash and zip download.
"""


def comfy_url(ctx) -> str:
    """ComfyUI's loopback address in this workspace (the facade other tools use; see ``comfy_send``)."""
    from lorapilot.tools.mediapilot.comfy_send import comfy_url as address

    return address(ctx)


def check_loopback(url: str) -> None:
    """Refuse a ComfyUI url that is not on this machine (see ``comfy_send.check_loopback``)."""
    from lorapilot.tools.mediapilot.comfy_send import check_loopback as check

    check(url)
