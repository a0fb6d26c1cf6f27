"""File input and output: the only part of drizzlekit that touches the disk."""
