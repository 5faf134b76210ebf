"""The cost and speed benchmark (``python -m bench``)."""
