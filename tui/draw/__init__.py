"""Rich-only drawing that the CLI and the app share: array pictures, charts, tables."""
