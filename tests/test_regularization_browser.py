"""TagPilot's dataset list in headless Chromium: mark a dataset as a regularization set, see the badge, unmark it."""

import pytest

from lorapilot.tools.tagpilot import dataset as datasets
from lorapilot.tools.tagpilot.metadata import read_meta
from support.browser import browser_page, live_controlpilot, login
from support.tagpilot import make_dataset_files

pytestmark = pytest.mark.browser


def test_the_regularization_toggle_marks_the_dataset(ctx, output_dir):
    ds = datasets.create_dataset(ctx.workspace, "cat-class")
    make_dataset_files(ds.path, {"a.png": "cat", "b.png": "cat, sitting"})
    datasets.create_dataset(ctx.workspace, "mycat")
    with live_controlpilot(ctx) as server, browser_page() as page:
        login(page, server, "/tagpilot")
        card = page.get_by_role("article", name="Dataset cat-class")
        toggle = card.get_by_label("Regularization set")
        toggle.click()  # a controlled checkbox: it shows the saved state once the list reloads
        card.locator(".tp-reg-badge").wait_for()
        assert read_meta(ds).regularization is True
        assert page.get_by_role("article", name="Dataset mycat").locator(".tp-reg-badge").count() == 0
        page.screenshot(path=output_dir / "regularization-badge.png", full_page=True)
        page.reload()
        card.locator(".tp-reg-badge").wait_for()
        assert card.get_by_label("Regularization set").is_checked()
        card.get_by_label("Regularization set").click()
        card.locator(".tp-reg-badge").wait_for(state="detached")
        assert read_meta(ds).regularization is False
        assert page.console_errors == []
