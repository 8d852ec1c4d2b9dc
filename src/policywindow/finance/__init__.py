"""财政报送: budgets and approval-time limits, publicity (公示) and objections (异议)."""
