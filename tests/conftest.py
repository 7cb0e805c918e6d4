from __future__ import annotations

from tests.fakes.fixtures import fake_anaconda, fake_github

__all__ = ["fake_anaconda", "fake_github"]
