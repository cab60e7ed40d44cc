"""``python -m omnipost_tui.sandbox``: serve the fake APIs until SIGINT/SIGTERM."""

from omnipost_tui.sandbox.run import main

if __name__ == "__main__":
    raise SystemExit(main())
