"""Thin routers: validate, call the engine, serialize."""
