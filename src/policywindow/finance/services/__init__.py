"""Writes of 财政报送: each service takes the acting user first and runs in one transaction."""
