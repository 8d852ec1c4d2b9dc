"""政策兑现单一窗口 — Policy Fulfillment Single Window."""
