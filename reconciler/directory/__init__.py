"""Where people and teams live: the SCIM 2.0 directory Insomnia's connector exposes.

The record (`reconciler.stores`) keeps what the tool itself knows (lock, journal,
confirmations, the users it manages); a directory holds the people and teams. Directories
never import each other nor the stores' implementations.
"""
