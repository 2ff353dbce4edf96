"""Stack classes composing constructs per environment."""
