"""Review: conversations, their rating, the analysis (problems, topics) and readiness."""
