"""The library's building blocks: Lambda functions, state machines, HTTP APIs, IAM grants, secure messaging and policy suppressions.

Patterns (:mod:`sfn_patterns.patterns`) are made of these; nothing here knows about any pattern.
"""
