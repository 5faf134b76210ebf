"""The demo stack's own pieces (not part of the library): the demo external service that answers callbacks."""
