"""Qt-free use cases shared by the CLI and the UI: generate, (later) inpaint, translate, compose, inspect."""
