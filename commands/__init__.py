"""Write side: one module per command (a frozen dataclass and its handler), one transaction each."""
