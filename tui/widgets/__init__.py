"""One reusable widget per module."""
