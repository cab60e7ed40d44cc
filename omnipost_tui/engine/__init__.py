"""The publishing engine: huey queue, sweep, publish task, retry policy, worker."""
