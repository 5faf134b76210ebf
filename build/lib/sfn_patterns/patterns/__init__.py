"""The library's patterns: each a ``pulumi.ComponentResource`` built from :mod:`sfn_patterns.blocks`."""
