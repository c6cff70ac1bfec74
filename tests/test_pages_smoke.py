"""Every screen in the menu opens on realistic demo data without an exception."""
from __future__ import annotations

import pytest

from core.demo.generate import default_anchor, generate_conversations, load_database
from core.review.analysis import analyze_pending
from tests.pages_helpers import logged_in_dashboard, menu_pages


@pytest.fixture
def demo(engine):
    anchor = default_anchor()
    load_database(engine, generate_conversations(400, seed=3, anchor=anchor), anchor)
    analyze_pending(engine)
    return engine


@pytest.mark.parametrize("path", menu_pages())
def test_every_menu_screen_renders_demo_data_without_errors(demo, path):
    at = logged_in_dashboard(demo, page=path)
    assert not at.exception, at.exception
    assert at.title, f"{path} has no title"
    assert not at.error, [e.value for e in at.error]
