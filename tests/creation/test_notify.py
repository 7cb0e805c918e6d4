"""What the recipe's pull request and core's issue say: the reason, never its markup."""

from __future__ import annotations

from admin_requests.creation.notify import ready_comment, recipe_marker, stuck_comment


def test_a_stuck_comment_quotes_the_reason_without_mentions_or_markup() -> None:
    # conda-smithy's last line comes from the recipe: its author controls it.
    reason = "conda-smithy init failed: @conda-forge/core look <img src=x> **now**"

    text = stuck_comment("foo", reason, "conda-forge/admin-requests#7")

    assert "@conda-forge/core" not in text
    assert "<img" not in text
    assert "\\*\\*now\\*\\*" in text
    assert "conda-forge/admin-requests#7" in text
    assert text.endswith(recipe_marker("foo"))


def test_a_ready_comment_links_the_feedstock_and_carries_the_notes() -> None:
    text = ready_comment("foo", "https://github.com/conda-forge/foo-feedstock", ["outputs: x"])

    assert "`recipes/foo` is ready: https://github.com/conda-forge/foo-feedstock" in text
    assert "- outputs: x" in text


def test_the_marker_cannot_end_its_html_comment_early() -> None:
    assert "-->" not in recipe_marker("a-->b").removesuffix(" -->")
