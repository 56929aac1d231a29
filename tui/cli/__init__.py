"""The `mnist-tui` command line (``tui.cli.main:main``: with no arguments it opens the app).

- main.py: the parser, the entry point, one line per failure; ``drawn`` (a command's
  drawing captured for the app's side-by-side screen)
- options.py, console.py: the options made from the declarations, the output
- captured.py: where a captured command draws (a leaf)
- one module per group of commands: run_commands (train, runs, follow, stop, name, delete,
  trust, export, import, data), inside_commands (summary, predict, filters, activations,
  occlude, histograms), attack_commands, attribute_commands, analysis_commands (every
  declared analysis), study_commands, sweep_commands, report_commands, serve_commands
"""
