"""The poller's cycle (core; poller.py only loops) and the notifications it sends."""
