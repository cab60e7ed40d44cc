"""The service layer: the only code that changes domain state. The CLI and the TUI call it."""
