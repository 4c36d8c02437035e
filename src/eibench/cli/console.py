"""The consoles the CLI writes to: results on stdout, messages and progress on stderr."""

from rich.console import Console

out = Console()
err = Console(stderr=True)
