"""One async chat interface for every model, and its backends (openai, anthropic, hf, prior)."""
