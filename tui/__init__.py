"""Everything a person sees: the Textual app and the headless `mnist-tui` commands."""
