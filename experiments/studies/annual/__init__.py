"""The annual study: every official annual figure, drivers, scenarios to 2030."""
