"""Training: the training file (examples, redaction, exact tokens, cost)."""
