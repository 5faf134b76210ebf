"""Data files of sfn_patterns (the vendored States Language schema, see README.md here); no code."""
