"""OmniPost TUI: schedule posts to Facebook Pages and LinkedIn from the terminal."""

__version__ = "0.1.0"
