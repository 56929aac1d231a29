"""Quick check that the app opens and its screens answer keys."""
