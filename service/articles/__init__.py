"""One article of the serving build, rendered for reading in the sidebar."""
