"""Spot market-data read models: order book levels and OHLCV candles (with their tickers)."""
