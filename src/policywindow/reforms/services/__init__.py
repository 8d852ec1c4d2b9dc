"""Every write of 改革任务督办: importing tables, filing and reviewing progress reports."""
