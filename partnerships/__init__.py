"""Banks, tech partners and the partnership initiatives they run together."""
