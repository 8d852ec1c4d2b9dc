"""Demo data (演示数据) that reads like a real province; every record is marked as demo."""
