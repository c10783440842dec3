import pytest
from tests.package.pkgtrees import Tree, build_tree


@pytest.fixture
def tree(tmp_path) -> Tree:
    """A valid sciperf-1.0.0 submission tree, fresh for each test."""
    return build_tree(tmp_path)
