"""The monthly study: item history, backtest, gate, champions per target."""
