"""Documentation for library users; ``python -m docs.generate`` writes reference.md."""
