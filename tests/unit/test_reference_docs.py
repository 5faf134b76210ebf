"""docs/reference.md is generated from the provider schema and committed up to date."""

from docs import generate
from sfn_patterns.provider import components


def test_committed_reference_is_up_to_date() -> None:
    assert generate.main(["--check"]) == 0, "docs/reference.md is out of date: run python -m docs.generate"


def test_reference_lists_every_component_with_its_args_and_outputs() -> None:
    text = generate.REFERENCE.read_text()
    for component in components():
        assert f"\n## {component.__name__}\n" in text
        section = text.split(f"\n## {component.__name__}\n", 1)[1].split("\n## ", 1)[0]
        assert "### Args" in section and "### Outputs" in section
        for field in component.__init__.__annotations__["args"].__annotations__:
            assert f"| `{field}` |" in section, f"{component.__name__}.{field} missing from the reference"
