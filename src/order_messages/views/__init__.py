"""HTML pages: parse input, call one query or action, render."""
