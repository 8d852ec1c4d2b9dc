"""Pages of 财政报送."""
