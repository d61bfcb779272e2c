"""convlens server: the engine over HTTP, the explorer page and the demo mode."""
