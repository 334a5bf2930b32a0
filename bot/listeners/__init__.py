"""Listeners, one module per kind (commands, actions, views, events), each with register(app).

Thin by rule: acknowledge, parse into a typed command, ask the policy or a service, render a
surface (bot/surfaces.py), answer. Nothing here decides policy or words a sentence."""
