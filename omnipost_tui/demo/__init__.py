"""``omnipost demo``: see everything work in one command, with no platform credentials.

``data``: the demo data set (also behind the screenshots and the TUI's snapshot tests).
``run``: what the demo starts and stops (a home, the loopback sandbox, a real worker) and the
headless watch that prints each status change.
"""
